"""`make bench`, webhook ingest: signed call-ended events posted through nginx to the release
worker by wrk at increasing concurrency, each acknowledged only after its durable commit;
next to nginx answering `return 204` on the same machine in the same run.

    python3 bench/webhook_bench.py RESULTS_JSON
"""

import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))
os.environ.setdefault("VOXFCGI_BIN", str(ROOT / ".build" / "release" / "voxfcgi"))

import stack as stack_module  # noqa: E402
from fakes import Fakes, create_application  # noqa: E402
from stack import Stack, free_port  # noqa: E402
import results  # noqa: E402

stack_module.BIN = os.environ["VOXFCGI_BIN"]
# One address sends everything here: lift nginx's per-address webhook limit for this run.
os.environ["VOXFCGI_WEBHOOK_RATE"] = "1000000r/s"
DURATION = int(os.environ.get("BENCH_WEBHOOK_SECONDS", "20"))
LEVELS = [int(x) for x in os.environ.get("BENCH_WEBHOOK_CONCURRENCY", "8,32,128").split(",")]
# Fresh events per level: enough for 30,000 a second.
EVENTS = int(os.environ.get("BENCH_WEBHOOK_EVENTS", str(30_000 * DURATION)))

LUA = r"""
-- Cycles through pre-signed requests (one per line: signature|timestamp|body); each wrk
-- thread takes its own stride so that no two threads send the same event. `offset` is the
-- global that setup() gives each thread: it must not be shadowed by a local here.
local lines = {}
local counter = 0
local stride = 1
function setup(thread)
  thread:set("offset", __threads or 0)
  __threads = (__threads or 0) + 1
end
function init(args)
  stride = tonumber(args[2]) or 1
  for line in io.lines(args[1]) do lines[#lines + 1] = line end
  counter = tonumber(offset) or 0
end
function request()
  local line = lines[(counter % #lines) + 1]
  counter = counter + stride
  local sig, ts, body = line:match("([^|]+)|([^|]+)|(.*)")
  return wrk.format("POST", "/api/webhook/voximplant", {
    ["Content-Type"] = "application/json", ["X-Vox-Timestamp"] = ts, ["X-Vox-Signature"] = "v1=" .. sig }, body)
end
"""


