"""Transcript search next to SQLite FTS5 (`make bench`).

voxbench search seeds 1,000,000 calls with generated transcripts (once; cached in
bench-data/search) through the real write path, and writes every document as the terms our
tokenizer makes (bench-data/search-docs.tsv). This script loads the same terms into a
contentless FTS5 table (tokenize unicode61: our terms are already folded and stemmed, so both
indexes hold the same words), runs the same eight query shapes (a page of the 50 newest
matches, with the same date and number filters), checks that both return the same calls,
and prints p50/p99 side by side, the index sizes, and the cost of indexing a transcript.

Times: ours in-process in Swift, FTS5 through Python's sqlite3 (a few µs of Python per query
are in its figure). ratio = FTS5 / ours: above 1, ours is faster; for size, FTS5 / ours too
(above 1, ours is smaller).

Usage: python3 bench/search_bench.py [bench-results.json]"""

import json
import os
import sqlite3
import subprocess
import sys
import time
import results

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bench_dir = os.environ.get("BENCH_DIR", os.path.join(root, "bench-data"))
count = int(os.environ.get("BENCH_TRANSCRIPTS", "1000000"))
runs = int(os.environ.get("BENCH_RUNS", "300"))
results_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "bench-results.json")
binary = os.path.join(root, ".build", "release", "voxbench")
ours_path = os.path.join(bench_dir, "search-ours.json")
docs_path = os.path.join(bench_dir, "search-docs.tsv")
fts_path = os.path.join(bench_dir, f"search-fts5-{count}.db")
calls_path = os.path.join(bench_dir, f"search-calls-{count}.db")

os.makedirs(bench_dir, exist_ok=True)
subprocess.run([binary, "search", bench_dir, str(count), str(runs), ours_path], check=True)
ours = json.load(open(ours_path))
ours_values = {r["name"]: r["value"] for r in ours["results"]}


def connect():
    db = sqlite3.connect(fts_path)
    db.execute(f"ATTACH DATABASE '{calls_path}' AS c")
    return db


def load():
    """The FTS5 index from the same documents, once (cached beside ours)."""
    if os.path.exists(fts_path) and os.path.exists(calls_path) and os.path.getmtime(fts_path) > os.path.getmtime(docs_path):
        return
    for path in (fts_path, calls_path):
        if os.path.exists(path):
            os.remove(path)
    db = connect()
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA c.journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(terms, content='', tokenize='unicode61 remove_diacritics 0')")
    db.execute("CREATE TABLE c.calls (id INTEGER PRIMARY KEY, start INTEGER, from4 TEXT, to4 TEXT, from_first4 TEXT, to_first4 TEXT)")
    started = time.perf_counter()
    batch = []
    with open(docs_path, encoding="utf-8") as docs:
        for line in docs:
            call_id, start, from_digits, to_digits, terms = line.rstrip("\n").split("\t", 4)
            batch.append((int(call_id), int(start), from_digits[-4:], to_digits[-4:], from_digits[:4], to_digits[:4], terms))
            if len(batch) == 10_000:
                flush(db, batch)
                batch = []
    flush(db, batch)
    db.execute("CREATE INDEX c.calls_start ON calls(start)")
    db.execute("CREATE INDEX c.calls_from4 ON calls(from4)")
    db.execute("CREATE INDEX c.calls_to4 ON calls(to4)")
    db.execute("CREATE INDEX c.calls_from_first4 ON calls(from_first4)")
    db.execute("CREATE INDEX c.calls_to_first4 ON calls(to_first4)")
    db.execute("INSERT INTO docs(docs) VALUES('optimize')")
    db.commit()
    print(f"fts5: loaded {count} documents in {time.perf_counter() - started:.1f} s (bulk, then optimize)")
    db.close()


def flush(db, batch):
    db.executemany("INSERT INTO docs(rowid, terms) VALUES (?, ?)", [(b[0], b[6]) for b in batch])
    db.executemany("INSERT INTO c.calls VALUES (?, ?, ?, ?, ?, ?)", [b[:6] for b in batch])


def sql_for(shape):
    """The page query: the 50 newest matches (rowid order is start order: the documents
    were written oldest first), with the same filters as ours. A date range becomes a rowid
    range first (two index lookups, timed with the query): FTS5 uses a rowid range on its
    doclists, where a sub-select inside the MATCH query made it test every matching row."""
    where, params = ["docs MATCH ?"], [shape["fts5"]]
    if "number" in shape:
        # Call History's rule for four digits: the beginning or the end of either number.
        where.append("rowid IN (SELECT id FROM c.calls WHERE from4 = ? UNION SELECT id FROM c.calls WHERE to4 = ? "
                     "UNION SELECT id FROM c.calls WHERE from_first4 = ? UNION SELECT id FROM c.calls WHERE to_first4 = ?)")
        params += [shape["number"]] * 4
    if "from_micros" in shape:
        where.append("rowid BETWEEN ? AND ?")
    return f"SELECT rowid FROM docs WHERE {' AND '.join(where)} ORDER BY rowid DESC LIMIT 50", params


