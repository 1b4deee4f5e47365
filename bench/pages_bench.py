"""`make bench`, full pages at 1M calls: Call History (no filter, a status, the last four digits
of a number, 7 days), a call's page, Statistics over 30 and 90 days and the JSON live panel,
fetched through nginx with a signed-in admin session by wrk on one connection (p50/p99). Each
is printed next to the bare query time of the same data (voxbench's in-process `query_*`
figures from bench-data/ours.json; what is left is render overhead) and next to the same
nginx serving a static file of the same size, the same bytes (the limit). Then the release
worker is profiled with perf under the same load, page by page: where its time goes.

    python3 bench/pages_bench.py RESULTS_JSON

The data folder of 1M demo calls is seeded once with the release binary (`user add` of the
admin, then `seed-demo --calls N --days 90 --email …`) and cached in bench-data/pages-<N>/: its
`data/` is the worker's data folder (Stack(bench-data/pages-<N>)), `seeded.json` the marker
(the admin's sign-in, the seeding day that the date ranges end on). Later runs use it in place.
bench-data/ours.json comes from bench/run.py; when it is missing, voxbench is run here.

Other work on the machine moves these figures by a lot: before each measurement the script
waits (polling every 20 s) until no benchmark or build runs (by name) and other processes use
under BENCH_QUIET_CPU % of a core; a measurement during which they did is taken again (up to
BENCH_PAGES_TRIES), and the table says which ones stayed disturbed.

Environment: BENCH_PAGES_CALLS (1000000), BENCH_PAGES_SECONDS (10 per page and round),
BENCH_PAGES_ROUNDS (3; each page keeps its best round), BENCH_PAGES_PROFILE (1; 0 skips perf),
BENCH_PAGES_PROFILE_SECONDS (8), BENCH_PAGES_PROFILE_PAGES (all, comma-separated),
BENCH_QUIET_WAIT (1200 s; 0: no wait), BENCH_QUIET_CPU (10), BENCH_PAGES_TRIES (3),
BENCH_PAGES_LOG_LEVEL (info, the worker's default), BENCH_KEEP (keep the perf data and reports).
"""


import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "Tests" / "e2e"))
os.environ.setdefault("VOXFCGI_BIN", str(ROOT / ".build" / "release" / "voxfcgi"))

import stack as stack_module  # noqa: E402
from stack import Stack, free_port, wait_for  # noqa: E402
import results  # noqa: E402

stack_module.BIN = os.environ["VOXFCGI_BIN"]
CALLS = int(os.environ.get("BENCH_PAGES_CALLS", "1000000"))
DAYS = 90
DURATION = int(os.environ.get("BENCH_PAGES_SECONDS", "10"))
PROFILE = os.environ.get("BENCH_PAGES_PROFILE", "1") != "0"
PROFILE_SECONDS = int(os.environ.get("BENCH_PAGES_PROFILE_SECONDS", "8"))
QUIET_WAIT = int(os.environ.get("BENCH_QUIET_WAIT", "1200"))
BENCH_DIR = Path(os.environ.get("BENCH_DIR", ROOT / "bench-data"))
CACHE = BENCH_DIR / f"pages-{CALLS}"
MARKER = CACHE / "seeded.json"
OURS = BENCH_DIR / "ours.json"
EMAIL = "bench-admin@example.com"
PASSWORD = "bench password 123"
# What else may be running on this machine that would disturb the figures.
OTHERS = "voxbench|search_bench|swift-build|swift-frontend"

# Each page, and the voxbench query (bench-data/ours.json, Sources/VoxBench/main.swift) that
# reads the same data: the page's own calls to CallQueries/StatisticsQueries. Call History also
# asks for the exact count; voxbench times that only for the 7-day range (g). None: voxbench
# has no case for it.
QUERIES = {
    "calls": ["a"],           # page, no filter (the count is the all-time bucket: one get)
    "calls_status": ["c"],    # page, status = failed (count: one get)
    "calls_number": ["d"],    # page, last 4 digits (count: not timed by voxbench)
    "calls_7days": ["b", "g"],  # page, 7-day range + its exact count
    "call_detail": None,
    "statistics_30d": None,   # voxbench times 90 days only
    "statistics_90d": ["f"],
    "live": None,             # a status page of in-progress calls: not a voxbench case
}
# Profiled: every page (the three the issue names first); BENCH_PAGES_PROFILE_PAGES narrows it.
PROFILED = os.environ.get("BENCH_PAGES_PROFILE_PAGES", "calls,statistics_90d,call_detail,calls_status,calls_number,"
                          "calls_7days,statistics_30d,live").split(",")


def log(line=""):
    print(line, flush=True)


def others_running():
    out = subprocess.run(["pgrep", "-af", OTHERS], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.strip()]


