"""Machinery of the hostile-input suite (test_hostile.py): the route table from the binary, a
crawler that finds ids and parameter names in the real pages, the hostile values, and a
sender that checks every answer and that the worker is still the same process.

Nothing here knows the URL space by heart: routes come from `voxfcgi routes`, parameter
names from the pages' forms and links. What is written down here is only what "valid" means
for a field when another field is the hostile one (a real account id, a real API key), so
that the handler gets past its first check and the hostile value reaches the code behind it.
"""

import hashlib
import hmac
import json
import os
import re
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, quote_from_bytes, urlsplit

import requests

from stack import wait_for

# HOSTILE_TRACE=<file>: one JSON line per request sent (route, parameter, value, status, time).
TRACE = os.environ.get("HOSTILE_TRACE")

U64_MAX = 2**64 - 1
I64_MAX = 2**63 - 1
I64_MIN = -(2**63)


def b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    if n == 0:
        return "0"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out


def pct(value) -> str:
    """Percent-encodes text (as UTF-8) or bytes, every reserved character included."""
    data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(value)
    return quote_from_bytes(data, safe="")


# ---------------------------------------------------------------------------------------------
# Routes: from the binary.

@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    access: str

    @property
    def segments(self):
        return self.pattern.strip("/").split("/") if self.pattern != "/" else []

    @property
    def path_params(self):
        return [s[1:] for s in self.segments if s.startswith(":")]

    def path(self, values: dict) -> str:
        """The path with each `:name` replaced by `values[name]` (already encoded)."""
        if not self.segments:
            return "/"
        return "/" + "/".join(values[s[1:]] if s.startswith(":") else s for s in self.segments)

    def match(self, method, path):
        if method != self.method:
            return None
        parts = path.strip("/").split("/") if path != "/" else []
        if len(parts) != len(self.segments):
            return None
        found = {}
        for want, got in zip(self.segments, parts):
            if want.startswith(":"):
                if not got:
                    return None
                found[want[1:]] = got
            elif want != got:
                return None
        return found

    def __str__(self):
        return f"{self.method} {self.pattern}"


def load_routes(binary) -> list:
    out = subprocess.run([binary, "routes"], capture_output=True, text=True, timeout=30, check=True).stdout
    routes = [Route(r["method"], r["pattern"], r["access"]) for r in map(json.loads, out.splitlines()) if r]
    assert routes, "`voxfcgi routes` listed nothing"
    return routes


def route_for(routes, method, path):
    """The route a path belongs to, a literal segment beating a parameter (as the router does)."""
    best = None
    for route in routes:
        found = route.match(method, path)
        if found is not None:
            literals = sum(1 for s in route.segments if not s.startswith(":"))
            if best is None or literals > best[2]:
                best = (route, found, literals)
    return (best[0], best[1]) if best else (None, None)


# ---------------------------------------------------------------------------------------------
# Pages: forms and links, with html.parser.

@dataclass
class Form:
    action: str
    method: str
    fields: dict = field(default_factory=dict)   # name -> [candidate values, in page order]
    kinds: dict = field(default_factory=dict)    # name -> input type / select / textarea


class PageParser(HTMLParser):
    LINK_ATTRIBUTES = ("href", "src", "data-url", "data-recording")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.forms = [], []
        self.csrf = None
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in self.LINK_ATTRIBUTES:
            if a.get(name):
                self.links.append(a[name])
        if a.get("data-csrf"):
            self.csrf = self.csrf or a["data-csrf"]
        if tag == "form":
            self._form = Form(action=a.get("action") or "", method=(a.get("method") or "get").upper())
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            self._form.kinds.setdefault(name, kind)
            self._form.fields.setdefault(name, [])
            if a.get("value") is not None:
                self._form.fields[name].append(a["value"])
            if name == "_csrf" and a.get("value"):
                self.csrf = self.csrf or a["value"]
        elif tag == "button" and a.get("formaction"):
            # A second submit button posting the same fields elsewhere (Test connection).
            extra = Form(action=a["formaction"], method=self._form.method, fields=self._form.fields, kinds=self._form.kinds)
            self.forms.append(extra)
        elif tag == "select" and name:
            self._select = name
            self._form.kinds.setdefault(name, "select")
            self._form.fields.setdefault(name, [])
        elif tag == "option" and self._select is not None:
            self._form.fields[self._select].append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._form.kinds.setdefault(name, "textarea")
            self._form.fields.setdefault(name, [])

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def parse_page(html):
    parser = PageParser()
    parser.feed(html)
    return parser


