"""`make bench`: runs voxbench and its SQLite peer, prints the figures side by side, and
writes bench-results.json at the repository root. `ratio` = peer / ours: how many times
faster VoxFCGI is (above 1 is better); null where there is no peer."""

import json
import os
import subprocess
import sys

import results

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
bench_dir = os.environ.get("BENCH_DIR", os.path.join(root, "bench-data"))
calls = os.environ.get("BENCH_CALLS", "1000000")
runs = os.environ.get("BENCH_RUNS", "300")
binary = os.path.join(root, ".build", "release", "voxbench")
os.makedirs(bench_dir, exist_ok=True)
ours_path = os.path.join(bench_dir, "ours.json")
peer_path = os.path.join(bench_dir, "peer.json")

subprocess.run([binary, bench_dir, calls, runs, ours_path], check=True)
subprocess.run([sys.executable, os.path.join(root, "bench", "sqlite_peer.py"), bench_dir, ours_path, peer_path], check=True)

ours = json.load(open(ours_path))["results"]
peer = {r["name"]: r["value"] for r in json.load(open(peer_path))["results"]}

results_path = os.path.join(root, "bench-results.json")

print()
print(f"{'measure':<28}{'VoxFCGI':>12}{'SQLite':>12}{'ratio':>9}   (ratio = SQLite / VoxFCGI; {runs} runs, {calls} calls)")
measures = []
for r in ours:
    p = peer.get(r["name"])
    ratio = round(p / r["value"], 2) if p is not None and r["value"] > 0 else None
    measures.append({"name": r["name"], "unit": r["unit"], "value": round(r["value"], 4),
                     "peer": None if p is None else round(p, 4), "ratio": ratio})
    label = r.get("label", "")
    print(f"{r['name']:<28}{r['value']:>12.3f}{'' if p is None else format(p, '.3f'):>12}"
          f"{'' if ratio is None else format(ratio, '.1f') + 'x':>9}   {label}")
results.merge(results_path, ("query_", "ingest_"), measures)
print(f"\nwritten to {results_path}")
