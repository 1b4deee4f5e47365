"""`make bench`, backups: `voxfcgi backup create` of a data folder of 1M demo calls (LMDB's
compacting copy through a pipe, gzip, into the local store), next to `mdb_copy -c` of the
same environment in the same run (to disk, and piped through `gzip -1`, the like-for-like
peer); then webhook ingest (wrk, pre-signed call_ended events) with and without a backup
running at the same time.

    python3 bench/backup_bench.py RESULTS_JSON
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("VOXFCGI_BIN", str(ROOT / ".build" / "release" / "voxfcgi"))
os.environ["VOXFCGI_WEBHOOK_RATE"] = "1000000r/s"
os.environ.setdefault("BENCH_WEBHOOK_SECONDS", "10")

import stack as stack_module  # noqa: E402
import webhook_bench  # noqa: E402
from fakes import Fakes, create_application  # noqa: E402
from stack import Stack  # noqa: E402
import results  # noqa: E402

stack_module.BIN = os.environ["VOXFCGI_BIN"]
CALLS = int(os.environ.get("BENCH_BACKUP_CALLS", "1000000"))
CONNECTIONS = int(os.environ.get("BENCH_BACKUP_CONNECTIONS", "32"))


def timed(command, **kwargs):
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, check=True, **kwargs)
    return time.monotonic() - started, result.stdout


def best_of(runs, command, **kwargs):
    return min(timed(command, **kwargs)[0] for _ in range(runs))


def main():
    results_path = sys.argv[1]
    work = Path(tempfile.mkdtemp(prefix="voxfcgi-backup-bench-"))
    fakes = Fakes(sessions=0)
    s = Stack(work, VOXFCGI_VOXIMPLANT_URL=fakes.voximplant, VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs,
              VOXFCGI_LOG_LEVEL="warning", VOXFCGI_SYNC_MINUTES=100000, VOXFCGI_UPSTREAM_KEEPALIVE=CONNECTIONS)
    try:
        s.add_user("bench@example.com", "bench password 123")
        seeded, _ = timed([stack_module.BIN, "seed-demo", "--calls", str(CALLS), "--days", "90"], env=s.env)
        lmdb = s.data / "lmdb"
        print(f"\nbackup of {CALLS} demo calls (seeded in {seeded:.0f} s; data.mdb {os.path.getsize(lmdb / 'data.mdb') / 1e6:.0f} MB)")

        ours = []
        for _ in range(3):
            seconds, out = timed([stack_module.BIN, "backup", "create", "--no-prune"], env=s.env)
            ours.append(seconds)
            time.sleep(1.1)  # backup names are per second
        manifest = json.loads(sorted((s.data / "recordings" / "objects" / "backups").glob("*.json"))[-1].read_text())
        ours_s = min(ours)
        raw_mb, stored_mb = manifest["databaseBytes"] / 1e6, manifest["size"] / 1e6

        copy_dir = work / "mdb-copy"
        copy_dir.mkdir()

        def mdb_copy():
            for f in copy_dir.glob("*"):
                f.unlink()
            subprocess.run(["mdb_copy", "-c", str(lmdb), str(copy_dir)], check=True)

        copies = []
        for _ in range(3):
            started = time.monotonic()
            mdb_copy()
            copies.append(time.monotonic() - started)
        copy_s = min(copies)
        gz = work / "copy.mdb.gz"
        piped = best_of(3, ["sh", "-c", f"mdb_copy -c '{lmdb}' | gzip -1 > '{gz}'"])

        print(f"{'':<34}{'seconds':>9}{'MB/s':>9}{'ratio':>8}")
        print(f"{'voxfcgi backup create':<34}{ours_s:>9.2f}{raw_mb / ours_s:>9.0f}{'':>8}   {raw_mb:.0f} MB → {stored_mb:.0f} MB gzip")
        print(f"{'mdb_copy -c (to disk, no gzip)':<34}{copy_s:>9.2f}{raw_mb / copy_s:>9.0f}{copy_s / ours_s:>8.2f}")
        print(f"{'mdb_copy -c | gzip -1':<34}{piped:>9.2f}{raw_mb / piped:>9.0f}{piped / ours_s:>8.2f}"
              f"   {os.path.getsize(gz) / 1e6:.0f} MB")
        measures = [
            {"name": "backup_seconds_1m_calls", "unit": "s", "value": round(ours_s, 3), "peer": round(piped, 3),
             "ratio": round(piped / ours_s, 3), "peer_name": "mdb_copy -c | gzip -1"},
            {"name": "backup_vs_mdb_copy_to_disk", "unit": "s", "value": round(ours_s, 3), "peer": round(copy_s, 3),
             "ratio": round(copy_s / ours_s, 3), "peer_name": "mdb_copy -c"},
            {"name": "backup_throughput_mb_s", "unit": "MB/s", "value": round(raw_mb / ours_s), "peer": None, "ratio": None},
            {"name": "backup_compressed_fraction", "unit": "", "value": round(stored_mb / raw_mb, 3),
             "peer": round(os.path.getsize(gz) / 1e6 / raw_mb, 3), "ratio": None},
        ]

        # Ingest with and without a backup running: the copy reads a snapshot while commits go on.
        s.start()
        session = s.login("bench@example.com", "bench password 123")
        app_id, secret = create_application(s, session, name="Bench", record=False)
        script = work / "events.lua"
        script.write_text(webhook_bench.LUA)
        rates = {}
        for label, first in (("alone", 0), ("during backup", 10_000_000)):
            events = work / f"events-{first}.txt"
            write_events(events, app_id, secret.encode(), first, 30_000 * webhook_bench.DURATION)
            stop = threading.Event()
            backups = []

            def keep_backing_up():
                while not stop.is_set():
                    started = time.monotonic()
                    subprocess.run([stack_module.BIN, "backup", "create", "--no-prune"], env=s.env, capture_output=True)
                    backups.append(time.monotonic() - started)
                    time.sleep(1.05)

            backer = threading.Thread(target=keep_backing_up) if label != "alone" else None
            if backer:
                backer.start()
                time.sleep(0.2)
            rate, p99, _, _ = webhook_bench.wrk(s.base_url, CONNECTIONS, str(script), (str(events),))
            stop.set()
            if backer:
                backer.join()
            rates[label] = (rate, p99, backups)
        alone, during = rates["alone"], rates["during backup"]
        print(f"\nwebhook ingest at {CONNECTIONS} connections, {webhook_bench.DURATION} s each")
        print(f"  alone:          {alone[0]:>8.0f} events/s  p99 {alone[1]:.2f} ms")
        print(f"  during backups: {during[0]:>8.0f} events/s  p99 {during[1]:.2f} ms  ({len(during[2])} backups ran; "
              f"{during[0] / alone[0]:.0%} of the rate alone)")
        measures.append({"name": "backup_ingest_events_per_second", "unit": "events/s", "value": round(during[0]),
                         "peer": round(alone[0]), "ratio": round(during[0] / alone[0], 3), "peer_name": "same ingest, no backup"})
        measures.append({"name": "backup_ingest_p99_ms", "unit": "ms", "value": during[1], "peer": alone[1],
                         "ratio": round(alone[1] / during[1], 3) if during[1] else None})
        results.merge(results_path, "backup_", measures)
    finally:
        s.stop()
        fakes.stop()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)


def write_events(path, app_id, secret, first, count):
    import hashlib
    import hmac
    ts = str(int(time.time()) + 60)
    now_ms = int(time.time() * 1000)
    with open(path, "w") as f:
        for i in range(first, first + count):
            body = json.dumps({"type": "call_ended", "application_id": app_id, "session_id": 95_000_000 + i,
                               "sent_at": now_ms - i % 1000, "duration": 30 + i % 300, "reason": "disconnected"},
                              separators=(",", ":"))
            sig = hmac.new(secret, ts.encode() + b"." + body.encode(), hashlib.sha256).hexdigest()
            f.write(f"{sig}|{ts}|{body}\n")


if __name__ == "__main__":
    main()