@dataclass
class Discovery:
    """What the crawl found: for each route, the ids that exist for its path parameters, and
    the parameter names (with the values the pages used) of its query or form."""
    routes: list
    ids: dict = field(default_factory=dict)        # (route, path param) -> [existing values]
    params: dict = field(default_factory=dict)     # route -> {name: [values seen]}
    kinds: dict = field(default_factory=dict)      # route -> {name: input type}
    pages: dict = field(default_factory=dict)      # url -> status, for the report
    csrf: str = None

    def note_path(self, route, found):
        for name, value in found.items():
            values = self.ids.setdefault((route, name), [])
            if value not in values:
                values.append(value)

    def note_param(self, route, name, value, kind=None):
        values = self.params.setdefault(route, {}).setdefault(name, [])
        if value is not None and value not in values and len(values) < 12:
            values.append(value)
        if kind:
            self.kinds.setdefault(route, {}).setdefault(name, kind)


def crawl(base_url, client, routes, discovery=None, max_pages=60, per_pattern=3, count=None):
    """Breadth-first over the GET pages reachable from the route table (parameter-less ones
    first), following the links whose path is a GET route. Every link, form and redirect feeds
    the discovery; `count` is called once per request sent."""
    discovery = discovery or Discovery(routes)
    queue = [r.pattern for r in routes if r.method == "GET" and not r.path_params and r.access != "webhook"]
    seen, fetched_per_route, submitted = set(queue), {}, set()

    def note_url(url, method="GET", kind=None):
        parts = urlsplit(url)
        if parts.netloc and parts.netloc != urlsplit(base_url).netloc:
            return None
        route, found = route_for(routes, method, parts.path or "/")
        if route is None:
            # A button's data-url that scripts POST to (Copy code): its ids count too.
            route, found = route_for(routes, "POST", parts.path or "/")
            if route is not None:
                discovery.note_path(route, found)
            return None
        discovery.note_path(route, found)
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            discovery.note_param(route, name, value, kind)
        return route

    pages = 0
    while queue and pages < max_pages:
        url = queue.pop(0)
        route = note_url(url)
        if route is not None:
            fetched_per_route[route] = fetched_per_route.get(route, 0) + 1
        response = client.get(base_url + url, allow_redirects=False, timeout=30)
        pages += 1
        if count:
            count()
        discovery.pages[url] = response.status_code
        location = response.headers.get("Location")
        if location:
            note_url(location)
            target = urlsplit(location)
            if target.path and not target.netloc and location not in seen:
                seen.add(location)
                queue.append(location)
        if "html" not in response.headers.get("Content-Type", ""):
            continue
        page = parse_page(response.text)
        discovery.csrf = discovery.csrf or page.csrf
        for form in page.forms:
            action = form.action or urlsplit(url).path
            form_route, found = route_for(routes, form.method, urlsplit(action).path)
            if form_route is None:
                continue
            discovery.note_path(form_route, found)
            for name, values in form.fields.items():
                discovery.note_param(form_route, name, None, form.kinds.get(name))
                for value in values:
                    discovery.note_param(form_route, name, value)
            if form.method == "GET" and form_route not in submitted:
                # Submitted once, as a person would: the page it leads to has links of its own
                # (Call History's export link carries the filter).
                submitted.add(form_route)
                def sample(name, values):
                    given = next((v for v in values if v), "")
                    kind = form.kinds.get(name)
                    if not given and kind == "date":
                        return time.strftime("%Y-%m-%d")   # what a date picker sends
                    return given or ("4567" if kind in ("search", "text", "tel") else "")
                query = "&".join(f"{quote(name)}={quote(sample(name, values))}" for name, values in form.fields.items())
                target = urlsplit(action).path + "?" + query
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
        for link in page.links:
            link_route = note_url(link)
            if link_route is None or link_route.method != "GET" or link in seen:
                continue
            if fetched_per_route.get(link_route, 0) + sum(1 for q in queue if note_url_route(routes, q) == link_route) >= per_pattern:
                continue
            seen.add(link)
            queue.append(link)
    return discovery


