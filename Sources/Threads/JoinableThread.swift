import Foundation

/// A thread that can be waited for (its own target: the FastCGI server, the job runner and
/// the worker's housekeeping all need it, and share no other module): `join` returns once it has ended completely, its
/// thread-local destructors included (`pthread_join`).
///
/// Why not Foundation's `Thread`: it cannot be joined, and an orderly shutdown must wait for
/// its threads. When `main` returns, `exit` runs libcrypto's atexit clean-up
/// (`OPENSSL_cleanup`), which frees the locks and tables that a thread still inside libcrypto
/// (scrypt, `RAND_bytes`), or still freeing its libcrypto thread state, goes on using: the
/// worker died of SIGSEGV or SIGABRT on SIGTERM while sign-ins were running.
public final class JoinableThread: @unchecked Sendable {
    private var handle = pthread_t()
    private let lock = NSLock()
    private var joined = false

    /// Starts `body` on a new thread. Linux keeps the first 15 bytes of `name`.
    public init(name: String, stackSize: Int? = nil, _ body: @escaping @Sendable () -> Void) throws {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        if let stackSize { pthread_attr_setstacksize(&attributes, stackSize) }
        let start = Unmanaged.passRetained(Start(name: String(name.utf8.prefix(15)) ?? "", body: body))
        let rc = pthread_create(&handle, &attributes, { context in
            let start = Unmanaged<Start>.fromOpaque(context!).takeRetainedValue()
            Thread.current.name = start.name  // Foundation names the thread for the kernel (ps, gdb)
            start.body()
            return nil
        }, start.toOpaque())
        guard rc == 0 else {
            start.release()
            throw ThreadError(name: name, errno: rc)
        }
    }

    /// Waits until the thread has ended. Later calls return at once.
    public func join() {
        lock.lock()
        defer { lock.unlock() }
        guard !joined else { return }
        joined = true
        pthread_join(handle, nil)
    }

    private final class Start {
        let name: String
        let body: @Sendable () -> Void

        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }
}

/// `pthread_create` refused (the process is out of threads or memory).
public struct ThreadError: Error, CustomStringConvertible {
    public let name: String
    public let errno: Int32
    public var description: String { "cannot start thread \(name): \(String(cString: strerror(errno)))" }
}