def run(db, shape, sql, params):
    if "from_micros" in shape:
        low = db.execute("SELECT min(id) FROM c.calls WHERE start >= ?", (shape["from_micros"],)).fetchone()[0] or 0
        high = db.execute("SELECT max(id) FROM c.calls WHERE start < ?", (shape["to_micros"],)).fetchone()[0] or 0
        params = params + [low, high]
    return db.execute(sql, params).fetchall()


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * p + 0.999999) - 1))]


def ingest_cost():
    """Per transcript, in commits of 100 (durable), into a fresh FTS5 table: what ours
    measures for the webhook's commit."""
    path = os.path.join(bench_dir, "search-fts5-ingest.db")
    if os.path.exists(path):
        os.remove(path)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(terms, content='', tokenize='unicode61 remove_diacritics 0')")
    docs = []
    with open(docs_path, encoding="utf-8") as f:
        for line in f:
            docs.append(line.rstrip("\n").split("\t", 4)[4])
            if len(docs) == 20_000:
                break
    started = time.perf_counter()
    for i in range(0, len(docs), 100):
        with db:
            db.executemany("INSERT INTO docs(rowid, terms) VALUES (?, ?)", [(i + j + 1, d) for j, d in enumerate(docs[i:i + 100])])
    micros = (time.perf_counter() - started) * 1e6 / len(docs)
    db.close()
    os.remove(path)
    return micros


load()
db = connect()
measures = []
print()
print(f"{'measure':<30}{'VoxFCGI':>11}{'FTS5':>11}{'ratio':>8}   ({runs} runs, {count} transcripts)")
mismatches = []
for shape in ours["queries"]:
    sql, params = sql_for(shape)
    samples = []
    rows = []
    for _ in range(runs):
        started = time.perf_counter()
        rows = run(db, shape, sql, params)
        samples.append((time.perf_counter() - started) * 1000)
    ids = [r[0] for r in rows]
    if ids != shape["ids"]:
        mismatches.append((shape["name"], len(ids), len(shape["ids"])))
    for suffix, p in (("p50", 0.5), ("p99", 0.99)):
        name = f"{shape['name']}_{suffix}_ms"
        mine, peer = ours_values[name], percentile(samples, p)
        ratio = round(peer / mine, 2) if mine > 0 else None
        measures.append({"name": name, "unit": "ms", "value": round(mine, 4), "peer": round(peer, 4), "ratio": ratio})
        print(f"{name:<30}{mine:>11.3f}{peer:>11.3f}{'' if ratio is None else format(ratio, '.1f') + 'x':>8}   {len(ids)} found")
db.close()

fts_mb = os.path.getsize(fts_path) / 1e6
ours_mb = ours_values["search_index_mb"]
measures.append({"name": "search_index_mb", "unit": "MB", "value": round(ours_mb, 1), "peer": round(fts_mb, 1),
                 "ratio": round(fts_mb / ours_mb, 2)})
print(f"{'search_index_mb':<30}{ours_mb:>11.1f}{fts_mb:>11.1f}{fts_mb / ours_mb:>7.2f}x   (FTS5 optimized, contentless)")
peer_ingest = ingest_cost()
mine_ingest = ours_values["search_index_transcript_us"]
measures.append({"name": "search_index_transcript_us", "unit": "µs", "value": round(mine_ingest, 1),
                 "peer": round(peer_ingest, 1), "ratio": round(peer_ingest / mine_ingest, 2)})
measures.append({"name": "search_store_transcript_us", "unit": "µs", "value": round(ours_values["search_store_transcript_us"], 1),
                 "peer": None, "ratio": None})
print(f"{'search_index_transcript_us':<30}{mine_ingest:>11.0f}{peer_ingest:>11.0f}{peer_ingest / mine_ingest:>7.2f}x   "
      f"(ours: store + link + index; the transcript alone {ours_values['search_store_transcript_us']:.0f} µs)")
if mismatches:
    print("DIFFERENT RESULTS:", mismatches)

results.merge(results_path, "search_", measures)
print(f"written to {results_path}")
if mismatches:
    sys.exit(1)