def note_url_route(routes, url):
    return route_for(routes, "GET", urlsplit(url).path or "/")[0]


# ---------------------------------------------------------------------------------------------
# Hostile values for URLs and form bodies: (label, encoded text). The text is put into a query
# string, a path segment or a form body as it is, so "%ff%fe" arrives as those two bytes.

def _cursor(a, b):
    return f"{b36(a)}-{b36(b)}"


NUMBERS = [
    ("zero", "0"), ("minus_zero", "-0"), ("minus_one", "-1"), ("plus_one", "%2B1"), ("leading_zeros", "0" * 30 + "1"),
    ("u32_max", "4294967295"), ("u32_max+1", "4294967296"), ("i32_max+1", "2147483648"), ("i32_min-1", "-2147483649"),
    ("i64_max", str(I64_MAX)), ("i64_max+1", str(I64_MAX + 1)), ("i64_min", str(I64_MIN)), ("i64_min-1", str(I64_MIN - 1)),
    ("u64_max", str(U64_MAX)), ("u64_max+1", str(U64_MAX + 1)), ("u64_max_negative", "-" + str(U64_MAX)),
    ("digits_40", "9" * 40), ("digits_1000", "7" * 1000), ("float", "1.5"), ("float_exp", "1e308"), ("float_overflow", "1e309"),
    ("float_negative_huge", "-1e308"), ("float_tiny", "5e-324"), ("NaN", "NaN"), ("nan", "nan"), ("Infinity", "Infinity"),
    ("minus_inf", "-inf"), ("hex", "0x10"), ("octal_like", "0777"), ("padded", "%201%20"), ("tab_padded", "%091"),
    ("unicode_digits", pct("١٢٣")), ("fullwidth_digits", pct("１２３")), ("comma_number", "1%2C000"),
]

CURSORS = [
    ("b36_u64_max", b36(U64_MAX)),
    ("cursor_u64_max_twice", _cursor(U64_MAX, U64_MAX)),          # 3w5e11264sgsf-3w5e11264sgsf
    ("cursor_u64_max_start", _cursor(U64_MAX, 1)),
    ("cursor_u64_max_id", _cursor(1, U64_MAX)),
    ("cursor_i64_max", _cursor(I64_MAX, I64_MAX)),
    ("cursor_i64_max+1", _cursor(I64_MAX + 1, I64_MAX + 1)),
    ("cursor_u64_max-1", _cursor(U64_MAX - 1, U64_MAX - 1)),
    ("cursor_overflow", _cursor(U64_MAX + 1, 1)),
    ("cursor_zero", "0-0"), ("cursor_negative", "-1-1"), ("cursor_upper", _cursor(U64_MAX, U64_MAX).upper()),
    ("cursor_three_parts", "1-2-3"), ("cursor_dash", "-"), ("cursor_dashes", "--"), ("cursor_plus", "%2B1-%2B1"),
    ("cursor_year_9999", _cursor(253402300799_000_000, 1)), ("cursor_max_date_micros", _cursor(8_640_000_000_000_000_000, 1)),
]

DATES = [
    ("date_feb_30", "2026-02-30"), ("date_year_0", "0000-01-01"), ("date_year_1", "0001-01-01"), ("date_year_9999", "9999-12-31"),
    ("date_year_99999", "99999-01-01"), ("date_negative_year", "-0001-01-01"), ("date_huge_year", str(U64_MAX) + "-01-01"),
    ("date_i64_year", str(I64_MAX) + "-12-31"), ("date_month_13", "2026-13-01"), ("date_epoch", "1970-01-01"),
    ("date_iso_time", "2026-01-01T00%3A00%3A00Z"), ("date_short", "2026-1-1"), ("date_slashes", "01%2F02%2F2026"),
    ("date_zero_day", "2026-01-00"), ("date_leap", "2028-02-29"),
]