DISTURBED = []
QUIET_CPU = float(os.environ.get("BENCH_QUIET_CPU", "10"))  # % of one core other processes may use
TRIES = int(os.environ.get("BENCH_PAGES_TRIES", "3"))
ROUNDS = int(os.environ.get("BENCH_PAGES_ROUNDS", "3"))


def foreign_cpu(seconds=3.0):
    """The CPU, in % of one core, that processes other than ours use over `seconds`."""
    started, (busy0, ours0) = time.monotonic(), cpu_seconds()
    time.sleep(seconds)
    busy1, ours1 = cpu_seconds()
    return max(0.0, 100 * ((busy1 - busy0) - (ours1 - ours0)) / (time.monotonic() - started))


def wait_quiet(what):
    """Waits (polling every 20 s, up to QUIET_WAIT) until no other benchmark or build runs
    (by name) and other processes use less than QUIET_CPU % of a core. Returns True if `what`
    starts with the machine quiet; records it otherwise."""
    deadline = time.monotonic() + QUIET_WAIT

    def busy():
        running = others_running()
        if running:
            return running[0][:120]
        load = foreign_cpu()
        return f"other processes using {load:.0f}% of a core" if load >= QUIET_CPU else None

    reason = busy()
    if reason and QUIET_WAIT > 0:
        log(f"  waiting for other work to finish before {what}: {reason}")
    while reason and time.monotonic() < deadline:
        time.sleep(20)
        reason = busy()
    if reason:
        DISTURBED.append((what, reason))
        log(f"  note: {what} starts while other work runs: {reason}")
        return False
    return True


def timed(command, **kwargs):
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, check=True, **kwargs)
    return time.monotonic() - started, result.stdout


def settings():
    # No sync, no sweep, no backup while measuring; upstreams that answer nothing (the demo
    # accounts have no real credentials; nothing should go out at all).
    dead = f"http://127.0.0.1:{free_port()}"
    return dict(VOXFCGI_LOG_LEVEL=os.environ.get("BENCH_PAGES_LOG_LEVEL", "info"), VOXFCGI_SYNC_MINUTES=100000,
                VOXFCGI_RETENTION_SWEEP_MINUTES=10080, VOXFCGI_BACKUP_EVERY_HOURS=0,
                VOXFCGI_VOXIMPLANT_URL=dead, VOXFCGI_ELEVENLABS_URL=dead)


def ensure_data():
    """The cached data folder of CALLS demo calls (seeded once); its marker's contents."""
    if MARKER.exists() and (CACHE / "data" / "lmdb" / "data.mdb").exists():
        return json.loads(MARKER.read_text()), None
    shutil.rmtree(CACHE, ignore_errors=True)
    CACHE.mkdir(parents=True)
    s = Stack(CACHE, **settings())
    s.add_user(EMAIL, PASSWORD, role="admin")
    wait_quiet("seeding")
    log(f"seeding {CALLS} demo calls over {DAYS} days into {s.data} (once; cached) …")
    seconds, _ = timed([stack_module.BIN, "seed-demo", "--calls", str(CALLS), "--days", str(DAYS), "--email", EMAIL],
                       env=s.env)
    os.sync()  # the new 2 GB file's writeback would otherwise run during the first measurements
    now = datetime.now(timezone.utc)
    marker = {"calls": CALLS, "days": DAYS, "email": EMAIL, "password": PASSWORD, "seeded_at": now.isoformat(),
              "seed_seconds": round(seconds, 1), "time_zone": "UTC"}
    MARKER.write_text(json.dumps(marker, indent=2))
    log(f"seeded in {seconds:.0f} s; data.mdb {os.path.getsize(s.data / 'lmdb' / 'data.mdb') / 1e6:.0f} MB")
    return marker, seconds


def query_figures():
    """voxbench's in-process query times (ms), by case letter: {"a": (p50, p99, label)}."""
    if not OURS.exists():
        wait_quiet("voxbench (bare query times)")
        log(f"{OURS} missing: running voxbench (seeds its own 1M calls once, a few minutes) …")
        subprocess.run([str(ROOT / ".build" / "release" / "voxbench"), str(BENCH_DIR), "1000000", "300", str(OURS)],
                       check=True)
    figures = json.load(open(OURS))["results"]
    by = {}
    for r in figures:
        m = re.fullmatch(r"query_(\w)_(p50|p99)", r["name"])
        if m:
            entry = by.setdefault(m.group(1), {"label": r.get("label", "")})
            entry[m.group(2)] = r["value"]
    return by


