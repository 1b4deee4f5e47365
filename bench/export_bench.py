"""`make bench`, the CSV export of 1M calls: Call History's "Export CSV" fetched through nginx
with a signed-in admin session (curl), next to a Python + SQLite export of the same rows with
the same columns in the same order, written the same way, in the same run. Prints rows per
second of both (the ratio), the bytes, and how much the worker's resident memory grew while it
streamed the file (flat: it reads and sends 200 calls at a time).

    python3 bench/export_bench.py RESULTS_JSON

The calls are pages_bench's cached data folder (bench-data/pages-<N>/, seeded once). The peer's
SQLite file is loaded once from our own export (its rows are ours, by construction), with the
values typed as we store them: times as microseconds, amounts as micros, status as its number;
the peer formats them per row as we do (ISO 8601 UTC, six decimals, status names, application
names from a dictionary). Both files must then be the same bytes after the header: the script
says whether they are.

Environment: BENCH_PAGES_CALLS (1000000), BENCH_EXPORT_ROUNDS (2; each side keeps its best).
"""

import csv
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pages_bench as pages  # noqa: E402
import results  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_EXPORT_ROUNDS", "2"))
STATUS = {"answered": 1, "failed": 2, "busy": 3, "no-answer": 4, "in-progress": 5}
STATUS_NAMES = {v: k for k, v in STATUS.items()}
PEER_DB = pages.CACHE / "export-peer.sqlite"


def rss_kb(pid):
    """The worker's private resident memory: its heap, not the pages of the LMDB file it maps
    (those are the page cache's, shared and dropped at will; reading 1M calls touches 2 GB)."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    return 0


def ours(url, cookie, out, pid):
    """Seconds, bytes, and the worker's resident-memory peak over its level before (KB)."""
    before, peak, done = rss_kb(pid), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    subprocess.run(["curl", "-sS", "--fail", "-o", str(out), "-H", f"Cookie: {cookie}", url], check=True)
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    return seconds, out.stat().st_size, max(0, peak[0] - before)


def micros_of(iso):
    return int(datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()) * 1_000_000