TEXT = [
    ("empty", ""), ("space", "%20"), ("non_utf8", "%ff%fe"), ("overlong_slash", "%c0%af"), ("lone_surrogate", "%ed%a0%80"),
    ("truncated_utf8", "%e2%82"), ("bad_escape", "%zz"), ("trailing_percent", "100%"), ("nul", "a%00b"), ("nul_only", "%00"),
    ("crlf", "a%0d%0aX-Injected%3A%201"), ("rtl", pct("\u202e\u2067evil\u202c")), ("emoji", pct("😀👩‍👩‍👧🏳️‍🌈")),
    ("zero_width", pct("\u200b\ufeff\u2060")), ("combining", pct("e" + "\u0301" * 300)), ("bom", pct("\ufeff1")),
    ("html", pct("<script>alert(1)</script>\"'><img src=x>")), ("mustache", pct("{{csrf}}{{{layout}}}{{> x}}")),
    ("traversal", pct("../../../../etc/passwd")), ("slash_encoded", "1%2F..%2F2"), ("backslash", pct("..\\..\\x")),
    ("sql", pct("' OR 1=1 --")), ("format", pct("%n%s%x%@")), ("phone", pct("+7 (999) 123-45-67")), ("plus", "%2B"),
    ("url", pct("https://evil.example/")), ("double_slash", pct("//evil.example")), ("tab_slash", "%2F%09%2Fevil.example"),
    ("newline_slash", "%2F%0a%2Fevil.example"), ("long_7k", "A" * 7000), ("long_digits_7k", "8" * 7000),
    ("long_unicode", pct("я" * 2000)), ("control_chars", "".join(f"%{i:02x}" for i in range(1, 32))),
]

LONG = [("long_100k", "B" * 100_000), ("long_digits_100k", "9" * 100_000), ("long_emoji_100k", pct("😀" * 6000))]

VALUES = TEXT[:1] + NUMBERS + CURSORS + DATES + TEXT[1:]
# Sent to every parameter even where the budget is small (first: the redirect tricks, for
# /login?next=, where nginx lets only the first few a minute through).
ESSENTIAL = ["tab_slash", "double_slash", "empty", "zero", "minus_one", "u64_max", "u64_max+1", "i64_max", "i64_min-1",
             "digits_40", "float_exp", "NaN", "cursor_u64_max_twice", "date_huge_year", "non_utf8", "overlong_slash", "nul",
             "crlf", "rtl", "emoji", "long_7k", "html"]
BY_LABEL = dict(VALUES + LONG)


def derived_values(examples):
    """Values made from what the pages themselves put in a parameter: a real cursor with one
    half at the limits, a real id plus one, and so on."""
    out = []
    for value in examples[:2]:
        m = re.fullmatch(r"([0-9a-z]+)-([0-9a-z]+)", value)
        if m:
            start, ident = int(m.group(1), 36), int(m.group(2), 36)
            out += [(f"real_cursor_id_max({value})", _cursor(start, U64_MAX)),
                    (f"real_cursor_start_max({value})", _cursor(U64_MAX, ident)),
                    (f"real_cursor_start+1({value})", _cursor(start + 1, ident)),
                    (f"real_cursor_id-1({value})", _cursor(start, max(ident - 1, 0)))]
        elif value.isdigit():
            out += [(f"real+1({value})", str(int(value) + 1)), (f"real_times_1e12({value})", value + "0" * 12),
                    (f"real_negative({value})", "-" + value)]
        elif value:
            out += [(f"real_doubled({value[:20]})", pct(value * 2)), (f"real_with_nul({value[:20]})", pct(value) + "%00")]
    return out


# ---------------------------------------------------------------------------------------------
# Sending, checking, reporting.

class WorkerCrashed(AssertionError):
    pass


SIGNED_IN = "<the cookie of a signed-in session>"


@dataclass
class Failure:
    kind: str          # crash, 5xx, no answer, empty 4xx, bad redirect, ...
    route: str
    where: str         # the parameter (or "body", "header") that carried the value
    label: str
    method: str
    url: str
    body: bytes
    headers: dict
    status: object
    detail: str = ""
    log: str = ""
    same_as: object = None   # what makes two failures the same one, when not the request
    body_file: object = None  # where a long body was saved

    def key(self):
        return self.same_as or (self.kind, self.route, self.where, self.label)

    def needs_body_file(self):
        """A body curl cannot be given on the command line as it is: long, or not plain text."""
        if not self.body:
            return False
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            return True
        return len(self.body) > 1500 or any(ord(c) < 0x20 and c not in "\t\n" for c in text)

    def reproduction(self, base_url):
        parts = ["curl -sS -X", self.method, shlex.quote(base_url + self.url)]
        for name, value in self.headers.items():
            if isinstance(value, bytes):
                value = value.decode("utf-8", "backslashreplace")
            parts.append("-H " + (f"'{name}: {value}'" if value == SIGNED_IN else shlex.quote(f"{name}: {value}")))
        if self.body_file:
            parts.append(f"--data-binary @{self.body_file}  # {len(self.body)} bytes: "
                         + repr(self.body[:100].decode("utf-8", "backslashreplace")) + "…")
        elif self.body:
            parts.append("--data-binary " + shlex.quote(self.body.decode("utf-8")))
        return " ".join(parts)

    def describe(self, base_url, logs=True):
        lines = [f"[{self.kind}] {self.route}  {self.where} = {self.label}  -> {self.status} {self.detail}".rstrip(),
                 "    " + self.reproduction(base_url)]
        if self.log and logs:
            lines += ["    worker log:"] + ["      " + l for l in self.log.splitlines()[-12:]]
        return "\n".join(lines)