def parse_wrk(out):
    def ms(label):
        m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)] if m else None
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = int((re.search(r"Non-2xx or 3xx responses: (\d+)", out) or [0, 0])[1])
    errors = re.search(r"Socket errors: (.*)", out)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"p50": ms("50"), "p99": ms("99"), "rps": rate, "requests": total, "non2xx": non2xx,
            "socket_errors": errors.group(1) if errors else None}


WATCHED = []  # our own processes: the worker, both nginx masters (their workers are found from them)


def cpu_seconds():
    """(whole machine's busy CPU seconds, ours: watched processes, their children and wrk)."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    pids = set(WATCHED)
    for pid in WATCHED:
        pids.update(int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split())
    ours = 0
    for pid in pids:
        try:
            stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            ours += int(stat[11]) + int(stat[12])
        except OSError:
            pass
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    return busy / tick, ours / tick + children.ru_utime + children.ru_stime + me.ru_utime + me.ru_stime


def wrk(url, cookie=None, seconds=DURATION):
    """wrk on one connection; with `foreign_cpu`, the CPU (in % of one core) that processes other
    than ours used meanwhile: a disturbance the pgrep check does not name."""
    command = ["wrk", "-t1", "-c1", f"-d{seconds}s", "--latency"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    started, (busy0, ours0) = time.monotonic(), cpu_seconds()
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    busy1, ours1 = cpu_seconds()
    result = parse_wrk(out)
    result["foreign_cpu"] = max(0.0, 100 * ((busy1 - busy0) - (ours1 - ours0)) / (time.monotonic() - started))
    if result["non2xx"] or result["socket_errors"]:
        raise RuntimeError(f"wrk {url}: {result['non2xx']} non-2xx, socket errors {result['socket_errors']}\n{out}")
    return result


def scrape(metrics_url):
    """The worker's own request-duration sums and counts per route (seconds), from /metrics."""
    text = requests.get(metrics_url, timeout=5).text
    sums, counts = {}, {}
    for line in text.splitlines():
        m = re.match(r'voxfcgi_http_request_duration_seconds_(sum|count)\{([^}]*)\}\s+([\d.eE+-]+)', line)
        if m:
            route = re.search(r'route="([^"]*)"', m.group(2))
            if route:
                (sums if m.group(1) == "sum" else counts)[route.group(1)] = float(m.group(3))
    return sums, counts


def start_peer(s, work):
    """The same nginx binary and configuration as the stack's (headers, sendfile, access log),
    on its own port, with /bench-static/ served from `work/static`."""
    peer = work / "peer"
    static = work / "static"
    for d in (peer, static):
        d.mkdir(parents=True, exist_ok=True)
    os.chmod(work, 0o755)
    os.chmod(static, 0o755)
    port = free_port()
    conf = Path(s.nginx_conf).read_text()
    conf = re.sub(r"listen\s+127\.0\.0\.1:\d+;", f"listen 127.0.0.1:{port};", conf)
    conf = re.sub(r"^pid .*;$", f"pid {peer}/nginx.pid;", conf, flags=re.M)
    conf = re.sub(r"^error_log .*;$", f"error_log {peer}/nginx-error.log warn;", conf, flags=re.M)
    conf = re.sub(r"^(\s*)access_log .*;$", rf"\1access_log {peer}/nginx-access.log;", conf, flags=re.M)
    conf = re.sub(r"^(\s*)(\w+_temp_path) .*;$", rf"\1\2 {peer}/\2;", conf, flags=re.M)
    conf = conf.replace("server_name localhost;", f"server_name localhost;\n        location /bench-static/ {{ alias {static}/; }}")
    (peer / "nginx.conf").write_text(conf)
    process = subprocess.Popen(["nginx", "-c", str(peer / "nginx.conf"), "-p", str(peer), "-g", "daemon off;"],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=open(peer / "nginx.log", "a"), start_new_session=True)
    return process, f"http://127.0.0.1:{port}", static


def route_of(path):
    """The route pattern the worker labels its request metrics with."""
    path = path.split("?")[0]
    return "/calls/:id" if re.fullmatch(r"/calls/\d+", path) else path


def answers(url):
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


def wait_idle(pid, seconds=1.0, limit=120):
    """Waits until the worker uses (almost) no CPU for `seconds` (its start-up housekeeping done)."""
    def cpu():
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu()
        time.sleep(seconds)
        if cpu() - before <= 2:  # clock ticks (1/100 s)
            return


