"""The peer for `make bench`: the same Call History queries answered by SQLite, in-process
(Python's sqlite3), over the same calls, with the indexes a competent engineer would create.

    python3 bench/sqlite_peer.py BENCH_DIR OURS_JSON OUT_JSON
"""

import csv
import json
import os
import sqlite3
import sys
import time

bench_dir, ours_path, out_path = sys.argv[1:4]
params = json.load(open(ours_path))["parameters"]
db_path = os.path.join(bench_dir, "peer.sqlite")
marker = db_path + ".ready"

if not os.path.exists(marker):
    if os.path.exists(db_path):
        os.remove(db_path)
    print("loading the calls into SQLite (once; cached) …")
    db = sqlite3.connect(db_path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("""CREATE TABLE calls (id INTEGER PRIMARY KEY, owner INTEGER, start INTEGER, status INTEGER, app INTEGER,
                  from_digits TEXT, to_digits TEXT, duration INTEGER, cost INTEGER)""")
    with open(os.path.join(bench_dir, "calls.csv")) as f:
        rows = csv.reader(f)
        next(rows)
        db.executemany("INSERT INTO calls VALUES (?,?,?,?,?,?,?,?,?)", rows)
    db.execute("CREATE INDEX calls_owner_start ON calls(owner, start)")
    db.execute("CREATE INDEX calls_owner_status_start ON calls(owner, status, start)")
    db.execute("CREATE INDEX calls_owner_from ON calls(owner, from_digits)")
    db.execute("CREATE INDEX calls_owner_to ON calls(owner, to_digits)")
    db.execute("ANALYZE")
    db.commit()
    db.close()
    open(marker, "w").close()

db = sqlite3.connect(db_path)
owner = params["owner"]
week_from, end = params["week_from_micros"], params["end_micros"]
last_four, prefix = params["last_four"], params["prefix"]
runs = params["runs"]
day = 86_400 * 1_000_000
FAILED, ANSWERED = 2, 1

cases = {
    "a": ("SELECT * FROM calls WHERE owner=? ORDER BY start DESC, id DESC LIMIT 50", (owner,)),
    "b": ("SELECT * FROM calls WHERE owner=? AND start>=? AND start<? ORDER BY start DESC, id DESC LIMIT 50",
          (owner, week_from, end)),
    "c": ("SELECT * FROM calls WHERE owner=? AND status=? ORDER BY start DESC, id DESC LIMIT 50", (owner, FAILED)),
    "d": ("SELECT * FROM calls WHERE owner=? AND (from_digits LIKE ? OR to_digits LIKE ?) ORDER BY start DESC, id DESC LIMIT 50",
          (owner, "%" + last_four, "%" + last_four)),
    "e": ("SELECT * FROM calls WHERE owner=? AND start>=? AND start<? AND status=? AND (from_digits LIKE ? OR to_digits LIKE ?) "
          "ORDER BY start DESC, id DESC LIMIT 50", (owner, week_from, end, ANSWERED, prefix + "%", prefix + "%")),
    "f": ("SELECT start / ? AS day, status, count(*), sum(duration), sum(cost) FROM calls "
          "WHERE owner=? AND start>=? AND start<? GROUP BY day, status", (day, owner, end - 90 * day, end)),
    "g": ("SELECT count(*) FROM calls WHERE owner=? AND start>=? AND start<?", (owner, week_from, end)),
}


def percentile(samples, p):
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, int(-(-len(ordered) * p // 1)) - 1))
    return ordered[index]


results = []
for key, (sql, args) in cases.items():
    for _ in range(5):
        db.execute(sql, args).fetchall()
    samples = []
    for _ in range(runs):
        t = time.perf_counter_ns()
        db.execute(sql, args).fetchall()
        samples.append((time.perf_counter_ns() - t) / 1e6)
    results.append({"name": f"query_{key}_p50", "value": percentile(samples, 0.5)})
    results.append({"name": f"query_{key}_p99", "value": percentile(samples, 0.99)})
json.dump({"results": results}, open(out_path, "w"), indent=2)
