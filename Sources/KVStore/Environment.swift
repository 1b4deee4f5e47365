import CLMDB
import Foundation

/// One LMDB environment: a folder holding `data.mdb` and `lock.mdb`, opened once per process.
///
/// Concurrency rules, and why:
/// - Reads run on any thread, in parallel (`MDB_NOTLS` ties a reader slot to the transaction,
///   not the thread, so a thread pool can share the reader table).
/// - Writes all run on one writer thread that this environment owns. LMDB allows a single
///   write transaction at a time and wants it used by the thread that began it; funnelling
///   every write through one thread also lets it *group-commit*: closures that queued up while
///   the previous commit was syncing run in one transaction, fsync'd once. Each closure still
///   succeeds or fails on its own: if one throws, the batch is redone with a nested
///   transaction per closure (see `Writer.runOnce`).
/// - A write closure may run more than once (after the map grew, the whole batch is redone),
///   so it must act only through its transaction and compute nothing it cannot repeat.
/// - Never call `write` from inside `read`: the reader would hold the resize lock the writer
///   may need.
/// See `Environment.Options.commitObserver`.
public typealias CommitObserver = @Sendable (_ batchSize: Int, _ nanoseconds: UInt64) -> Void

public final class Environment: @unchecked Sendable {
    public struct Options: Sendable {
        /// The initial map size. The map grows by doubling when a write hits MDB_MAP_FULL.
        public var mapSize: Int = 1 << 30
        /// The map never grows past this: the write that needs more fails with
        /// `KVStoreError.mapCeiling` (the process and every other write carry on), instead of
        /// the file growing until the disk is full.
        public var maxMapSize: Int = 1 << 40
        public var maxTables: UInt32 = 64
        public var maxReaders: UInt32 = 510
        /// Commits are fsync'd before `write` returns. `false` trades the last transactions on
        /// a machine crash (not a process crash) for speed: for benchmarks and throw-away data.
        public var durable = true
        /// How many queued write closures at most share one commit.
        public var maxBatch = 256
        /// Told of every group commit: how many closures it held and how long it took (all
        /// attempts, fsync included), on the writer thread. For metrics; KVStore knows none.
        public var commitObserver: CommitObserver?

        public init() {}
    }

    public let path: String
    let env: OpaquePointer
    let resizeLock = ReadWriteLock()
    private let writer: Writer
    private let readers = ReaderPool()
    /// Readers found dead (their process gone) and cleared when the environment was opened.
    public let staleReadersCleared: Int
    let maxMapSize: Int