def _tail(text, lines=15):
    return "\n".join(text.splitlines()[-lines:])


def crash_lines(text):
    """What a crash left in the worker's log, short: the runtime's message and the crashed
    thread's first frames in our sources (Swift's backtracer prints every thread)."""
    lines = text.splitlines()
    messages = [l.strip() for l in lines if l.startswith("*** ") and "Backtracing" not in l or "Fatal error" in l]
    crashed = [i for i, l in enumerate(lines) if re.match(r"Thread \d+( \S+)? crashed:", l)]
    if not crashed:
        return None
    frames = []
    for line in lines[crashed[-1] + 1:]:
        if line.startswith("Thread ") or line.strip() == "...":
            break
        where = re.search(r"\d+ (?:\[[^\]]+\] )*\s*0x[0-9a-f]+ (.*) \+ \d+ in \S+ at (\S+)", line)
        if where and "/Sources/" in where.group(2):
            frames.append(f"  {where.group(1)[:110]} at {where.group(2).split('/Sources/')[-1]}")
        if len(frames) == 5:
            break
    start = next((i for i, l in enumerate(lines) if l.startswith("***")), len(lines))
    before = [l for l in lines[:start] if l.strip()][-3:]  # what the worker logged just before
    return "\n".join(before + messages[-2:] + frames)


def _bad_location(location):
    if location is None:
        return None
    if any(ord(c) < 0x20 or ord(c) == 0x7f for c in location):
        return "control character in Location"
    parts = urlsplit(location)
    if parts.scheme or parts.netloc or location.startswith("//") or location.startswith("/\\") or not location.startswith("/"):
        return "Location leaves the site"
    return None