def load_peer(csv_path):
    """The peer's table, from our export: typed as the calls are stored, with the index a
    competent engineer would give an export ordered newest first."""
    marker = PEER_DB.with_suffix(".ready")
    if marker.exists() and marker.read_text() == str(csv_path.stat().st_size):
        return
    PEER_DB.unlink(missing_ok=True)
    pages.log("loading the exported calls into SQLite for the peer (once; cached) …")
    db = sqlite3.connect(PEER_DB)
    db.execute("""CREATE TABLE calls (id INTEGER PRIMARY KEY, owner INTEGER, start INTEGER, direction TEXT,
                  from_number TEXT, to_number TEXT, duration INTEGER, status INTEGER, cost INTEGER, currency TEXT,
                  app INTEGER, session INTEGER, conversation TEXT, has_transcript INTEGER)""")
    db.execute("CREATE TABLE apps (id INTEGER PRIMARY KEY, name TEXT)")
    apps = {}
    with open(csv_path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        next(rows)

        def typed():
            for r in rows:
                app = apps.setdefault(r[9], len(apps) + 1)
                cost = None if r[7] == "" else round(float(r[7]) * 1_000_000)
                yield (int(r[0]), 1, micros_of(r[1]), r[2], r[3], r[4], int(r[5]), STATUS[r[6]], cost, r[8] or None,
                       app, int(r[10]), r[11] or None, 1 if r[12] == "yes" else 0)
        db.executemany("INSERT INTO calls VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", typed())
    db.executemany("INSERT INTO apps VALUES (?,?)", [(i, n) for n, i in apps.items()])
    db.execute("CREATE INDEX calls_owner_start ON calls(owner, start DESC, id DESC)")
    db.commit()
    db.close()
    marker.write_text(str(csv_path.stat().st_size))


PEER_EXPORT = r'''
import csv, sqlite3, sys, time, resource
db = sqlite3.connect(sys.argv[1])
out = open(sys.argv[2], "w", newline="", encoding="utf-8")
names = dict(db.execute("SELECT id, name FROM apps"))
status = {1: "answered", 2: "failed", 3: "busy", 4: "no-answer", 5: "in-progress"}
def decimal(m):
    sign, m = ("-" if m < 0 else ""), abs(m)
    return f"{sign}{m // 1000000}.{m % 1000000:06d}"
started = time.monotonic()
writer = csv.writer(out, lineterminator="\r\n")
out.write("call_id,started_at,direction,from,to,duration_seconds,status,cost,currency,application,"
          "voximplant_session_id,conversation_id,has_transcript\r\n")
rows = 0
gmtime, strftime = time.gmtime, time.strftime
for (id_, start, direction, from_, to, duration, st, cost, currency, app, session, conversation, transcript) in db.execute(
        "SELECT id, start, direction, from_number, to_number, duration, status, cost, currency, app, session, "
        "conversation, has_transcript FROM calls WHERE owner = ? ORDER BY start DESC, id DESC", (1,)):
    writer.writerow((id_, strftime("%Y-%m-%dT%H:%M:%SZ", gmtime(start // 1000000)), direction, from_, to, duration,
                     status[st], "" if cost is None else decimal(cost), currency or "", names.get(app, ""), session,
                     conversation or "", "yes" if transcript else "no"))
    rows += 1
out.close()
print(time.monotonic() - started, rows, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
'''


def peer(out):
    """Seconds, rows and the peer's peak resident memory (KB)."""
    result = subprocess.run([sys.executable, "-c", PEER_EXPORT, str(PEER_DB), str(out)], capture_output=True, text=True,
                            check=True)
    seconds, rows, peak = result.stdout.split()
    return float(seconds), int(rows), int(peak)


def main():
    results_path = sys.argv[1]
    marker, _ = pages.ensure_data()
    work = Path(pages.tempfile.mkdtemp(prefix="voxfcgi-export-bench-"))
    s = pages.Stack(pages.CACHE, **pages.settings())
    try:
        s.start()
        pages.WATCHED.extend([s.worker.pid, s.nginx.pid])
        pages.wait_idle(s.worker.pid)
        session = s.login(marker["email"], marker["password"])
        cookie = f"vox_session={session.cookies['vox_session']}"
        url = s.base_url + "/calls/export.csv"
        best_ours = best_peer = None
        ours_csv, peer_csv = work / "ours.csv", work / "peer.csv"
        for round_ in range(ROUNDS):
            pages.wait_quiet("the export")
            seconds, size, grew = ours(url, cookie, ours_csv, s.worker.pid)
            rows = sum(1 for _ in open(ours_csv, "rb")) - 1
            if round_ == 0:
                load_peer(ours_csv)
            peer_seconds, peer_rows, peer_rss = peer(peer_csv)
            pages.log(f"  {round_ + 1}/{ROUNDS} ours {seconds:.2f} s ({rows / seconds:,.0f} rows/s, {size / 1e6:.0f} MB, "
                      f"worker memory +{grew / 1024:.1f} MB)  peer {peer_seconds:.2f} s ({peer_rows / peer_seconds:,.0f} rows/s)")
            if best_ours is None or seconds < best_ours[0]:
                best_ours = (seconds, size, grew, rows)
            if best_peer is None or peer_seconds < best_peer[0]:
                best_peer = (peer_seconds, peer_rows, peer_rss)
        seconds, size, grew, rows = best_ours
        peer_seconds, peer_rows, peer_rss = best_peer
        with open(ours_csv, "rb") as a, open(peer_csv, "rb") as b:
            a.readline(), b.readline()
            same = a.read() == b.read()
        ours_rate, peer_rate = rows / seconds, peer_rows / peer_seconds
        pages.log(f"\nCSV export of {rows:,} calls through nginx (best of {ROUNDS}): {seconds:.2f} s, {ours_rate:,.0f} rows/s, "
                  f"{size / 1e6:.0f} MB; worker memory grew {grew / 1024:.1f} MB while streaming")
        pages.log(f"Python + SQLite, same columns and formatting, to a file: {peer_seconds:.2f} s, {peer_rate:,.0f} rows/s "
                  f"(peak memory {peer_rss / 1024:.0f} MB); ratio ours/peer {ours_rate / peer_rate:.2f}×; "
                  f"rows after the header {'identical' if same else 'DIFFERENT'}")
        measures = [
            {"name": "export_csv_rows_per_second", "unit": "rows/s", "value": round(ours_rate), "peer": round(peer_rate),
             "ratio": round(ours_rate / peer_rate, 3), "peer_name": "Python sqlite3 + csv, same columns",
             "rows": rows, "seconds": round(seconds, 2), "peer_seconds": round(peer_seconds, 2), "bytes": size,
             "same_bytes_after_header": same},
            {"name": "export_csv_worker_memory_growth_mb", "unit": "MB", "value": round(grew / 1024, 1), "peer": None,
             "ratio": None, "label": "RssAnon peak during the export over RssAnon before (the mapped LMDB file not counted)"},
        ]
        results.merge(results_path, "export_csv_", measures)
    finally:
        s.stop()
        pages.shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
