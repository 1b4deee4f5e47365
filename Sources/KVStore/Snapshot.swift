import CLMDB

extension Environment {
    /// Writes a consistent snapshot of the whole environment to `descriptor` (a pipe, a file)
    /// while other readers and the writer go on: LMDB copies from inside one read transaction,
    /// so the copy holds exactly what was committed when it began. `compact` leaves out free
    /// pages and renumbers the rest (`MDB_CP_COMPACT`), which is what `mdb_copy -c` does.
    ///
    /// The read transaction holds this process's resize lock for as long as the copy runs, so
    /// a write in this process that needs a bigger map waits for it. That is why the worker
    /// takes its backups in a child process (`voxfcgi backup create`): another process's
    /// copy does not stop this one's map from growing.
    public func copy(to descriptor: Int32, compact: Bool = true) throws {
        try resizeLock.withShared {
            try check(mdb_env_copyfd2(env, descriptor, compact ? UInt32(MDB_CP_COMPACT) : 0))
        }
    }

    /// What LMDB says about the map and its readers, for health checks and metrics.
    public struct Usage: Sendable, Equatable {
        /// The map's size in bytes, and how much of it holds pages (the last page in use).
        public let mapSize: Int
        public let usedBytes: Int
        public let readersInUse: Int
        public let maxReaders: Int
    }

    public var usage: Usage {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        mdb_env_info(env, &info)
        mdb_env_stat(env, &stat)
        return Usage(mapSize: info.me_mapsize, usedBytes: (info.me_last_pgno + 1) * Int(stat.ms_psize),
                     readersInUse: Int(info.me_numreaders), maxReaders: Int(info.me_maxreaders))
    }
}
