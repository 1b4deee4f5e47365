/// Every metric the worker emits, by its Prometheus name, in one place: the code that counts
/// and the scrape endpoint's tests name them from here. Labels are low-cardinality by design:
/// a route's pattern (never its path), a status code, a job kind, an account id.
public enum MetricName {
    /// Counter {route, method, status}; and the latency histogram {route}.
    public static let httpRequests = "voxfcgi_http_requests_total"
    public static let httpDuration = "voxfcgi_http_request_duration_seconds"
    /// Counter {source: voximplant|elevenlabs, type, outcome: accepted|unauthorized|malformed|failed}.
    public static let webhookEvents = "voxfcgi_webhook_events_total"
    /// Gauge {kind, state: pending|failed}, set at each scrape.
    public static let jobs = "voxfcgi_jobs"
    /// Counter {kind, permanent: true|false}: an attempt that threw.
    public static let jobFailures = "voxfcgi_job_failures_total"
    /// Gauges {account}, set at each scrape: now minus the sync checkpoint; the last good sync.
    public static let syncLag = "voxfcgi_sync_lag_seconds"
    public static let syncLastSuccess = "voxfcgi_sync_last_success_timestamp_seconds"
    /// Counter {outcome: archived|failed}.
    public static let recordings = "voxfcgi_recordings_total"
    /// Counter {service, status}: a request to an upstream that failed (status "transport"
    /// when no answer came).
    public static let upstreamErrors = "voxfcgi_upstream_errors_total"
    /// Gauges, set at each scrape.
    public static let lmdbMapSize = "voxfcgi_lmdb_map_size_bytes"
    public static let lmdbMapUsed = "voxfcgi_lmdb_map_used_bytes"
    public static let lmdbReaders = "voxfcgi_lmdb_readers"
    /// Histograms: closures per group commit, and the commit's duration (fsync included).
    public static let commitBatch = "voxfcgi_lmdb_commit_batch_size"
    public static let commitDuration = "voxfcgi_lmdb_commit_duration_seconds"
    public static let residentMemory = "voxfcgi_process_resident_memory_bytes"
}