def wrk(url, connections, script=None, args=()):
    threads = min(connections, 2)
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{DURATION}s", "--latency"]
    if script:
        command += ["-s", script]
    command += [url]
    if args:
        command += ["--", *args, str(threads)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    seconds = float(re.search(r"requests in ([\d.]+)(m?s)", out).group(1))
    if re.search(r"requests in [\d.]+ms", out):
        seconds /= 1000
    non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", out) or [0, 0])[1])
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    return (total - non2xx) / seconds, float(p99.group(1)) * scale, non2xx, total


def main():
    results_path = sys.argv[1]
    work = Path(tempfile.mkdtemp(prefix="voxfcgi-webhook-bench-"))
    fakes = Fakes(sessions=0)
    s = Stack(work, VOXFCGI_VOXIMPLANT_URL=fakes.voximplant, VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs,
              VOXFCGI_LOG_LEVEL="warning", VOXFCGI_SYNC_MINUTES=100000, VOXFCGI_THREADS=int(os.environ.get("BENCH_WORKER_THREADS", "16")),
              # One kept connection per wrk connection at the highest level: none is opened per event.
              VOXFCGI_UPSTREAM_KEEPALIVE=max(LEVELS))
    s.add_user("bench@example.com", "bench password 123")
    s.start()
    peer = None
    try:
        session = s.login("bench@example.com", "bench password 123")
        app_id, secret = create_application(s, session, name="Bench", record=False)
        secret = secret.encode()

        def write_events(path, first, count):
            """`count` pre-signed call_ended events, session ids from `first` on: each a new call
            (a real insert, index and statistics update), never one an earlier level sent."""
            ts = str(int(time.time()) + 60)
            now_ms = int(time.time() * 1000)
            with open(path, "w") as f:
                for i in range(first, first + count):
                    body = json.dumps({"type": "call_ended", "application_id": app_id, "session_id": 90_000_000 + i,
                                       "sent_at": now_ms - i, "duration": 30 + i % 300, "reason": "disconnected"},
                                      separators=(",", ":"))
                    sig = hmac.new(secret, ts.encode() + b"." + body.encode(), hashlib.sha256).hexdigest()
                    f.write(f"{sig}|{ts}|{body}\n")

        script = work / "events.lua"
        script.write_text(LUA)

        # The peer: the same nginx build answering 204 without the worker.
        peer_port = free_port()
        peer_conf = work / "peer.conf"
        (work / "peer").mkdir()
        peer_conf.write_text(f"""worker_processes 1; pid {work}/peer/nginx.pid; error_log {work}/peer/error.log;
{"user root;" if os.getuid() == 0 else ""}
events {{ worker_connections 1024; }}
http {{ access_log off; client_body_temp_path {work}/peer/body;
  server {{ listen 127.0.0.1:{peer_port}; location / {{ return 204; }} }} }}""")
        peer = subprocess.Popen(["nginx", "-c", str(peer_conf), "-p", str(work / "peer"), "-g", "daemon off;"])
        time.sleep(0.5)

        print(f"\nwebhook ingest, {DURATION} s per level (durable: each 2xx after its commit)")
        print(f"{'connections':>11} {'events/s':>10} {'p99 ms':>8} {'nginx 204/s':>12} {'nginx p99':>10} {'ratio':>7}")
        measures = []
        best = None
        first = 0
        accepted = 0
        for connections in LEVELS:
            events_file = work / f"events-{connections}.txt"
            write_events(events_file, first, EVENTS)
            rate, p99, rejected, sent = wrk(s.base_url, connections, str(script), (str(events_file),))
            # The next level starts past this whole file: wrk's two threads take alternate
            # lines at their own pace, so the lines sent are not exactly the first `sent`.
            first += EVENTS
            accepted += sent - rejected
            if sent > EVENTS:
                print(f"  warning: {sent} requests for {EVENTS} events, so some were repeats (cheaper than new calls): "
                      f"raise BENCH_WEBHOOK_EVENTS")
            peer_rate, peer_p99, _, _ = wrk(f"http://127.0.0.1:{peer_port}/", connections, str(script), (str(events_file),))
            ratio = rate / peer_rate if peer_rate else None
            print(f"{connections:>11} {rate:>10.0f} {p99:>8.2f} {peer_rate:>12.0f} {peer_p99:>10.2f} {ratio:>6.1%}"
                  + (f"   ({rejected} non-2xx)" if rejected else ""))
            measures.append({"name": f"webhook_events_per_second_c{connections}", "unit": "events/s", "value": round(rate),
                             "peer": round(peer_rate), "ratio": round(ratio, 3) if ratio else None})
            measures.append({"name": f"webhook_p99_ms_c{connections}", "unit": "ms", "value": p99, "peer": peer_p99,
                             "ratio": round(peer_p99 / p99, 3) if p99 else None})
            if best is None or rate > best[0]:
                best = (rate, peer_rate)
        # Every 2xx was a new call, durably stored: the calls table holds that many, plus at most
        # the events in flight when each level's wrk stopped (stored, their answers not counted).
        stat = subprocess.run(["mdb_stat", "-s", "calls", str(s.data / "lmdb")], capture_output=True, text=True)
        stored = re.search(r"Entries: (\d+)", stat.stdout)
        if stored:
            extra = int(stored.group(1)) - accepted
            print(f"calls stored: {stored.group(1)}, 2xx answers: {accepted}"
                  + ("" if 0 <= extra <= sum(LEVELS) else "   MISMATCH: not every answered event is a stored new call"))
        results.merge(results_path, "webhook_", measures)
    finally:
        if peer:
            peer.terminate()
            peer.wait()
        s.stop()
        fakes.stop()
        # Each run writes a few hundred MB of calls: keep them only when asked to.
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)



if __name__ == "__main__":
    main()