def find_targets(session, base, today):
    """A real remote number's last four digits and a call id with a transcript, from Call History."""
    html = session.get(base + "/calls?size=200").text
    rows = re.findall(r'<tr data-call-id="(\d+)">(.*?)</tr>', html, re.S)
    assert rows, "no calls on Call History"
    last_four = call_id = None
    for cid, row in rows:
        numbers = re.findall(r'<td class="number">([^<]*)</td>', row)
        direction = re.search(r'class="dir dir-(in|out)"', row).group(1)
        remote = numbers[0] if direction == "in" else numbers[1]
        if last_four is None:
            last_four = re.sub(r"\D", "", remote)[-4:]
        if call_id is None and 'class="icon" viewBox="0 0 16 16" aria-label=' in row:
            call_id = cid
    assert call_id, "no call with a transcript among the newest 200"
    return last_four, call_id


def profile(pid, url, cookie, work, name):
    """perf while wrk loads `url`: the self and the children (call graph) reports, demangled."""
    data = work / f"perf-{name}.data"
    load = subprocess.Popen(["wrk", "-t1", "-c1", f"-d{PROFILE_SECONDS + 3}s", "-H", f"Cookie: {cookie}", url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        subprocess.run(["perf", "record", "-F", "999", "-g", "-o", str(data), "-p", str(pid), "--", "sleep", str(PROFILE_SECONDS)],
                       check=True, capture_output=True)
    finally:
        load.wait()
    demangle = shutil.which("swift-demangle")
    reports = {}
    for kind, flags in (("self", ["--no-children", "--percent-limit", "2"]),
                        ("children", ["--children", "--percent-limit", "2"]),
                        ("flat", ["--no-children", "-g", "none", "--percent-limit", "0.3"]),
                        ("inclusive", ["--children", "-g", "none", "--percent-limit", "0.5"])):
        out = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--sort", "dso,sym", *flags],
                             capture_output=True, text=True).stdout
        if demangle:
            out = subprocess.run([demangle, "--simplified"], input=out, capture_output=True, text=True).stdout
        path = work / f"perf-{name}-{kind}.txt"
        path.write_text(out)
        reports[kind] = out
    reports["analysis"] = analyse(read_samples(data))
    return reports


def top_lines(report, children, limit):
    """(percent(s), dso, symbol) rows of a `-g none` report."""
    rows = []
    for line in report.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(?:([\d.]+)%\s+)?(\S+)\s+\[[.k]\]\s+(.*)$", line)
        if m:
            rows.append((float(m.group(1)), float(m.group(2)) if m.group(2) else None, m.group(3), m.group(4).strip()))
    return rows[:limit]


# Where the worker's time goes: each sample goes to the innermost frame of its stack that
# belongs to one of these (checked in this order for that frame), so the shares add up to 100%.
# An ICU call under NumberFormatter counts as money formatting; malloc under the Mustache
# renderer as rendering. Patterns match demangled symbol names (and the library's file name).
CATEGORIES = [
    ("LMDB (liblmdb: B-tree reads, page faults)", r"liblmdb"),
    ("decoding stored records (codecs, JSON)", r"Codec\b|Codec\.|JSONDecoder|JSONValue|ByteReader|DecodingCache|\.decode\(|init\(from:"),
    ("phone numbers (PhoneNumber.display, Swift Regex)", r"PhoneNumber|CompiledPhoneFormat|CompiledFormats|_StringProcessing|\bRegex"),
    ("dates (DateFormatter, Calendar)", r"DateFormatter|Formatting\.(dateTime|day|shortDateTime|chartLabels|startOfDay|addingDays|fileStamp)|Calendar|CFDateFormatter|udat_"),
    ("money & counts (NumberFormatter)", r"NumberFormatter|Formatting\.(grouped|amount|money|count|percent)|CFNumberFormatter|unum_"),
    ("durations (String(format:))", r"Formatting\.duration"),
    ("HTML escaping (String.htmlEscape)", r"htmlEscape"),
    ("TemplateEncoder (values to dictionaries)", r"TemplateEncoder"),
    ("Mustache rendering (lookups, casts, appends)", r"Mustache|\bTemplates\.render"),
    ("Charts (SVG text)", r"\bCharts\."),
    ("JSON encoding (JSONEncoder)", r"JSONEncoder"),
    ("queries (CallQueries, StatisticsQueries, KVStore)", r"CallQueries|StatisticsQueries|KVStore|\bTable\.|Environment\.read|walkCallIndex|\bDatabase\.|Visibility|ReadTransaction"),
    ("session, auth, CSRF, SHA-256", r"Sessions\.|App\.authenticate|CSRF|TwoFactor|SHA256|HMAC|libcrypto"),
    ("logging & metrics", r"Logging|Logger|Metric|Prometheus|\bTimer\b|\bCounter\b"),
    ("FastCGI: request parsing, socket I/O, libfcgi", r"FCGX|FCGI|libfcgi|\bConnection\.|FastCGIServer\.respond|\bRequest\.init|parseCookies|"
     r"Parameters\.init|Poller|epoll|__libc_(read|write)|^(read|write|writev|sendmsg|recvfrom|sendto) \(|unix_stream"),
    # Last: what is left inside the request, in the handlers' and the pipeline's own frames
    # (arrays, strings, dictionaries, allocation).
    ("page handlers' and App's own code (arrays, strings, allocation)",
     r"App\.(handle|respond)|\bPages\.|CallsPage|StatisticsPage|CallDetailPage|LiveCalls|\bRoutes\.|\bRouter\.|RequestContext|Response\.amended"),
]

OTHER = "unattributed (mostly malloc/free: glibc keeps no frame pointers)"

# Inclusive shares of the functions on the request path (a sample counts if the function is
# anywhere on its stack).
INCLUSIVE = [
    ("App.handle (the request inside the worker)", r"App\.handle\("),
    ("  App.authenticate (session, CSRF token)", r"App\.authenticate"),
    ("  the page handler", r"(CallsPage\.show|StatisticsPage\.show|CallDetailPage\.show|LiveCalls\.json)\("),
    ("    CallQueries.page", r"CallQueries\.page\("),
    ("    CallQueries.count", r"CallQueries\.count\("),
    ("    CallQueries.call(id:viewer:)", r"CallQueries\.call\(id"),
    ("    CallQueries.transcript(of:)", r"CallQueries\.transcript\("),
    ("    StatisticsQueries.report", r"StatisticsQueries\.report\("),
    ("    StatisticsQueries.applications", r"StatisticsQueries\.applications\("),
    ("    StatisticsQueries.currencyByApplication", r"StatisticsQueries\.currencyByApplication"),
    ("    CallsPage.recentMismatches", r"recentMismatches"),
    ("    CallsPage.Row.init (one row's texts)", r"CallsPage\.Row\.init"),
    ("      PhoneNumber.display", r"PhoneNumber\.display\("),
    ("      Formatting.dateTime (DateFormatter)", r"Formatting\.dateTime\("),
    ("      Formatting.money / amount (NumberFormatter)", r"Formatting\.(money|amount)\("),
    ("    Formatting.grouped (NumberFormatter, anywhere)", r"Formatting\.grouped\("),
    ("    Formatting.chartLabels", r"Formatting\.chartLabels"),
    ("    Charts.stackedBars / bars", r"Charts\.(stackedBars|bars)\("),
    ("    StatisticsPage.summary", r"StatisticsPage\.summary\("),
    ("    Pages.render (page template + layout)", r"Pages\.render"),
    ("      TemplateEncoder.dictionary", r"TemplateEncoder\.dictionary"),
    ("      MustacheLibrary.render", r"MustacheLibrary\.render"),
    ("        MustacheTemplate.getChild (name lookups)", r"MustacheTemplate\.getChild"),
    ("        String.htmlEscape", r"htmlEscape"),
    ("    Response.json (JSONEncoder)", r"Response\.json|JSONEncoder"),
    ("FastCGIServer.serve outside App.handle (read request, send)", None),
]


# The page's own data, as voxbench's cases read it; and the other reads of a request.
DATA_QUERIES = r"CallQueries\.(page|count|call|transcript)\(|StatisticsQueries\.report\("
OTHER_READS = (r"Sessions\.resolve|StatisticsQueries\.(applications|currencyByApplication|visibleApplications)|"
               r"recentMismatches|TwoFactor|twoFactor|mustEnrol|SetupService|CallSync\.states")


def read_samples(data):
    """Each sample's stack, innermost frame first, as "symbol (library)" strings, demangled."""
    out = subprocess.run(["perf", "script", "-i", str(data), "-F", "tid,ip,sym,dso"], capture_output=True, text=True).stdout
    demangle = shutil.which("swift-demangle")
    if demangle:
        out = subprocess.run([demangle, "--simplified"], input=out, capture_output=True, text=True).stdout
    stacks, frames = [], []
    for line in out.splitlines():
        m = re.match(r"^\s+[0-9a-f]+\s+(.*?)\s+\(([^()]*)\)$", line)
        if m:
            frames.append(f"{m.group(1)} ({os.path.basename(m.group(2))})")
        elif not line.strip():
            if frames:
                stacks.append(frames)
            frames = []
    if frames:
        stacks.append(frames)
    return stacks


def analyse(stacks):
    """(exclusive shares by category, inclusive shares of the request path, top leaf symbols of
    what no category claims), in % of the worker's samples."""
    total = len(stacks) or 1
    compiled = [(label, re.compile(p)) for label, p in CATEGORIES]
    exclusive = {label: 0 for label, _ in CATEGORIES}
    other = {}
    exclusive[OTHER] = 0
    for stack in stacks:
        owner = None
        for frame in stack:
            owner = next((label for label, rx in compiled if rx.search(frame)), None)
            if owner:
                break
        if owner is None:
            owner = OTHER
            other[stack[0]] = other.get(stack[0], 0) + 1
        exclusive[owner] += 1
    inclusive = {}
    handle = re.compile(r"App\.handle\(")
    serve = re.compile(r"FastCGIServer\.serve")
    for label, pattern in INCLUSIVE:
        if pattern is None:
            n = sum(1 for st in stacks if any(serve.search(f) for f in st) and not any(handle.search(f) for f in st))
        else:
            rx = re.compile(pattern)
            n = sum(1 for st in stacks if any(rx.search(f) for f in st))
        inclusive[label] = 100 * n / total
    shares = {k: 100 * v / total for k, v in exclusive.items()}
    leftovers = sorted(((100 * v / total, k) for k, v in other.items()), reverse=True)[:6]
    # Of the samples inside App.handle: the page's data queries (what voxbench times), and the
    # other reads a page makes (session, applications, currencies, sync states).
    in_request = [st for st in stacks if any(handle.search(f) for f in st)]
    data_rx, reads_rx = re.compile(DATA_QUERIES), re.compile(OTHER_READS)
    data = sum(1 for st in in_request if any(data_rx.search(f) for f in st))
    reads = sum(1 for st in in_request if not any(data_rx.search(f) for f in st) and any(reads_rx.search(f) for f in st))
    n = len(in_request) or 1
    return {"shares": shares, "inclusive": inclusive, "leftovers": leftovers, "samples": total,
            "data_fraction": data / n, "reads_fraction": reads / n}


def main():
    results_path = sys.argv[1]
    began = time.monotonic()
    marker, seeded = ensure_data()
    phase = time.monotonic()
    queries = query_figures()
    voxbench_s = time.monotonic() - phase if time.monotonic() - phase > 5 else None
    work = Path(tempfile.mkdtemp(prefix="voxfcgi-pages-bench-"))
    for stale in (CACHE / "worker.log", CACHE / "nginx.log", CACHE / "data" / "run" / "nginx-access.log"):
        stale.unlink(missing_ok=True)
    s = Stack(CACHE, **settings())
    metrics_url = f"http://{s.env['VOXFCGI_METRICS_LISTEN']}/metrics"
    peer = None
    try:
        s.start()
        WATCHED.extend([s.worker.pid, s.nginx.pid])
        wait_idle(s.worker.pid)
        session = s.login(marker["email"], marker["password"])
        cookie = f"vox_session={session.cookies['vox_session']}"
        today = datetime.fromisoformat(marker["seeded_at"]).astimezone(timezone.utc).date()
        day = lambda n: (today - timedelta(days=n)).isoformat()  # noqa: E731
        last_four, call_id = find_targets(session, s.base_url, today)
        pages = [
            ("calls", "Call History, no filter", "/calls"),
            ("calls_status", "Call History, status = failed", "/calls?status=failed"),
            ("calls_number", f"Call History, last 4 digits {last_four}", f"/calls?number={last_four}"),
            ("calls_7days", "Call History, 7 days", f"/calls?from={day(6)}&to={day(0)}"),
            ("call_detail", "call page (with transcript)", f"/calls/{call_id}"),
            ("statistics_30d", "Statistics, 30 days", f"/statistics?from={day(29)}&to={day(0)}"),
            ("statistics_90d", "Statistics, 90 days", f"/statistics?from={day(89)}&to={day(0)}"),
            ("live", "live panel (JSON)", "/api/calls/live"),
        ]
        peer, peer_url, static = start_peer(s, work)
        WATCHED.append(peer.pid)
        wait_for(lambda: answers(peer_url + "/static/app.css"), what="the static nginx")

        log(f"\nfull pages through nginx, {CALLS:,} demo calls over {DAYS} days (seeded {today}), admin session, "
            f"wrk -t1 -c1 -d{DURATION}s, {ROUNDS} rounds")
        prepared = []
        for name, label, path in pages:
            response = session.get(s.base_url + path)
            assert response.status_code == 200, f"{path}: {response.status_code} {response.text[:300]}"
            body = response.content
            (static / f"{name}.html").write_bytes(body)
            if name.startswith("calls"):
                label += f" ({len(re.findall(r'<tr data-call-id=', response.text))} rows)"
            prepared.append((name, label, path, len(body)))

        # Rounds through all pages (this machine's speed drifts by a third from minute to
        # minute): each page keeps its round with the lowest p50, as backup_bench keeps the best of 3.
        measured = {name: [] for name, *_ in prepared}
        measuring = time.monotonic()
        for round_ in range(ROUNDS):
            for name, label, path, size in prepared:
                best = None
                for attempt in range(TRIES):
                    wait_quiet(f"page {name}")
                    before = scrape(metrics_url)
                    page = wrk(s.base_url + path, cookie)
                    after = scrape(metrics_url)
                    route = route_of(path)
                    count = after[1].get(route, 0) - before[1].get(route, 0)
                    server_ms = (after[0][route] - before[0].get(route, 0)) / count * 1000 if count else None
                    flat = wrk(f"{peer_url}/bench-static/{name}.html")
                    busy = max(page["foreign_cpu"], flat["foreign_cpu"])
                    if best is None or busy < best[3]:
                        best = (page, flat, server_ms, busy)
                    if busy < QUIET_CPU:
                        break
                    log(f"  {name}: other processes used {busy:.0f}% of a core during the measurement"
                        + (", measuring again" if attempt + 1 < TRIES else ""))
                page, flat, server_ms, busy = best
                if busy >= QUIET_CPU:
                    DISTURBED.append((f"page {name}", f"other processes used {busy:.0f}% of a core"))
                measured[name].append(best)
                log(f"  {round_ + 1}/{ROUNDS} {name:<15} {page['p50']:7.3f} / {page['p99']:7.3f} ms  {page['rps']:6.0f}/s  "
                    f"static {flat['p50']:.3f} / {flat['p99']:.3f} ms  {size:,} bytes"
                    + (f"  (other processes used {busy:.0f}% of a core meanwhile)" if busy >= QUIET_CPU else ""))
        rows = []
        for name, label, path, size in prepared:
            rounds = measured[name]
            page, _, server_ms, busy = min(rounds, key=lambda r: r[0]["p50"])
            flat = min((r[1] for r in rounds), key=lambda f: f["p50"])
            letters = QUERIES[name]
            known = letters and all(x in queries for x in letters)
            rows.append(dict(name=name, label=label, path=path, bytes=size, page=page, static=flat, server_ms=server_ms,
                             busy=busy, spread=max(r[0]["p50"] for r in rounds) / page["p50"],
                             query_p50=sum(queries[x]["p50"] for x in letters) if known else None,
                             query_p99=sum(queries[x]["p99"] for x in letters) if known else None, letters=letters))

        measuring = time.monotonic() - measuring
        profiling = time.monotonic()
        profiles = {}
        if PROFILE:
            for name in PROFILED:
                path = next(p for n, _, p in pages if n == name)
                wait_quiet(f"profile {name}")
                profiles[name] = profile(s.worker.pid, s.base_url + path, cookie, work, name)
        profiling = time.monotonic() - profiling
        for r in rows:
            analysis = profiles.get(r["name"], {}).get("analysis")
            r["profile_query_ms"] = analysis["data_fraction"] * r["server_ms"] if analysis and r["server_ms"] else None

        # The table.
        fmt = lambda v, f=".3f": "—" if v is None else format(v, f)  # noqa: E731
        log(f"\n{'page':<44}{'bytes':>7}{'p50':>8}{'p99':>8}{'req/s':>7}{'worker':>8}{'query':>8}{'query':>8}"
            f"{'page−':>8}{'static':>8}{'static':>8}{'ratio':>7}")
        log(f"{'':<44}{'':>7}{'ms':>8}{'ms':>8}{'':>7}{'mean':>8}{'p50':>8}{'(perf)':>8}{'query':>8}{'p50':>8}{'p99':>8}{'':>7}")
        measures = []
        for r in rows:
            page, flat = r["page"], r["static"]
            query = r["query_p50"] if r["query_p50"] is not None else r["profile_query_ms"]
            overhead = page["p50"] - query if query is not None else None
            ratio = flat["p50"] / page["p50"] if page["p50"] else None
            busy = r["busy"]
            note = (f"±{r['spread'] - 1:.0%}  " if ROUNDS > 1 else "") + ("+".join(r["letters"]) if r["letters"] else "(perf)") + (f"  other CPU {busy:.0f}%" if busy >= QUIET_CPU else "")
            log(f"{r['label'][:43]:<44}{r['bytes']:>7}{page['p50']:>8.2f}{page['p99']:>8.2f}{page['rps']:>7.0f}"
                f"{fmt(r['server_ms'], '.2f'):>8}{fmt(r['query_p50']):>8}{fmt(r['profile_query_ms']):>8}"
                f"{fmt(overhead, '.2f'):>8}{flat['p50']:>8.3f}{flat['p99']:>8.3f}{ratio:>7.3f}   {note}")
            n = r["name"]
            measures.append({"name": f"page_{n}_p50_ms", "unit": "ms", "value": page["p50"], "peer": flat["p50"],
                             "ratio": round(ratio, 4), "peer_name": f"nginx static file of {r['bytes']} bytes",
                             "label": r["label"], "path": r["path"], "bytes": r["bytes"], "rounds": ROUNDS,
                             "worst_round_over_best": round(r["spread"], 3), "other_cpu_percent": round(busy, 1)})
            measures.append({"name": f"page_{n}_p99_ms", "unit": "ms", "value": page["p99"], "peer": flat["p99"],
                             "ratio": round(flat["p99"] / page["p99"], 4) if page["p99"] else None})
            measures.append({"name": f"page_{n}_requests_per_second", "unit": "req/s", "value": round(page["rps"]),
                             "peer": round(flat["rps"]), "ratio": round(page["rps"] / flat["rps"], 4) if flat["rps"] else None})
            measures.append({"name": f"page_{n}_query_ms", "unit": "ms",
                             "value": None if r["query_p50"] is None else round(r["query_p50"], 4),
                             "peer": None, "ratio": None,
                             "label": ("voxbench " + "+".join(f"query_{x}_p50" for x in r["letters"])) if r["letters"] else
                             "no voxbench case",
                             "profile_estimate_ms": None if r["profile_query_ms"] is None else round(r["profile_query_ms"], 4)})
            if r["server_ms"] is not None:
                measures.append({"name": f"page_{n}_worker_mean_ms", "unit": "ms", "value": round(r["server_ms"], 4),
                                 "peer": None, "ratio": None, "label": "App.handle, from the worker's own histogram"})
        log("worker = mean time in App.handle per request (the worker's request-duration histogram); query p50 = voxbench's "
            "in-process time of the page's queries (bench-data/ours.json, its own 1.1M-call data set; 7 days = page + count); "
            "query (perf) = the share of App.handle's samples in CallQueries/StatisticsQueries.report × worker mean; "
            "page − query uses voxbench's figure, else the perf one; ratio = static p50 / page p50; "
            f"±: worst round's p50 over the best's (best of {ROUNDS} rounds of {DURATION} s shown)")

        for name, reports in profiles.items():
            analysis = reports["analysis"]
            log(f"\nprofile: {name} (perf -g -F 999, {PROFILE_SECONDS} s of the worker under wrk; reports in {work})")
            log(f"  where the worker's time goes ({analysis['samples']} samples; each to the innermost frame of a kind; "
                "adds up to 100%):")
            for label, share in sorted(analysis["shares"].items(), key=lambda kv: -kv[1]):
                if share >= 0.5:
                    log(f"    {label:<66}{share:6.1f}%")
            if analysis["leftovers"]:
                log("      unattributed, by leaf: " + "; ".join(f"{sym[:50]} {p:.1f}%" for p, sym in analysis["leftovers"][:4]))
            log("  inclusive (on the stack):")
            for label, share in analysis["inclusive"].items():
                if share >= 0.5:
                    log(f"    {label:<66}{share:6.1f}%")
            log(f"  data queries {analysis['data_fraction']:.1%} of App.handle, other reads {analysis['reads_fraction']:.1%}")
            log("  top functions (self):")
            for self_pct, _c, dso, sym in top_lines(reports["flat"], False, 8):
                log(f"    {self_pct:6.2f}%  {dso:<22} {sym[:110]}")
            measures.append({"name": f"page_{name}_profile", "unit": "%", "value": None, "peer": None, "ratio": None,
                             "samples": analysis["samples"], "where": {k: round(v, 1) for k, v in analysis["shares"].items()},
                             "inclusive": {k.strip(): round(v, 1) for k, v in analysis["inclusive"].items()},
                             "data_query_fraction": round(analysis["data_fraction"], 4),
                             "other_reads_fraction": round(analysis["reads_fraction"], 4),
                             "top": [{"self": p, "dso": d, "symbol": sym[:200]} for p, _c, d, sym in top_lines(reports["flat"], False, 12)]})

        elapsed = time.monotonic() - began
        log(f"\npages bench took {elapsed:.0f} s: " + (f"seeding {seeded:.0f} s, " if seeded else "cached data, ")
            + (f"voxbench {voxbench_s:.0f} s, " if voxbench_s else "")
            + f"measuring {measuring:.0f} s ({ROUNDS} rounds), profiling {profiling:.0f} s")
        if DISTURBED:
            seen = {}
            for what, reason in DISTURBED:
                seen.setdefault(what, reason)
            log(f"{len(seen)} measurements ran while other work did (their figures are not clean): "
                + "; ".join(f"{w} ({r[:60]})" for w, r in seen.items()))
        results.merge(results_path, "page_", measures)
    finally:
        if peer:
            peer.send_signal(3)  # SIGQUIT: graceful
            try:
                peer.wait(timeout=10)
            except subprocess.TimeoutExpired:
                peer.kill()
        s.stop()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