class Prober:
    """Sends requests through nginx and checks each answer: status < 500 (a designed 502 of
    a connection test excepted, see `upstream_test`), a 4xx carries a message, a redirect stays
    on the site, and the worker is the same living process afterwards.

    restart=False (the committed test): a dead worker stops the test with the request that
    killed it. restart=True (HOSTILE_RESTART=1, for exploration): the crash is recorded, the
    worker started again, and the run goes on, so one crash does not hide the next."""

    forged_seen = set()  # forged log lines already reported, by any prober of this run

    def __init__(self, stack, name, restart=False, deadline=None):
        self.stack = stack
        self.name = name
        self.restart = restart
        self.pid = stack.worker.pid
        self.first_pid = self.pid
        self.sent = 0
        self.failures = []
        self.keys = set()
        self.restarts = 0
        self.slow = []
        self.designed_502 = 0
        self.started = time.monotonic()
        self.deadline = deadline
        self.statuses = {}
        self.route_time = {}
        self.log_mark = self._log_size()
        self.log_scanned = self.log_mark
        self.log_in_backtrace = False

    # -- the worker ------------------------------------------------------------------------
    def worker_alive(self, wait=0.0):
        """False once the worker has exited (waiting up to `wait` s for an exit in progress:
        a trapped process may still be writing its core)."""
        end = time.monotonic() + wait
        while True:
            if self.stack.worker.poll() is not None:
                return False
            if time.monotonic() >= end:
                return True
            time.sleep(0.05)

    def check_worker(self, context="after a batch"):
        """Between batches and at the end: the same process, alive, and /healthz answers."""
        alive = self.worker_alive()
        if alive and self.stack.worker.pid == self.pid:
            try:
                health = requests.get(self.stack.base_url + "/healthz", timeout=10)
                self.sent += 1
                if health.status_code == 200:
                    return True
                detail = f"/healthz answered {health.status_code}"
            except requests.RequestException as error:
                detail = f"/healthz: {error}"
            alive = self.worker_alive(wait=3)
            if alive:
                self._record(Failure("healthz", "GET /healthz", "-", context, "GET", "/healthz", b"", {}, "-", detail))
                return False
        failure = Failure("crash (found between requests)", "-", "-", context, "-", "-", b"", {},
                          f"exit {self.stack.worker.returncode}", "the worker died after the last checked request",
                          log=self._log_tail())
        self._crashed(failure)
        return False

    def _log_size(self):
        return self.stack.worker_log.stat().st_size if self.stack.worker_log.exists() else 0

    def _log_since(self, offset, complete_lines=False):
        """The worker's log from a byte offset (it may hold any bytes a hostile value put there),
        and the offset where that text ends."""
        with open(self.stack.worker_log, "rb") as log:
            log.seek(offset)
            data = log.read()
        if complete_lines:
            data = data[:data.rfind(b"\n") + 1]
        return data.decode("utf-8", "backslashreplace"), offset + len(data)

    def scan_log(self, failure=None):
        """Looks at what the worker logged since the last look: forged lines are recorded, with
        the request in flight (`failure`, a Failure to fill in) when there was one."""
        if self._log_size() <= self.log_scanned:
            return
        text, self.log_scanned = self._log_since(self.log_scanned, complete_lines=True)
        found, self.log_in_backtrace = forged_log_lines(text, self.log_in_backtrace)
        for what, line in found:
            # The same line again (a background job retrying) is the same failure.
            same = ("log forging", re.sub(r"^20\d\d-\S+ |attempt=\d+ |duration_ms=[\d.]+ |request_id=\w+ ", "", line))
            if failure is not None:
                found_here = failure("log forging", f"{what}, logged while this request was in flight (or by background "
                                                    f"work it or an earlier one started): {line[:200]!r}", kind_label=what)
            else:
                found_here = Failure("log forging", "worker log", "-", what, "-", "-", b"", {}, "-",
                                     f"logged after the last request: {line[:200]!r}")
            found_here.same_as = same
            if same not in Prober.forged_seen:  # once per run: background jobs retry and log it again later
                Prober.forged_seen.add(same)
                self._record(found_here)

    def _log_tail(self):
        text = self._log_since(self.log_mark)[0]
        return crash_lines(text) or _tail(text, 15)

    def _crashed(self, failure):
        self._record(failure)
        if not self.restart:
            raise WorkerCrashed(self.report())
        self.restarts += 1
        self.log_mark = self._log_size()
        self.stack.start_worker()
        self.pid = self.stack.worker.pid
        wait_for(self._healthy, timeout=20, what="the restarted worker")

    def _healthy(self):
        try:
            return requests.get(self.stack.base_url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def _record(self, failure):
        if failure.key() not in self.keys:
            self.keys.add(failure.key())
            self.failures.append(failure)
            if failure.needs_body_file():
                # The whole body, for curl's --data-binary @file.
                failure.body_file = self.stack.directory / f"hostile-{self.name.replace(' ', '-')}-{len(self.failures)}.body"
                failure.body_file.write_bytes(failure.body)

    # -- requests --------------------------------------------------------------------------
    def out_of_time(self):
        return self.deadline is not None and time.monotonic() > self.deadline

    def send(self, client, method, url, body=None, headers=None, *, route, where, label, upstream_test=False):
        """One request; returns the response (or None when there was none)."""
        headers = dict(headers or {})
        if body is not None and "Content-Type" not in headers:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        response, error = None, None
        try:
            response = client.request(method, self.stack.base_url + url, data=body, headers=headers,
                                      allow_redirects=False, timeout=(5, 40))
        except requests.RequestException as e:
            error = e
        elapsed = time.monotonic() - started
        self.sent += 1
        status = response.status_code if response is not None else None
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if TRACE:
            with open(TRACE, "a") as trace:
                trace.write(json.dumps({"test": self.name, "route": str(route), "where": where, "label": label,
                                        "method": method, "url": url[:300], "status": status,
                                        "ms": round(elapsed * 1000, 1)}) + "\n")
        spent = self.route_time.setdefault(str(route), [0, 0.0])
        spent[0] += 1
        spent[1] += elapsed
        if elapsed > 3:
            self.slow.append((round(elapsed, 1), str(route), where, label))

        shown_headers = dict(headers)
        if "Cookie" not in headers and len(getattr(client, "cookies", {})):
            shown_headers["Cookie"] = SIGNED_IN

        def failure(kind, detail="", log="", kind_label=None):
            return Failure(kind, str(route), where, label if kind_label is None else f"{label} ({kind_label})", method, url,
                           body if isinstance(body, bytes) else (body or "").encode(), shown_headers, status, detail, log)

        # No answer, or nginx's own 5xx page: perhaps the worker is dying (give it time to exit).
        suspicious = response is None or (status >= 500 and "<center>nginx</center>" in response.text)
        if not self.worker_alive(wait=3 if suspicious else 0):
            self._crashed(failure("crash", f"worker exited with {self.stack.worker.returncode}", self._log_tail()))
            return response
        if self.stack.worker.pid != self.pid:
            self._crashed(failure("crash", "the worker's pid changed", self._log_tail()))
            return response
        if response is None:
            self._record(failure("no answer", repr(error)[:200]))
            return None
        if status >= 500:
            from_worker = "<center>nginx</center>" not in response.text
            said_why = 'class="notice n-error"' in response.text or 'class="alert' in response.text
            if upstream_test and status in (502, 504) and from_worker and said_why:
                self.designed_502 += 1   # "Test connection" saying why the upstream refused: designed
            else:
                detail = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.text))[:160]
                self._record(failure("5xx", detail, self._log_tail() if not from_worker else ""))
        elif 400 <= status < 500 and not response.content.strip():
            self._record(failure("4xx without a message"))
        bad = _bad_location(response.headers.get("Location")) if 300 <= status < 400 else None
        if bad:
            self._record(failure("bad redirect", f"{bad}: {response.headers.get('Location')!r}"))
        self.scan_log(failure)
        return response

    # -- the end ---------------------------------------------------------------------------
    def check_log(self):
        """The rest of the worker's log: no forged lines (see forged_log_lines)."""
        self.scan_log()

    def elapsed(self):
        return time.monotonic() - self.started

    def summary(self):
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)))
        line = (f"hostile {self.name}: {self.sent} requests in {self.elapsed():.1f} s; {len(self.failures)} distinct failures"
                f"{f', {self.restarts} worker restarts' if self.restarts else ''}"
                f"{f', {self.designed_502} designed 502s of connection tests' if self.designed_502 else ''}; statuses {{{statuses}}}")
        busiest = sorted(self.route_time.items(), key=lambda kv: -kv[1][1])[:5]
        line += "\n  most time: " + ", ".join(f"{r} {n} in {t:.1f} s" for r, (n, t) in busiest)
        if self.slow:
            line += f"\n  slow answers (> 3 s): {sorted(self.slow, reverse=True)[:8]}"
        return line

    def report(self, logs=True):
        text = [self.summary()]
        text += [f.describe(self.stack.base_url, logs) for f in self.failures]
        return "\n".join(text)


