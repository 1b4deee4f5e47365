"""`make bench`, recordings: a 100 MB file uploaded to a real S3 API (moto, signature checking
on) by VoxFCGI's ObjectStore and by `aws s3 cp` (awscli) in the same run; the time ratio and
the uploading process's peak RSS growth.

Both are timed the same way: the wall time of one process per upload, start to exit (awscli's
Python start-up is part of what a user waits for; voxbench's start-up is part of ours).

    python3 bench/upload_bench.py RESULTS_JSON
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import results

ROOT = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("BENCH_UPLOAD_RUNS", "3"))
SIZE = int(os.environ.get("BENCH_UPLOAD_MB", "100")) * 1000 * 1000


def main():
    results_path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench-results.json"
    voxbench = ROOT / ".build" / "release" / "voxbench"
    server = subprocess.Popen([sys.executable, str(ROOT / "Tests" / "fakes" / "s3server.py"), "--bucket", "bench"],
                              stdout=subprocess.PIPE, text=True)
    try:
        fields = dict(re.findall(r"(\w+)=(\S+)", server.stdout.readline()))
        endpoint = f"http://127.0.0.1:{fields['port']}"
        with tempfile.TemporaryDirectory() as scratch:
            source = Path(scratch) / "upload.bin"
            with open(source, "wb") as f:
                f.write(os.urandom(SIZE))

            env = dict(os.environ, AWS_ACCESS_KEY_ID=fields["access_key"], AWS_SECRET_ACCESS_KEY=fields["secret_key"],
                       AWS_DEFAULT_REGION="us-east-1")
            aws = []
            for run in range(RUNS):
                started = time.perf_counter()
                subprocess.run(["aws", "--endpoint-url", endpoint, "s3", "cp", "--only-show-errors", str(source),
                                f"s3://bench/awscli-{run}.bin"], env=env, check=True)
                aws.append(time.perf_counter() - started)

            ours = {"seconds": [], "inner": [], "growth": []}
            for run in range(RUNS):
                started = time.perf_counter()
                out = subprocess.run([str(voxbench), "s3-upload", endpoint, "bench", fields["access_key"], fields["secret_key"],
                                      str(source), "1"], capture_output=True, text=True, check=True).stdout
                ours["seconds"].append(time.perf_counter() - started)
                figures = json.loads(out.strip().splitlines()[-1])
                ours["inner"] += figures["seconds"]
                ours["growth"].append((figures["rss_peak_kb"] - figures["rss_before_kb"]) / 1024)
                ours["rss_before_kb"], ours["rss_peak_kb"] = figures["rss_before_kb"], figures["rss_peak_kb"]
    finally:
        server.kill()
        server.wait()

    ours_median, aws_median = statistics.median(ours["seconds"]), statistics.median(aws)
    growth_mb = max(ours["growth"])
    print(f"\nS3 upload of {SIZE / 1e6:.0f} MB to moto (signatures checked), median of {RUNS}:")
    print(f"  VoxFCGI ObjectStore {ours_median:6.2f} s  ({SIZE / 1e6 / ours_median:6.1f} MB/s)   runs: "
          + ", ".join(f"{s:.2f}" for s in ours["seconds"]) + "   (inside the process: "
          + ", ".join(f"{s:.2f}" for s in ours["inner"]) + ")")
    print(f"  aws s3 cp           {aws_median:6.2f} s  ({SIZE / 1e6 / aws_median:6.1f} MB/s)   runs: "
          + ", ".join(f"{s:.2f}" for s in aws))
    print(f"  time ratio (ours / awscli): {ours_median / aws_median:.2f}   target: <= 1.00")
    print(f"  peak RSS growth while uploading (worst run): {growth_mb:.1f} MiB "
          f"(last run: {ours['rss_before_kb'] / 1024:.1f} -> {ours['rss_peak_kb'] / 1024:.1f} MiB)   target: < 32 MiB")

    # Same shape as the other benchmarks' entries: ratio > 1 means we are better.
    results.merge(results_path, "s3_upload", [
        {"name": "s3_upload_seconds_100mb", "unit": "s", "value": round(ours_median, 3), "peer": round(aws_median, 3),
         "ratio": round(aws_median / ours_median, 3)},
        {"name": "s3_upload_peak_rss_growth", "unit": "MiB", "value": round(growth_mb, 1), "peer": None, "ratio": None},
    ])


if __name__ == "__main__":
    main()
