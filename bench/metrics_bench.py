"""`make bench`, the cost of metrics on webhook ingest: the same pre-signed call_ended events
posted by wrk at 32 connections to a worker with VOXFCGI_METRICS=on and to one with it off,
in turns (off, on, off, on), in the same run.

    python3 bench/metrics_bench.py RESULTS_JSON
"""

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("VOXFCGI_BIN", str(ROOT / ".build" / "release" / "voxfcgi"))
os.environ["VOXFCGI_WEBHOOK_RATE"] = "1000000r/s"
os.environ.setdefault("BENCH_WEBHOOK_SECONDS", "10")

import stack as stack_module  # noqa: E402
import webhook_bench  # noqa: E402
from backup_bench import write_events  # noqa: E402
from fakes import Fakes, create_application  # noqa: E402
from stack import Stack, free_port  # noqa: E402
import results  # noqa: E402

stack_module.BIN = os.environ["VOXFCGI_BIN"]
CONNECTIONS = int(os.environ.get("BENCH_METRICS_CONNECTIONS", "32"))


def main():
    results_path = sys.argv[1]
    work = Path(tempfile.mkdtemp(prefix="voxfcgi-metrics-bench-"))
    fakes = Fakes(sessions=0)
    stacks = {}
    try:
        for mode in ("off", "on"):
            s = Stack(work / mode, VOXFCGI_VOXIMPLANT_URL=fakes.voximplant, VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs,
                      VOXFCGI_LOG_LEVEL="warning", VOXFCGI_SYNC_MINUTES=100000, VOXFCGI_UPSTREAM_KEEPALIVE=CONNECTIONS,
                      VOXFCGI_METRICS=mode, VOXFCGI_METRICS_LISTEN=f"127.0.0.1:{free_port()}")
            s.add_user("bench@example.com", "bench password 123")
            s.start()
            session = s.login("bench@example.com", "bench password 123")
            app_id, secret = create_application(s, session, name="Bench", record=False)
            stacks[mode] = (s, app_id, secret.encode())
        script = work / "events.lua"
        script.write_text(webhook_bench.LUA)
        rates = {"off": [], "on": []}
        first = 0
        for round_ in range(2):
            for mode in ("off", "on"):
                s, app_id, secret = stacks[mode]
                events = work / f"events-{mode}-{round_}.txt"
                write_events(events, app_id, secret, first, 30_000 * webhook_bench.DURATION)
                first += 30_000 * webhook_bench.DURATION
                rate, p99, _, _ = webhook_bench.wrk(s.base_url, CONNECTIONS, str(script), (str(events),))
                rates[mode].append((rate, p99))
        best = {mode: max(r[0] for r in runs) for mode, runs in rates.items()}
        p99 = {mode: min(r[1] for r in runs) for mode, runs in rates.items()}
        print(f"\nwebhook ingest with and without metrics, {CONNECTIONS} connections, {webhook_bench.DURATION} s x 2 each")
        print(f"  metrics off: {best['off']:>8.0f} events/s  p99 {p99['off']:.2f} ms   (runs: {', '.join(f'{r[0]:.0f}' for r in rates['off'])})")
        print(f"  metrics on:  {best['on']:>8.0f} events/s  p99 {p99['on']:.2f} ms   (runs: {', '.join(f'{r[0]:.0f}' for r in rates['on'])})"
              f"   {best['on'] / best['off']:.1%} of the rate without")
        measures = [{"name": "metrics_ingest_events_per_second", "unit": "events/s", "value": round(best["on"]),
                     "peer": round(best["off"]), "ratio": round(best["on"] / best["off"], 3), "peer_name": "VOXFCGI_METRICS=off"},
                    {"name": "metrics_ingest_p99_ms", "unit": "ms", "value": p99["on"], "peer": p99["off"],
                     "ratio": round(p99["off"] / p99["on"], 3) if p99["on"] else None}]
        results.merge(results_path, "metrics_", measures)
    finally:
        for s, _, _ in stacks.values():
            s.stop()
        fakes.stop()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