    public init(path: String, options: Options = Options()) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        var env: OpaquePointer?
        try check(mdb_env_create(&env))
        guard let env else { throw LMDBError(MDB_PANIC) }
        do {
            try check(mdb_env_set_maxdbs(env, options.maxTables))
            try check(mdb_env_set_maxreaders(env, options.maxReaders))
            try check(mdb_env_set_mapsize(env, options.mapSize))
            var flags = UInt32(MDB_NOTLS)
            if !options.durable { flags |= UInt32(MDB_NOSYNC) }
            try check(mdb_env_open(env, path, flags, 0o600))
        } catch {
            mdb_env_close(env)
            throw error
        }
        var dead: Int32 = 0
        mdb_reader_check(env, &dead)
        self.path = path
        self.env = env
        self.staleReadersCleared = Int(dead)
        self.maxMapSize = max(options.maxMapSize, options.mapSize)
        self.writer = Writer(maxBatch: options.maxBatch, observer: options.commitObserver)
        writer.start(environment: self)
    }

    deinit {
        writer.stop()
        readers.drain()
        mdb_env_close(env)
    }

    /// The current map size in bytes (grows on demand).
    public var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    /// Forces a flush to disk; only needed when `durable` is off.
    public func sync() throws { try check(mdb_env_sync(env, 1)) }

    /// Runs `body` in a read-only snapshot. Any thread; many at once.
    public func read<R>(_ body: (ReadTransaction) throws -> R) throws -> R {
        try resizeLock.withShared {
            let txn = try readers.take(env)
            let transaction = ReadTransaction(pointer: txn)
            defer {
                transaction.isOpen = false
                readers.give(txn)
            }
            return try body(transaction)
        }
    }

    /// Runs `body` in a write transaction on the writer thread and returns once it committed
    /// durably. A thrown error rolls back this closure's changes (and only them) and is
    /// rethrown here; a return commits. See the type's notes on re-running.
    @discardableResult
    public func write<R>(_ body: (WriteTransaction) throws -> R) throws -> R {
        try withoutActuallyEscaping(body) { body in
            var result: R?
            let request = WriteRequest { txn in result = try body(txn) }
            writer.submit(request)
            request.wait()
            request.body = nil
            if let error = request.error { throw error }
            return result!
        }
    }

    /// Runs `body` in the writer's next group commit, like `write`, but returns at once:
    /// `completion` gets the result once it is durably committed, or the error. Nothing
    /// waits in between, so a caller that can answer later (a webhook) holds no thread.
    ///
    /// `completion` runs on the writer thread, which every write waits on: it should only
    /// hand the result on.
    public func write<R: Sendable>(
        _ body: @escaping @Sendable (WriteTransaction) throws -> R,
        then completion: @escaping @Sendable (Result<R, Error>) -> Void
    ) {
        let result = ResultCell<R>()
        let request = WriteRequest({ txn in result.value = try body(txn) }, completion: { error in
            if let error { completion(.failure(error)) } else { completion(.success(result.value!)) }
        })
        writer.submit(request)
    }

    /// Opens (creating if needed) a named table. Call at start-up, before serving: LMDB
    /// forbids opening tables from concurrent transactions, and handles are shared after that.
    public func openTable<K: KeyCodec, V: ValueCodec>(
        _ name: String, key: K.Type = K.self, value: V.Type = V.self
    ) throws -> Table<K, V> {
        let dbi: MDB_dbi = try write { txn in
            var dbi: MDB_dbi = 0
            try check(mdb_dbi_open(txn.handle, name, UInt32(MDB_CREATE), &dbi))
            return dbi
        }
        return Table(name: name, dbi: dbi)
    }

    /// Called by the writer thread with no write transaction open.
    func grow() throws {
        let current = mapSize
        guard current < maxMapSize else { throw KVStoreError.mapCeiling(bytes: maxMapSize) }
        let next = current > maxMapSize / 2 ? maxMapSize : current * 2
        try resizeLock.withExclusive {
            try check(mdb_env_set_mapsize(env, next))
        }
    }
}

/// Read transactions kept after use (`mdb_txn_reset`) and renewed for the next read
/// (`mdb_txn_renew`): a renewed handle keeps its reader slot, so a read does not take the
/// reader-table mutex that `mdb_txn_begin` needs under MDB_NOTLS.
final class ReaderPool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [OpaquePointer] = []
    private let keep = 64

    func take(_ env: OpaquePointer) throws -> OpaquePointer {
        lock.lock()
        let reused = idle.popLast()
        lock.unlock()
        if let reused {
            if mdb_txn_renew(reused) == 0 { return reused }
            mdb_txn_abort(reused)
        }
        var txn: OpaquePointer?
        var rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
        if rc == MDB_MAP_RESIZED {
            // Another process grew the map: adopt its size (needs no transaction here).
            mdb_env_set_mapsize(env, 0)
            rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
        }
        try check(rc)
        return txn!
    }

    func give(_ txn: OpaquePointer) {
        mdb_txn_reset(txn)
        lock.lock()
        if idle.count < keep {
            idle.append(txn)
            lock.unlock()
        } else {
            lock.unlock()
            mdb_txn_abort(txn)
        }
    }

    func drain() {
        lock.lock()
        let all = idle
        idle = []
        lock.unlock()
        all.forEach { mdb_txn_abort($0) }
    }
}

/// Where an asynchronous write's result waits for its completion. Written and read only on
/// the writer thread.
private final class ResultCell<R>: @unchecked Sendable {
    var value: R?
}