def forged_log_lines(text, in_backtrace=False):
    """Lines of the worker's log (complete lines: `text` ends with a newline) that a hostile
    value made: every line the worker writes starts with its timestamp, so one that does not
    was started by a CR/LF inside a logged value (a forged entry); control characters (ESC…)
    reach whoever reads the log in a terminal. A crash's backtrace, which Swift's runtime
    prints as it is, is skipped. Returns the findings and whether a backtrace is still open."""
    found = []
    for line in text.split("\n")[:-1]:
        if line.startswith("*** Signal") or line.startswith("💣"):
            in_backtrace = True
        if in_backtrace:
            in_backtrace = not line.startswith("Backtrace took")
            continue
        if not line.strip() or re.match(r"\S+\.swift:\d+: Fatal error", line):
            continue  # a crash's own lines (the crash is the failure); a forged entry has text
        if not re.match(r"20\d\d-\d\d-\d\dT", line):
            found.append(("a line of its own", line))
        elif re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line):
            found.append(("control characters", line))
    return found, in_backtrace


class Canary:
    """An HTTP server on loopback that the worker must never reach: it is in no allow-list,
    so any request it receives went around the worker's outbound policy (SSRF)."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append((self.command, self.path, self.headers.get("Host")))
                self.send_response(200)
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"RIFF")

            do_POST = do_HEAD = do_PUT = do_GET

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                hits.append(("connection", client_address))  # reaching it at all is enough
                return True

            def handle_error(self, request, client_address):
                pass  # a client that hangs up (a worker killed mid-download) is no news here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------------------------
# Bodies.

def form_body(pairs):
    """A urlencoded body from (name, encoded value) pairs: the values are sent as they are."""
    return "&".join(f"{pct(name) if not name.startswith('%raw:') else name[5:]}={value}" for name, value in pairs).encode()


def sign_voximplant(secret, body, timestamp=None):
    ts = str(int(timestamp if timestamp is not None else time.time()))
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Vox-Timestamp": ts, "X-Vox-Signature": "v1=" + mac}


def sign_elevenlabs(secret, body, timestamp=None):
    ts = str(int(timestamp if timestamp is not None else time.time()))
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "ElevenLabs-Signature": f"t={ts},v0={mac}"}


def json_object(pairs):
    """A JSON object from (key, raw JSON text) pairs, written out by hand so that numbers such
    as 1e300 or 18446744073709551616 and duplicate keys go out exactly as written."""
    parts = [json.dumps(k).encode() + b":" + (v if isinstance(v, bytes) else v.encode()) for k, v in pairs]
    return b"{" + b",".join(parts) + b"}"


# Raw JSON tokens for numeric fields.
JSON_NUMBERS = [
    ("zero", "0"), ("minus_one", "-1"), ("minus_zero", "-0"), ("float", "1.5"), ("float_exp", "1e300"), ("float_overflow", "1e309"),
    ("minus_huge", "-1e300"), ("tiny", "5e-324"), ("i64_max", str(I64_MAX)), ("i64_max+1", str(I64_MAX + 1)),
    ("i64_min", str(I64_MIN)), ("i64_min-1", str(I64_MIN - 1)), ("u64_max", str(U64_MAX)), ("u64_max+1", str(U64_MAX + 1)),
    ("u64_max_float", "1.8446744073709552e19"), ("i64_max_float", "9.223372036854775807e18"), ("digits_40", "9" * 40),
    ("digits_400", "1" * 400), ("exp_integer", "1E2"), ("str_nan", '"nan"'), ("str_NaN", '"NaN"'), ("str_inf", '"Infinity"'),
    ("str_u64_max", f'"{U64_MAX}"'), ("str_u64_max+1", f'"{U64_MAX + 1}"'), ("str_i64_max", f'"{I64_MAX}"'),
    ("str_negative", '"-1"'), ("str_float", '"1.5"'), ("str_digits_40", '"' + "9" * 40 + '"'), ("str_empty", '""'),
    ("str_padded", '" 1 "'), ("str_exp", '"1e300"'), ("token_NaN", "NaN"), ("token_Infinity", "Infinity"), ("null", "null"),
    ("true", "true"), ("array", "[1]"), ("object", '{"a":1}'), ("leading_zero", "01"), ("plus", "+1"), ("hex", "0x10"),
    ("ms_year_2000", "946684800000"), ("ms_year_2200", "7258118400000"), ("ms_year_10000", "253402300800000"),
    ("secs_year_10000", "253402300800"), ("deep_array", "[" * 5000 + "]" * 5000), ("deep_object", '{"a":' * 3000 + "1" + "}" * 3000),
]

JSON_STRINGS = [
    ("empty", '""'), ("huge_60k", json.dumps("x" * 60_000)), ("unicode", json.dumps("\u202e😀\u200b\ufeffя", ensure_ascii=False)),
    ("escaped_nul", '"a\\u0000b"'), ("lone_surrogate", '"\\ud800"'), ("reversed_surrogates", '"\\udc00\\ud800"'),
    ("raw_non_utf8", b'"\xff\xfe"'), ("crlf", '"a\\r\\nb"'), ("html", json.dumps("<script>alert(1)</script>")),
    ("digits_only", json.dumps("9" * 40)), ("number", "12345"), ("null", "null"), ("array", '["a"]'), ("object", '{"a":"b"}'),
    ("bad_escape", '"\\x41"'), ("unterminated", '"abc'), ("control_char", '"a\x01b"'),
]
