"""Hostile input against the real stack (nginx + worker), issue 12 section 1.

Routes come from `voxfcgi routes`; parameter names from the forms and links of the pages a
signed-in admin (and an operator) can reach, after setting up data the way a person would
(an account, a key and an application through the pages, demo calls, a parked job). Every
parameter of every route then gets boundary values (query, path segment, form field, with a
valid CSRF token so that the handler itself is reached), and the two webhooks get signed
events with out-of-range numbers. Each answer must be < 500 (a 4xx with a message), and the
worker must stay the same process throughout.

HOSTILE_RESTART=1 restarts a crashed worker and carries on, to list every failure in one
run; without it (make test) the first crash ends its test, with the request that caused it.
A test that starts after an earlier one crashed the worker starts a new one: each test
asserts that its worker's pid never changes.

The requests are deterministic (fixed value lists, hypothesis with derandomize=True), and
each test prints how many it sent and how long it took.
"""

import csv
import hashlib
import hmac
import html
import http.cookiejar
import io
import json
import os
import re
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import pytest
import requests

from conftest import ADMIN
from fakes import EL_API_KEY, VOX_ACCOUNT_ID, VOX_API_KEY, Fakes, application_secrets, create_application
from hostile import (BY_LABEL, CURSORS, ESSENTIAL, JSON_NUMBERS, JSON_STRINGS, LONG, NUMBERS, U64_MAX, VALUES, Canary,
                     Failure, Prober, WorkerCrashed, crawl, derived_values, form_body, json_object, load_routes, pct,
                     sign_elevenlabs, sign_voximplant)
from stack import BIN, Stack, csrf_from, wait_for

pytestmark = pytest.mark.timeout(300)

OPERATOR = ("operator@example.com", "e2e operator password 1")
RESTART = os.environ.get("HOSTILE_RESTART") == "1"
EL_WEBHOOK_SECRET = "whsec_hostile_0123456789abcdef0123456789abcdef"  # 32+ characters
BATCH = 100  # requests between checks of the worker (pid, alive, /healthz)
FILE_SECONDS = 170  # the whole file, setup included; each test also has its own budget


# ---------------------------------------------------------------------------------------------
# The ElevenLabs webhook's address and secret, in one place.

def elevenlabs_webhook(stack, session):
    """Where ElevenLabs posts its post-call webhooks for the application's key, and the secret
    it signs them with (the one saved with that key on the Setup page). Returns (path, secret).

    Per-key URLs (the Setup page shows each key's URL and a form to save its secret): the
    first key's, which create_application's application uses. Before that change: one URL for
    the whole server, checked against the secret saved with any key, added here with a key.
    This is the one place that knows either."""
    page = session.get(stack.base_url + "/setup", timeout=30)
    token = csrf_from(page.text)
    per_key = re.search(r'data-key-id="(\d+)" data-webhook-url="([^"]+)"', page.text)
    if per_key:
        key_id, url = per_key.groups()
        saved = session.post(f"{stack.base_url}/setup/elevenlabs/{key_id}/webhook", timeout=30,
                             data={"_csrf": token, "webhook_secret": EL_WEBHOOK_SECRET})
        assert saved.status_code == 200 and "saved" in saved.text, saved.text[:500]
        return urlsplit(url).path, EL_WEBHOOK_SECRET
    added = session.post(stack.base_url + "/setup/elevenlabs", timeout=30, allow_redirects=False, data={
        "_csrf": token, "name": "Webhooks", "api_key": EL_API_KEY, "webhook_secret": EL_WEBHOOK_SECRET})
    assert added.status_code == 303, added.text[:500]
    return "/api/webhook/elevenlabs", EL_WEBHOOK_SECRET


# ---------------------------------------------------------------------------------------------
# The world: fakes, the stack, data, and what the crawl found.

@dataclass
class World:
    stack: Stack
    fakes: Fakes
    routes: list
    admin: requests.Session
    operator: requests.Session
    anonymous: requests.Session
    leaving: requests.Session  # signed in as the operator, for POST /logout
    login_csrf: str            # the login form's token for `anonymous`
    app_id: int
    secret: str
    el_path: str
    el_secret: str
    found: object          # Discovery (admin)
    found_operator: object
    setup_requests: int
    canary: Canary
    deadline: float        # for the whole file: it stays within a few minutes
    probes: list


def application_secret(stack, session, app_id):
    """The application's webhook secret, as its page's "Copy secrets" button gets it."""
    return application_secrets(stack, session, app_id)["VOXFCGI_WEBHOOK_SECRET"]


def post_event(session, stack, secret, event):
    body = json.dumps(event).encode()
    return session.post(stack.base_url + "/api/webhook/voximplant", data=body, headers=sign_voximplant(secret, body), timeout=30)


@pytest.fixture(scope="module")
def world(tmp_path_factory, request):
    started = time.monotonic()
    fakes = Fakes(sessions=20)
    canary = Canary()
    stack = None
    try:
        stack = Stack(tmp_path_factory.mktemp("hostile"), VOXFCGI_VOXIMPLANT_URL=fakes.voximplant,
                      VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs, VOXFCGI_UPSTREAM_TIMEOUT_SECONDS=5,
                      VOXFCGI_S3_TIMEOUT_SECONDS=5, VOXFCGI_SYNC_MINUTES=600, VOXFCGI_LOG_LEVEL="notice",
                      VOXFCGI_RECORDING_SOURCES=fakes.voximplant)
        stack.run_dir.mkdir(parents=True, exist_ok=True)
        stack.add_user(*ADMIN)
        stack.add_user(*OPERATOR, role="operator")
        stack.cli("seed-demo", "--calls", "300", "--days", "10", "--email", ADMIN[0])
        stack.cli("seed-demo", "--calls", "40", "--days", "10", "--email", OPERATOR[0], "--seed", "7")
        stack.start()
        counter = {"n": 4}  # two sign-ins: a GET and a POST each

        def count(*args, **kwargs):
            counter["n"] += 1

        # The last one is for POST /logout's hostile tokens (one that decodes to the valid token
        # signs it out); signed in now, while nginx's limit on /login has room.
        admin, operator, anonymous, leaving = stack.login(*ADMIN), stack.login(*OPERATOR), requests.Session(), stack.login(*OPERATOR)
        counter["n"] += 2
        for session in (admin, operator, anonymous, leaving):
            session.hooks["response"].append(count)
        app_id, secret = create_application(stack, admin)
        el_path, el_secret = elevenlabs_webhook(stack, admin)

        # A call whose recording is archived (play and download links), and one whose recording is
        # gone at Voximplant, which parks its job (Retry and Discard forms on the Jobs page).
        now = int(time.time() * 1000)
        for session_id, record in ((990_000_001, "/records/1.wav"), (990_000_002, "/records/missing-2.wav")):
            for event in ({"type": "call_started", "application_id": app_id, "session_id": session_id, "sent_at": now - 60_000,
                           "from": "+79991234567", "to": "74951234567"},
                          {"type": "recording_started", "application_id": app_id, "session_id": session_id,
                           "sent_at": now - 59_000, "recording_url": fakes.voximplant + record},
                          {"type": "call_ended", "application_id": app_id, "session_id": session_id, "sent_at": now - 30_000,
                           "duration": 30, "reason": "disconnected"}):
                assert post_event(admin, stack, secret, event).status_code == 200
        try:
            wait_for(lambda: 'href="/recordings/' in admin.get(stack.base_url + "/calls", timeout=30).text
                     and "/retry" in admin.get(stack.base_url + "/jobs", timeout=30).text,
                     timeout=30, what="an archived recording and a parked job")
        except TimeoutError as missing:
            # The crawl then finds no recording or job ids; those routes still get hostile ids.
            print(f"hostile: {missing}")

        routes = load_routes(BIN)
        found = crawl(stack.base_url, admin, routes)
        found_operator = crawl(stack.base_url, operator, routes)
        crawl(stack.base_url, anonymous, routes, discovery=found, max_pages=8)  # /login?next=…
        # The login form's token for the anonymous visitor (its pre-session cookie), fetched now:
        # by the form test, nginx's limit on /login may be spent.
        login_csrf = csrf_from(anonymous.get(stack.base_url + "/login", timeout=30).text)
        probes, setup = [], counter["n"]
        yield World(stack, fakes, routes, admin, operator, anonymous, leaving, login_csrf, app_id, secret, el_path, el_secret,
                    found, found_operator, setup, canary, started + FILE_SECONDS, probes)
        total = (f"hostile: {setup + sum(p.sent for p in probes)} requests in all ({setup} to set up), "
                 f"{time.monotonic() - started:.0f} s for the file")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if capture is not None:
            with capture.global_and_fixture_disabled():  # shown whether or not the last test failed
                print("\n" + total)
    finally:
        if stack is not None:
            stack.stop()
        canary.stop()
        fakes.stop()


def prober(world, name, seconds, capsys):
    """A prober for one test. If an earlier test left the worker dead (it failed for that),
    this test starts with a new worker, whose pid must then not change."""
    if world.stack.worker.poll() is not None:
        world.stack.start_worker()
        wait_for(lambda: _healthy(world.stack), timeout=20, what="a new worker")
    # Exploring (HOSTILE_RESTART=1), every crash costs a restart: no time budget then.
    deadline = None if RESTART else min(time.monotonic() + seconds, world.deadline)
    probe = Prober(world.stack, name, restart=RESTART, deadline=deadline)
    probe.capsys = capsys
    world.probes.append(probe)
    return probe


def _healthy(stack):
    try:
        return requests.get(stack.base_url + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def finish(probe, capsys, expected=None, settle=0.0):
    """The end of a test: (after `settle` s for background work the requests started) the
    worker is the same process and answers, its log has no forged lines, nothing failed, and
    the planned requests were all sent."""
    end = time.monotonic() + settle
    while time.monotonic() < end and probe.worker_alive():
        time.sleep(0.2)
    probe.check_worker("at the end")
    probe.check_log()
    with capsys.disabled():
        print("\n" + probe.summary())
        for failure in probe.failures:
            print(failure.describe(probe.stack.base_url))
    short = probe.report(logs=False)
    assert probe.pid == probe.first_pid and probe.restarts == 0, "the worker crashed\n" + short
    assert not probe.failures, short
    if expected is not None:
        assert probe.sent >= expected, f"sent {probe.sent} requests, planned at least {expected}: {probe.summary()}"


def run_batches(probe, cases):
    """Sends each case (a function that sends a request or a few), checking the worker every
    BATCH requests. Running out of the test's time is a failure: the plan was not done. A
    crash (without HOSTILE_RESTART) ends the test here, after printing what was found."""
    try:
        checked = probe.sent
        for i, case in enumerate(cases):
            if probe.out_of_time():
                probe._record(Failure("out of time", probe.name, "-", f"after {i} of {len(cases)} cases", "-", "-", b"", {}, "-"))
                break
            case()
            if probe.sent - checked >= BATCH:
                probe.check_worker(f"after request {probe.sent}")
                checked = probe.sent
        probe.check_worker("after the last batch")
    except WorkerCrashed:
        with probe.capsys.disabled():
            print("\n" + probe.report())
        raise


# ---------------------------------------------------------------------------------------------
# What to send to the pages.

# Routes that talk to Voximplant, ElevenLabs or S3 for every request: fewer values each.
def expensive(route):
    # Upstream calls, and forms that check a password (scrypt, ~0.1 s each) or hash a new one.
    return route.pattern.endswith(("/test", "/deploy")) or route.pattern in (
        "/applications", "/applications/new", "/setup/elevenlabs", "/profile/password", "/profile/2fa/disable", "/invite/:token")


# Requests that would end the session or remove records the rest of the run needs: their
# hostile CSRF tokens go with a missing id, and their hostile ids never name a real record.
def destructive(route):
    # The Team page's actions end sessions, disable people and set rules that lock admins out
    # until they enrol: hostile ids for them name nobody, and their settings are put back.
    return route.pattern.endswith(("/delete", "/discard")) or route.pattern == "/logout" or route.pattern.startswith("/team/")


def valid_fields(world, route):
    """Valid values for a form's fields, where a form's own default would fail the handler's
    first check: the fields come from the page's form, only their valid values from here."""
    defaults = {name: (values[0] if values else "") for name, values in world.found.params.get(route, {}).items()}
    if route.method == "POST":
        defaults.setdefault("_csrf", "")  # a button posting with scripts (Copy code) has no form, still a token
    known = {
        "name": "Hostile", "account_id": VOX_ACCOUNT_ID, "agent": "agent_support_1", "record": "1",
        "email": "nobody@example.com", "password": "not the password", "next": "/calls",
        "retention_days": "0", "kind": "local", "region": "us-east-1", "bucket": "recordings", "addressing": "path",
        "endpoint": "http://127.0.0.1:9", "access_key_id": "AKIAHOSTILE", "secret": "hostile-secret",
        "webhook_secret": EL_WEBHOOK_SECRET,
    }
    fields = {}
    for name, default in defaults.items():
        if name == "_csrf":
            fields[name] = pct(world.found.csrf)
        elif name == "api_key":
            fields[name] = pct(EL_API_KEY if "elevenlabs" in route.pattern else VOX_API_KEY)
        elif name in known and (not default or world.found.kinds.get(route, {}).get(name) in ("text", "password", "email", "date", "search")):
            fields[name] = pct(known[name])
        else:
            fields[name] = pct(default)
    return fields


def names_a_record(value, existing):
    """Whether an id as sent would be read as one of the existing ids ("+1", "0001")."""
    text = unquote(value).lstrip("+").lstrip("0")
    return text.isdigit() and text in {e.lstrip("0") for e in existing}


def existing_ids(world, route):
    """An existing id for each path parameter: the first one the pages showed, but not the
    application the webhook tests post to (its secret can be rotated)."""
    ids = {}
    for name in route.path_params:
        found = world.found.ids.get((route, name)) or ["1"]
        ids[name] = next((i for i in found if not route.pattern.startswith("/applications/") or i != str(world.app_id)), found[0])
    return ids


def values_for(world, route, name, small=False, token=None):
    """The hostile values for one parameter: all of them, or the essential ones where each
    request is expensive; values made from what the pages put there; for the CSRF token, the
    valid token bent (`token`: the one valid for that request)."""
    labels = [label for label, _ in VALUES]
    chosen = ESSENTIAL if small else labels
    values = [(label, BY_LABEL[label]) for label in chosen]
    values += derived_values(world.found.params.get(route, {}).get(name, []) if name not in ("_csrf",) else [])
    if name == "_csrf":
        token = token or world.found.csrf
        values += [("csrf_truncated", pct(token[:-2])), ("csrf_padded", pct(token + "==")), ("csrf_other_case", pct(token.swapcase())),
                   ("csrf_base64_std", pct(token.replace("-", "+").replace("_", "/")))]
    return values


def hypothesis_cases(world, route, names, build, examples):
    """`examples` requests mixing several parameters at once, drawn by hypothesis from the
    hostile values, integers, floats and arbitrary text (derandomized: the same every run)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    if not names:
        return []
    value = st.one_of(st.sampled_from([v for _, v in VALUES]), st.integers(min_value=-(2**70), max_value=2**70).map(str),
                      st.floats(allow_nan=True, allow_infinity=True).map(repr), st.text(max_size=40).map(pct),
                      st.binary(max_size=24).map(pct))
    drawn = []

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.lists(st.tuples(st.sampled_from(sorted(names)), value), min_size=1, max_size=6))
    def draw(pairs):
        if len(drawn) < examples:
            drawn.append(pairs)

    draw()
    return [lambda pairs=pairs: build(pairs) for pairs in drawn]


# nginx lets /login through 30 times a minute (a burst of 20): its cases are few (the form's;
# GET /login?next= has the essential values), and spread through the others, so that most of
# them reach the worker instead of nginx's 429.
LOGIN_VALUES = {"next": ["tab_slash", "double_slash", "newline_slash", "url", "crlf", "long_7k"], "email": ["empty", "long_7k", "nul", "crlf", "non_utf8", "emoji", "html", "u64_max"],
                "password": ["empty", "long_100k", "nul", "non_utf8", "emoji"], "_csrf": ["empty", "non_utf8", "long_7k"]}


def spread(cases, sparse):
    """`cases` with the `sparse` ones spread evenly through them."""
    if not sparse:
        return cases
    step = max(1, len(cases) // (len(sparse) + 1))
    out = []
    for i, case in enumerate(cases):
        if i and i % step == 0 and sparse:
            out.append(sparse.pop(0))
        out.append(case)
    return out + sparse


# ---------------------------------------------------------------------------------------------
# Access: what the route table says, for each kind of visitor.

def test_access_matches_the_route_table(world, capsys):
    probe = prober(world, "access", 20, capsys)
    anon = requests.Session()
    cases = []
    admin_only_ids = {key: [v for v in values if v not in world.found_operator.ids.get(key, [])]
                      for key, values in world.found.ids.items()}
    for route in world.routes:
        if route.access in ("webhook", "public"):
            continue
        path = route.path(existing_ids(world, route))
        body = form_body([("_csrf", pct(world.found.csrf))]) if route.method == "POST" else None

        def anonymous(route=route, path=path, body=body):
            r = probe.send(anon, route.method, path, body, route=route, where="no session", label="anonymous")
            if r is None:
                return
            to_login = 300 <= r.status_code < 400 and r.headers.get("Location", "").startswith("/login")
            if not (to_login or r.status_code in (401, 403)):
                probe._record(_policy(route, path, r, "anonymous visitor reached a signed-in route"))
        cases.append(anonymous)
        if route.access == "admin":
            def operator(route=route, path=path):
                body = form_body([("_csrf", pct(world.found_operator.csrf))]) if route.method == "POST" else None
                r = probe.send(world.operator, route.method, path, body, route=route, where="operator", label="admin route")
                if r is not None and r.status_code < 400:
                    probe._record(_policy(route, path, r, "operator reached an admin route"))
            cases.append(operator)
        elif route.path_params and not destructive(route):
            # Another tenant's record: the same 404 as a missing one.
            theirs = {name: (admin_only_ids.get((route, name)) or [None])[0] for name in route.path_params}
            if None in theirs.values():
                continue
            other = route.path(theirs)

            def cross(route=route, other=other):
                # Valid fields, so that only whose record it is decides.
                fields = dict(valid_fields(world, route), _csrf=pct(world.found_operator.csrf))
                body = form_body(list(fields.items())) if route.method == "POST" else None
                r = probe.send(world.operator, route.method, other, body, route=route, where="operator", label="admin's record")
                if r is not None and r.status_code != 404:
                    probe._record(_policy(route, other, r, "operator got another tenant's record (expected 404)"))
            cases.append(cross)
    run_batches(probe, cases)
    finish(probe, capsys)


def _policy(route, path, response, what):
    return Failure("access", str(route), "-", what, route.method, path, b"", {}, response.status_code,
                   response.headers.get("Location", ""))


# ---------------------------------------------------------------------------------------------
# Pages: query parameters and path segments.

def test_hostile_queries_and_path_segments(world, capsys):
    probe = prober(world, "queries and paths", 45, capsys)
    everything, login = [], []
    for route in world.routes:
        if route.method != "GET" or route.access == "webhook":
            continue
        cases = login if route.pattern == "/login" else everything
        client = world.admin  # GET /login signed in: the redirect to `next`
        ids = existing_ids(world, route)
        names = sorted(world.found.params.get(route, {}))
        small = expensive(route) or route.pattern == "/login"   # /login: nginx allows 30 a minute
        base = route.path(ids)

        def get(url, where, label, route=route, client=client):
            return probe.send(client, "GET", url, route=route, where=where, label=label)

        for name in names:
            for label, value in values_for(world, route, name, small):
                cases.append(lambda u=f"{base}?{pct(name)}={value}", n=name, l=label, g=get: g(u, n, l))
            if not small:
                first, second = BY_LABEL["u64_max"], BY_LABEL["cursor_u64_max_twice"]
                cases.append(lambda u=f"{base}?{pct(name)}=1&{pct(name)}={first}", n=name, g=get: g(u, n, "repeated"))
                cases.append(lambda u=f"{base}?{pct(name)}={second}&{pct(name)}=", n=name, g=get: g(u, n, "repeated, last empty"))
        for name in route.path_params:
            for label, value in values_for(world, route, name, small):
                cases.append(lambda u=route.path(dict(ids, **{name: value[:7000]})), n=name, l=label, g=get: g(u, ":" + n, l))
        if route.pattern != "/login":
            for label, query in [("unknown parameter", "zz%ff=%ff%fe"), ("no equals", "after"), ("empty name", "=1"),
                                 ("ampersands", "&&&=&"), ("many parameters", "&".join(f"p{i}=1" for i in range(600))),
                                 ("all parameters at the limits", "&".join(f"{pct(n)}={BY_LABEL['u64_max+1']}" for n in names)),
                                 ("long URL (nginx refuses)", "q=" + LONG[0][1])]:
                cases.append(lambda u=f"{base}?{query}", l=label, g=get: g(u, "query", l))
        if names and not small:
            def build(pairs, base=base, get=get):
                query = "&".join(f"{pct(n)}={v[:2000]}" for n, v in pairs)
                return get(f"{base}?{query}", "+".join(n for n, _ in pairs), "hypothesis: " + query[:120])
            cases += hypothesis_cases(world, route, names, build, 25)
    cases = everything
    # Headers the worker reads: the session cookie, the CSRF header, the request id; and Host,
    # which nginx passes on (no redirect may follow it off the site).
    session_cookie = next(iter(world.admin.cookies.keys()))
    bare = requests.Session()
    bare.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))  # keeps no cookie it is sent
    header_values = [(label, unquote(value)) for label, value in VALUES if label in ESSENTIAL or label.startswith("cursor")]
    for label, text in header_values + [("many cookies", "1; " + "; ".join(f"c{i}=v" for i in range(300))),
                                        ("duplicate, valid last", f"x; {session_cookie}=" + world.admin.cookies[session_cookie]),
                                        ("no equals", "x; novalue"), ("quoted", '"abc"')]:
        value = text.encode("utf-8", "surrogateescape")[:6000]
        if b"\r" in value or b"\n" in value or b"\x00" in value:
            continue  # not sendable in a header
        cookie = session_cookie.encode() + b"=" + value
        cases.append(lambda c=cookie, l=label: probe.send(bare, "GET", "/calls", headers={"Cookie": c}, route="GET /calls",
                                                          where="Cookie " + session_cookie, label=l))
        cases.append(lambda v=value, l=label: probe.send(world.admin, "POST", f"/applications/{world.app_id}/code",
                                                         headers={"X-CSRF-Token": v}, route="POST /applications/:id/code",
                                                         where="X-CSRF-Token", label=l))
        cases.append(lambda v=value, l=label: probe.send(world.admin, "GET", "/calls?size=1", headers={"X-Request-Id": v},
                                                         route="GET /calls", where="X-Request-Id", label=l))
        cases.append(lambda v=value, l=label: probe.send(bare, "GET", "/calls", headers={"Host": v.decode("latin-1") or "x"},
                                                         route="GET /calls", where="Host", label=l))
    for host in ("evil.example", "evil.example:80", "127.0.0.1@evil.example", "[::1]"):
        cases.append(lambda h=host: probe.send(bare, "GET", "/", headers={"Host": h}, route="GET /", where="Host", label=h))
    # The operator sees a smaller world through the same parameters.
    for route in world.routes:
        if route.method == "GET" and route.pattern in ("/calls", "/calls/export.csv", "/statistics"):
            for name in sorted(world.found.params.get(route, {})):
                for label in ESSENTIAL:
                    cases.append(lambda r=route, u=f"{route.pattern}?{pct(name)}={BY_LABEL[label]}", n=name, l=label:
                                 probe.send(world.operator, "GET", u, route=r, where=n, label="operator: " + l))
    cases = spread(cases, login)
    run_batches(probe, cases)
    finish(probe, capsys, expected=len(cases))


# ---------------------------------------------------------------------------------------------
# Pages: form fields, with a valid CSRF token.

def restore(world, route):
    """Puts back what fuzzing a form may have changed that later requests depend on."""
    admin, base, csrf = world.admin, world.stack.base_url, world.found.csrf
    if route.pattern == "/setup/accounts/:id":
        for account in world.found.ids.get((route, "id"), [])[:1]:
            admin.post(f"{base}/setup/accounts/{account}", data={"_csrf": csrf, "name": "Acme", "account_id": VOX_ACCOUNT_ID,
                                                                 "api_key": VOX_API_KEY}, timeout=30)
    if route.pattern == "/setup/accounts/:id/active":
        for account in world.found.ids.get((route, "id"), [])[:1]:
            admin.post(f"{base}/setup/accounts/{account}/active", data={"_csrf": csrf, "active": "1"}, timeout=30)
    if route.pattern == "/setup/storage":
        admin.post(f"{base}/setup/storage", data={"_csrf": csrf, "kind": "local", "retention_days": "0"}, timeout=30)
    if route.pattern == "/team/settings":
        admin.post(f"{base}/team/settings", data={"_csrf": csrf}, timeout=30)  # two-factor optional again
    if route.pattern in ("/profile/settings", "/profile/language"):  # the pages here are read in English
        admin.post(f"{base}/profile/settings", data={"_csrf": csrf, "time_zone": "UTC", "language": ""}, timeout=30)


def test_hostile_form_fields(world, capsys):
    # 82 s on a quiet 2-core machine for ~9,700 cases (scrypt on every password form, live
    # upstream listings on new applications): the budget catches a hang, not a slow machine.
    probe = prober(world, "form fields", 150, capsys)
    everything, login, leaving = [], [], []
    posts = [r for r in world.routes if r.method == "POST" and r.access != "webhook"]
    # Last: the forms that add records (each success makes the pages that list them longer).
    # The login form's cases are spread through the others, and logout's (it ends its session)
    # come at the very end.
    posts.sort(key=lambda r: not r.path_params and r.pattern.startswith(("/setup", "/applications")))
    for route in posts:
        cases = login if route.pattern == "/login" else leaving if route.pattern == "/logout" else everything
        client = world.anonymous if route.pattern == "/login" else world.admin
        if route.pattern == "/logout":
            client = world.leaving
        ids = existing_ids(world, route)
        fields = valid_fields(world, route)
        if route.pattern == "/login":
            fields["_csrf"] = pct(world.login_csrf)
        if route.pattern == "/logout":
            fields["_csrf"] = pct(csrf_from(client.get(world.stack.base_url + "/", timeout=30).text))
        if destructive(route):
            # Hostile tokens go to a missing id (a token that decodes to the same bytes is a valid
            # one), and no hostile id may name a real record: what follows needs them.
            ids = {name: "999999999" for name in ids}
        small = expensive(route) or route.pattern == "/login"
        safe = not destructive(route)
        path = route.path(ids)

        def post(pairs, where, label, url=None, headers=None, raw=None, route=route, client=client, path=path):
            body = raw if raw is not None else form_body(pairs)
            return probe.send(client, "POST", url or path, body, headers, route=route, where=where, label=label,
                              upstream_test=route.pattern.endswith(("/test", "/deploy")))

        names = sorted(fields, key=lambda n: (n == "_csrf", n))  # the token last: the rest reaches the handler
        for name in names:
            if not safe and name != "_csrf":
                continue
            values = values_for(world, route, name, small, token=unquote(fields["_csrf"]))
            if route.pattern == "/login":
                values = [(label, value) for label, value in values + LONG if label in LOGIN_VALUES.get(name, ESSENTIAL)]
            if name != "_csrf" and not small:
                values += LONG
            for label, value in values:
                pairs = [(n, value if n == name else v) for n, v in fields.items()]
                cases.append(lambda p=pairs, n=name, l=label, f=post: f(p, n, l))
            if safe and route.pattern != "/login":
                cases.append(lambda p=[(n, v) for n, v in fields.items() if n != name], n=name, f=post: f(p, n, "missing"))
                if not small:
                    cases.append(lambda p=list(fields.items()) + [(name, BY_LABEL["u64_max+1"])], n=name, f=post: f(p, n, "repeated"))
        for name in route.path_params:
            for label, value in values_for(world, route, name, small):
                if destructive(route) and names_a_record(value, world.found.ids.get((route, name), [])):
                    continue
                url = route.path(dict(ids, **{name: value[:7000]}))
                cases.append(lambda u=url, n=name, l=label, p=list(fields.items()), f=post: f(p, ":" + n, l, url=u))
        if safe and route.pattern != "/login":
            valid = list(fields.items())
            structure = [
                ("json body", None, {"Content-Type": "application/json"}, json.dumps({n: "1" for n in names}).encode()),
                ("multipart body", None, {"Content-Type": "multipart/form-data; boundary=x"},
                 b"--x\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n" + world.found.csrf.encode() + b"\r\n--x--\r\n"),
                ("text/plain body", None, {"Content-Type": "text/plain"}, form_body(valid)),
                ("no content type", None, {"Content-Type": ""}, form_body(valid)),
                ("latin-1 charset", None, {"Content-Type": "application/x-www-form-urlencoded; charset=iso-8859-1"},
                 form_body(valid) + b"&name=%e9"),
                ("raw non-UTF-8 bytes", None, None, form_body(valid) + b"&name=\xff\xfe\xc0\xaf"),
                ("unknown field", valid + [("zz\u202e\x00", "%ff")], None, None),
                ("no equals", None, None, form_body(valid) + b"&name"),
                ("ampersands", None, None, b"&&&=&" + form_body(valid)),
                ("many fields (900 KB)", None, None, form_body(valid) + b"&" + b"&".join(b"f%d=1" % i for i in range(120_000))[:900_000]),
                ("over the body limit (nginx 413)", None, None, form_body(valid) + b"&pad=" + b"x" * (1 << 20)),
            ]
            for label, pairs, headers, raw in (structure if not small else structure[:3] + structure[5:7]):
                cases.append(lambda p=pairs, h=headers, r=raw, l=label, f=post: f(p or [], "body", l, headers=h, raw=r))
        if names and safe and not small:
            def build(pairs, fields=fields, post=post):
                merged = dict(fields)
                merged.update({n: v for n, v in pairs})
                return post(list(merged.items()), "+".join(n for n, _ in pairs), "hypothesis: " + repr(pairs)[:160])
            cases += hypothesis_cases(world, route, names, build, 20)
        cases.append(lambda r=route: restore(world, r))
    cases = spread(everything, login) + leaving
    planned = len(cases) - len(posts)
    run_batches(probe, cases)
    finish(probe, capsys, expected=planned)


# ---------------------------------------------------------------------------------------------
# Signed Voximplant events with out-of-range numbers.

NUMERIC_EVENT_FIELDS = ["sent_at", "duration", "application_id", "session_id"]
TEXT_EVENT_FIELDS = ["from", "to", "direction", "reason", "conversation_id", "recording_url", "type"]
EVENT_TYPES = ["call_started", "conversation_started", "recording_started", "call_ended"]


class Sessions:
    """Fresh Voximplant session ids, so that each hostile event makes its own call."""

    def __init__(self, start):
        self.next = start

    def __call__(self):
        self.next += 1
        return self.next


def event_pairs(kind, app_id, session_id, sent_at):
    pairs = [("type", json.dumps(kind)), ("application_id", str(app_id)), ("session_id", str(session_id)),
             ("sent_at", str(sent_at))]
    if kind == "call_started":
        pairs += [("from", '"+79990001122"'), ("to", '"74951234567"'), ("direction", '"inbound"')]
    if kind == "conversation_started":
        pairs += [("conversation_id", json.dumps(f"conv_hostile_{session_id}"))]
    if kind == "recording_started":
        pairs += [("recording_url", '"http://127.0.0.1:9/records/none.wav"')]
    if kind == "call_ended":
        pairs += [("duration", "30"), ("reason", '"disconnected"')]
    return pairs


def replace(pairs, key, raw):
    out = [(k, raw if k == key else v) for k, v in pairs]
    return out if any(k == key for k, _ in pairs) else out + [(key, raw)]


def test_hostile_signed_voximplant_events(world, capsys):
    probe = prober(world, "voximplant events", 45, capsys)
    log_start = probe._log_size()
    stack, app_id = world.stack, world.app_id
    secret = application_secret(stack, world.admin, app_id)  # as it is now, whatever the forms did
    client = requests.Session()
    fresh = Sessions(3_000_000_000)
    now = int(time.time() * 1000)

    def send(body, where, label, headers=None):
        return probe.send(client, "POST", "/api/webhook/voximplant", body, headers or sign_voximplant(secret, body),
                          route="POST /api/webhook/voximplant", where=where, label=label)

    cases = []
    # Recording URLs: the archive job downloads them once the call ends. Those that name the
    # canary, however disguised, must never reach it; odd paths on the allowed origin are fetched.
    fake, canary = world.fakes.voximplant, world.canary.port
    fake_hostport = fake.split("//", 1)[1]
    canary_urls = [
        ("canary", "http://127.0.0.1:{canary}{path}"),
        ("canary behind userinfo", "http://{fake_hostport}@127.0.0.1:{canary}{path}"),
        ("canary before a fragment", "http://127.0.0.1:{canary}#@{fake_hostport}{path}"),
        ("canary before a backslash", "http://127.0.0.1:{canary}\\@{fake_hostport}{path}"),
        ("canary before an encoded slash", "http://127.0.0.1:{canary}%2F@{fake_hostport}{path}"),
        ("canary as localhost", "http://localhost:{canary}{path}"),
        ("canary as 127.1", "http://127.1:{canary}{path}"),
        ("canary as a decimal address", "http://2130706433:{canary}{path}"),
        ("canary as mapped IPv6", "http://[::ffff:127.0.0.1]:{canary}{path}"),
        ("canary in upper case scheme", "HTTP://127.0.0.1:{canary}{path}"),
        ("canary with a tab", "http://127.0.0.1:{canary}\t{path}"),
        ("allowed origin, then the canary's port", "{fake}:{canary}{path}"),
    ]
    # Each with a path of its own, so that a request the canary gets names its case.
    canary_paths = {f"/ssrf-{i}.wav": label for i, (label, _) in enumerate(canary_urls)}
    recording_urls = [(label, url.format(canary=canary, fake=fake, fake_hostport=fake_hostport, path=f"/ssrf-{i}.wav"))
                      for i, (label, url) in enumerate(canary_urls)] + [
        ("file URL", "file:///etc/passwd"), ("gopher URL", f"gopher://127.0.0.1:{canary}/_GET%20/"),
        ("allowed: traversal", f"{fake}/records/../../../etc/passwd"), ("allowed: encoded traversal", f"{fake}/records/..%2f..%2fetc%2fpasswd"),
        ("allowed: NUL", f"{fake}/records/1.wav%00.txt"), ("allowed: emoji", f"{fake}/records/😀.wav"),
        ("allowed: 2 MB", f"{fake}/records/big-2000000.wav"), ("allowed: huge query", f"{fake}/records/2.wav?" + "q" * 50_000),
        ("allowed: CRLF", f"{fake}/records/3.wav\r\nX-Injected: 1"), ("allowed: missing", f"{fake}/records/missing-9.wav"),
    ]
    for label, url in recording_urls:
        def case(label=label, url=url):
            sid = fresh()
            send(json_object(event_pairs("call_started", app_id, sid, now)), "call_started", "valid, before")
            send(json_object(replace(event_pairs("recording_started", app_id, sid, now + 1000), "recording_url", json.dumps(url))),
                 "recording_started.recording_url", label)
            send(json_object(event_pairs("call_ended", app_id, sid, now + 30_000)), "call_ended", "after " + label)
        cases.append(case)
    for kind in EVENT_TYPES:
        numeric = NUMERIC_EVENT_FIELDS if kind in ("call_started", "call_ended") else ["sent_at", "session_id"]
        for key in numeric:
            for label, raw in JSON_NUMBERS:
                def case(kind=kind, key=key, label=label, raw=raw):
                    sid = fresh()
                    send(json_object(replace(event_pairs(kind, app_id, sid, now), key, raw)), f"{kind}.{key}", label)
                cases.append(case)
        for key in TEXT_EVENT_FIELDS if kind in ("call_started", "call_ended") else ["type", "conversation_id", "recording_url"]:
            for label, raw in JSON_STRINGS:
                def case(kind=kind, key=key, label=label, raw=raw):
                    send(json_object(replace(event_pairs(kind, app_id, fresh(), now), key, raw)), f"{kind}.{key}", label)
                cases.append(case)
    # An existing call, then an end (or a start) at the limits: the merge with what is stored.
    for label, raw in JSON_NUMBERS:
        for key in ("sent_at", "duration"):
            def case(key=key, label=label, raw=raw):
                sid = fresh()
                send(json_object(event_pairs("call_started", app_id, sid, now)), "call_started", "valid, before")
                send(json_object(replace(event_pairs("call_ended", app_id, sid, now + 30_000), key, raw)),
                     f"call_ended.{key} after a start", label)
            cases.append(case)
        def case(label=label, raw=raw):
            sid = fresh()
            send(json_object(replace(event_pairs("call_ended", app_id, sid, now), "sent_at", raw)), "call_ended.sent_at", label)
            send(json_object(event_pairs("call_started", app_id, sid, now)), "call_started after an odd end", label)
        cases.append(case)
    # Shapes: duplicate keys, nesting, sizes, not an object.
    base = lambda: event_pairs("call_ended", app_id, fresh(), now)
    shapes = [
        ("duplicate sent_at", lambda: json_object(base() + [("sent_at", str(2**63 - 1))])),
        ("duplicate sent_at, huge first", lambda: json_object([("sent_at", str(U64_MAX + 1))] + base())),
        ("duplicate application_id", lambda: json_object(base() + [("application_id", "1")])),
        ("duplicate session_id at the limit", lambda: json_object(base() + [("session_id", str(U64_MAX))])),
        ("duplicate duration", lambda: json_object(base() + [("duration", "1e300")])),
        ("deep nesting in an unknown field", lambda: json_object(base() + [("extra", "[" * 20000 + "]" * 20000)])),
        ("deep object nesting", lambda: json_object(base() + [("extra", '{"a":' * 10000 + "1" + "}" * 10000)])),
        ("unclosed nesting", lambda: json_object(base() + [("extra", "[" * 30000)])),
        ("many keys", lambda: json_object(base() + [(f"k{i}", "1") for i in range(5000)])),
        ("huge from", lambda: json_object(replace(base(), "from", json.dumps("7" * 60_000)))),
        ("huge recording_url", lambda: json_object(replace(event_pairs("recording_started", app_id, fresh(), now), "recording_url",
                                                               json.dumps("http://x/" + "a" * 60_000)))),
        ("just under 64 KiB", lambda: json_object(base() + [("pad", json.dumps("p" * (65536 - 300)))])),
        ("over 64 KiB", lambda: json_object(base() + [("pad", json.dumps("p" * 70_000))])),
        ("top-level array", lambda: b"[" + json_object(base()) + b"]"),
        ("top-level number", lambda: b"18446744073709551616"),
        ("null", lambda: b"null"), ("empty", lambda: b""), ("whitespace", lambda: b" \n\t "),
        ("BOM", lambda: b"\xef\xbb\xbf" + json_object(base())),
        ("trailing garbage", lambda: json_object(base()) + b"}}]garbage"),
        ("two objects", lambda: json_object(base()) + json_object(base())),
        ("raw non-UTF-8 key", lambda: json_object(base())[:-1] + b',"\xff\xfe":1}'),
        ("NUL byte in the body", lambda: json_object(base())[:-1] + b',"a":"\x00"}'),
        ("unterminated string", lambda: json_object(base())[:-1] + b',"a":"abc'),
    ]
    for label, make in shapes:
        cases.append(lambda make=make, label=label: send(make(), "body", label))
    # The signature's own fields: the timestamp is signed, so a hostile one still verifies.
    for label, ts in [("nan", "nan"), ("inf", "inf"), ("1e300", "1e300"), ("-1", "-1"), ("u64_max+1", str(U64_MAX + 1)),
                      ("digits_1000", "9" * 1000), ("empty", ""), ("float now", f"{time.time():.3f}"), ("hex", "0x10"),
                      ("unicode digits", "١٢٣"), ("now, then NUL", f"{int(time.time())}\x00")]:
        def case(label=label, ts=ts.encode()):
            body = json_object(base())
            mac = hmac.new(secret.encode(), ts + b"." + body, hashlib.sha256).hexdigest()
            send(body, "X-Vox-Timestamp", label, {"Content-Type": "application/json", "X-Vox-Timestamp": ts, "X-Vox-Signature": "v1=" + mac})
        cases.append(case)
    for label, signature in [("not hex", "v1=zz"), ("odd hex", "v1=abc"), ("huge", "v1=" + "ab" * 4000), ("empty", "v1="),
                             ("no prefix", "deadbeef"), ("unicode", "v1=ïï".encode())]:
        cases.append(lambda label=label, signature=signature: send(json_object(base()), "X-Vox-Signature", label, {
            "Content-Type": "application/json", "X-Vox-Timestamp": str(int(time.time())), "X-Vox-Signature": signature}))
    cases.append(lambda: send(json_object(base()), "Authorization", "huge bearer",
                              {"Content-Type": "application/json", "Authorization": "Bearer " + "x" * 6000}))
    run_batches(probe, cases)
    read_back(world, probe, range(3_000_000_000, fresh.next + 1), "after voximplant events")
    # By now the archive jobs of the first calls have run (or at least tried, which is enough).
    archive_attempts = lambda: probe._log_since(log_start)[0].count("voximplant-recordings")
    try:
        wait_for(lambda: archive_attempts() >= len(recording_urls) - 4 or world.canary.hits, timeout=20,
                 what="the archive jobs")
    except TimeoutError:
        pass
    requested = [hit for hit in world.canary.hits if hit[0] != "connection"]
    for method, path, host in requested:
        probe._record(Failure("SSRF", "POST /api/webhook/voximplant", "recording_started.recording_url",
                              canary_paths.get(path.split("?")[0], path), method, path, b"", {}, "-",
                              f"the canary (in no allow-list) got {method} {path} (Host: {host}) from the worker"))
    if world.canary.hits and not requested:
        probe._record(Failure("SSRF", "POST /api/webhook/voximplant", "recording_started.recording_url", "a connection",
                              "-", "-", b"", {}, "-", f"the canary (in no allow-list) was connected to: {world.canary.hits[:3]}"))
    finish(probe, capsys, expected=len(cases), settle=2)


def read_back(world, probe, sessions, label):
    """The pages that show what the events stored: each of those calls (found in the CSV
    export by session id), the lists, the statistics, the live panel."""
    admin = world.admin
    export = probe.send(admin, "GET", "/calls/export.csv", route="GET /calls/export.csv", where="page", label=label)
    rows = csv.DictReader(io.StringIO(export.text)) if export is not None and export.status_code == 200 else []
    calls = [row["call_id"] for row in rows if (row.get("voximplant_session_id") or "").isdigit()
             and int(row["voximplant_session_id"]) in sessions]
    if export is not None and export.status_code == 200 and not calls:
        probe._record(Failure("read back", "GET /calls/export.csv", "-", label, "GET", "/calls/export.csv", b"", {}, 200,
                              "none of the calls these events made is in the export"))
    cases = [lambda c=c: probe.send(admin, "GET", f"/calls/{c}", route="GET /calls/:id", where=":id", label=f"{label}: call {c}")
             for c in calls]
    for url in ("/calls", "/calls?size=200", "/statistics", "/statistics?from=1970-01-01&to=2100-01-01", "/api/calls/live", "/"):
        cases.append(lambda url=url: probe.send(admin, "GET", url, route="GET " + url.split("?")[0], where="page", label=label))

    def walk():
        url = "/calls?size=200"
        for _ in range(20):  # every page of the history, through its own links
            r = probe.send(admin, "GET", url, route="GET /calls", where="paging", label=f"{label}: {url}")
            older = re.search(r'href="([^"]+)" rel="next"', r.text if r is not None else "")
            if not older:
                break
            url = html.unescape(older.group(1))
    cases.append(walk)
    run_batches(probe, cases)


# ---------------------------------------------------------------------------------------------
# Signed ElevenLabs post-call webhooks with out-of-range numbers.

def transcription(conversation_id, session_id):
    return {"type": "post_call_transcription", "event_timestamp": int(time.time()), "data": {
        "agent_id": "agent_support_1", "conversation_id": conversation_id, "status": "done",
        "transcript": [{"role": "agent", "message": "Hello", "time_in_call_secs": 0},
                       {"role": "user", "message": "Hi", "time_in_call_secs": 3}],
        "metadata": {"start_time_unix_secs": int(time.time()) - 60, "call_duration_secs": 30},
        "analysis": {"call_successful": "success", "transcript_summary": "Summary."},
        "conversation_initiation_client_data": {"dynamic_variables": {"vox_session_id": str(session_id)}},
        "has_audio": True}}


RAW = "\u0000raw:"  # a string value that is JSON text to splice in as it is


def to_json(value):
    """JSON with RAW-marked strings spliced in as written (1e300, NaN, 40-digit numbers…)."""
    placeholders = {}

    def walk(v):
        if isinstance(v, str) and v.startswith(RAW):
            key = f"@@raw{len(placeholders)}@@"
            placeholders[key] = v[len(RAW):]
            return key
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v
    text = json.dumps(walk(value))
    for key, raw in placeholders.items():
        text = text.replace(json.dumps(key), raw)
    return text.encode("utf-8", "surrogatepass")


def test_hostile_signed_elevenlabs_webhooks(world, capsys):
    probe = prober(world, "elevenlabs webhooks", 45, capsys)
    stack, app_id = world.stack, world.app_id
    # As they are now, whatever the forms did to the key's webhook secret or the application's.
    world.el_path, world.el_secret = elevenlabs_webhook(stack, world.admin)
    secret = application_secret(stack, world.admin, app_id)
    client = requests.Session()
    fresh = Sessions(4_000_000_000)
    now = int(time.time() * 1000)

    def el(body, where, label, headers=None):
        return probe.send(client, "POST", world.el_path, body, headers or sign_elevenlabs(world.el_secret, body),
                          route="POST /api/webhook/elevenlabs", where=where, label=label)

    def call_with_conversation(sid):
        """A call that the transcript will be linked to: by conversation id and by session id."""
        conversation = f"conv_el_hostile_{sid}"
        for kind in ("call_started", "conversation_started"):
            pairs = event_pairs(kind, app_id, sid, now)
            if kind == "conversation_started":
                pairs = replace(pairs, "conversation_id", json.dumps(conversation))
            body = json_object(pairs)
            probe.send(client, "POST", "/api/webhook/voximplant", body, sign_voximplant(secret, body),
                       route="POST /api/webhook/voximplant", where="setup", label="valid call for a transcript")
        return conversation

    def hostile_transcript(where, label, mutate):
        def case():
            sid = fresh()
            payload = transcription(call_with_conversation(sid), sid)
            mutate(payload)
            el(to_json(payload), where, label)
        return case

    def setter(path, raw):
        def mutate(payload):
            target = payload
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = raw
        return mutate

    cases = []
    numeric_paths = [("data", "transcript", 1, "time_in_call_secs"), ("data", "metadata", "start_time_unix_secs"),
                     ("data", "metadata", "call_duration_secs"),
                     ("data", "conversation_initiation_client_data", "dynamic_variables", "vox_session_id"),
                     ("event_timestamp",)]
    for path in numeric_paths:
        for label, raw in JSON_NUMBERS:
            cases.append(hostile_transcript(".".join(map(str, path)), label, setter(path, RAW + raw)))
    for path in [("data", "conversation_id"), ("data", "agent_id"), ("data", "status"), ("data", "transcript", 0, "role"),
                 ("data", "transcript", 0, "message"), ("data", "analysis", "transcript_summary"),
                 ("data", "analysis", "call_successful"), ("type",)]:
        for label, raw in JSON_STRINGS:
            cases.append(hostile_transcript(".".join(map(str, path)), label,
                                            setter(path, RAW + (raw.decode("latin-1") if isinstance(raw, bytes) else raw))))
    # vox_session_id as text that looks like a number, and the only link to the call.
    for label, raw in NUMBERS + CURSORS[:3]:
        def case(label=label, raw=raw):
            sid = fresh()
            payload = transcription(f"conv_unlinked_{sid}", sid)
            payload["data"]["conversation_initiation_client_data"]["dynamic_variables"]["vox_session_id"] = \
                unquote(raw)
            el(to_json(payload), "dynamic_variables.vox_session_id (text)", label)
        cases.append(case)
    shapes = [
        ("transcript not a list", setter(("data", "transcript"), RAW + '{"a":1}')),
        ("transcript of 5000 turns", setter(("data", "transcript"),
                                            [{"role": "user", "message": "x", "time_in_call_secs": i * 1e15} for i in range(5000)])),
        ("turn is null", setter(("data", "transcript"), [None])),
        ("turn without role", setter(("data", "transcript"), [{"message": "x", "time_in_call_secs": 1}])),
        ("turns out of order", setter(("data", "transcript"), [{"role": "user", "message": "b", "time_in_call_secs": 9e18},
                                                               {"role": "agent", "message": "a", "time_in_call_secs": -9e18}])),
        ("metadata not an object", setter(("data", "metadata"), RAW + "[1,2]")),
        ("dynamic variables not an object", setter(("data", "conversation_initiation_client_data", "dynamic_variables"), RAW + "1e300")),
        ("dynamic variable nested", setter(("data", "conversation_initiation_client_data", "dynamic_variables", "vox_session_id"),
                                           RAW + '{"a":[1]}')),
        ("deep nesting", setter(("data", "extra"), RAW + "[" * 20000 + "]" * 20000)),
        ("data null", setter(("data",), None)),
        ("huge message", setter(("data", "transcript", 0, "message"), "m" * 2_000_000)),
    ]
    for label, mutate in shapes:
        cases.append(hostile_transcript("shape", label, mutate))
    for label, raw in JSON_STRINGS + [("number", "1e300"), ("u64_max", str(U64_MAX))]:
        raw = raw.decode("latin-1") if isinstance(raw, bytes) else raw
        cases.append(lambda label=label, raw=raw: el(to_json({"type": "post_call_audio", "event_timestamp": int(time.time()),
                                                              "data": {"agent_id": "agent_support_1", "conversation_id": RAW + raw,
                                                                       "full_audio": "SUQz"}}),
                                                     "post_call_audio.conversation_id", label))

    def audio_for_a_call():
        sid = fresh()
        conversation = call_with_conversation(sid)
        for label, audio in [("not base64", '"%%%"'), ("number", "1e300"), ("2 MB", json.dumps("A" * (2 << 20))), ("null", "null")]:
            el(to_json({"type": "post_call_audio", "event_timestamp": int(time.time()),
                        "data": {"conversation_id": conversation, "full_audio": RAW + audio}}), "post_call_audio.full_audio", label)
    cases.append(audio_for_a_call)
    for label, body in [("empty", b""), ("null", b"null"), ("array", b"[]"), ("type only", b'{"type":"post_call_transcription"}'),
                        ("type number", b'{"type":1e300,"data":{}}'), ("deep", b"[" * 30000), ("BOM", b"\xef\xbb\xbf{}"),
                        ("non-UTF-8", b'{"type":"\xff\xfe"}')]:
        cases.append(lambda label=label, body=body: el(body, "body", label))
    # The signature header: its timestamp is signed too.
    for label, ts in [("nan", "nan"), ("inf", "inf"), ("1e300", "1e300"), ("-1", "-1"), ("u64_max+1", str(U64_MAX + 1)),
                      ("digits_1000", "9" * 1000), ("empty", ""), ("float", f"{time.time():.3f}"), ("i64_max", str(2**63 - 1)),
                      ("i64_min", str(-(2**63))), ("unicode digits", "١٢٣"), ("now, then NUL", f"{int(time.time())}\x00")]:
        def case(label=label, ts=ts.encode()):
            body = to_json(transcription("conv_sig", 1))
            mac = hmac.new(world.el_secret.encode(), ts + b"." + body, hashlib.sha256).hexdigest().encode()
            el(body, "ElevenLabs-Signature t", label, {"Content-Type": "application/json",
                                                       "ElevenLabs-Signature": b"t=" + ts + b",v0=" + mac})
        cases.append(case)
    # The per-key URL's token (when there is one), with a properly signed body.
    if world.el_path.count("/") > 3:
        prefix = world.el_path.rsplit("/", 1)[0]
        for label, value in VALUES:
            def case(label=label, value=value):
                body = to_json(transcription("conv_token", 1))
                probe.send(client, "POST", f"{prefix}/{value[:7000]}", body, sign_elevenlabs(world.el_secret, body),
                           route="POST /api/webhook/elevenlabs/:token", where=":token", label=label)
            cases.append(case)
        body = to_json(transcription("conv_shared", 1))
        cases.append(lambda: probe.send(client, "POST", "/api/webhook/elevenlabs", body, sign_elevenlabs(world.el_secret, body),
                                        route="POST /api/webhook/elevenlabs", where="-", label="the shared URL"))
    for label, header in [("no parts", "garbage"), ("empty", ""), ("many v0", "t=1," + ",".join(["v0=ab"] * 2000)),
                          ("duplicate t", f"t={int(time.time())},t=1,v0=00"), ("unicode", "t=١٢٣,v0=ïï".encode()), ("only commas", ",,,,"),
                          ("equals only", "=,=,=")]:
        cases.append(lambda label=label, header=header: el(b"{}", "ElevenLabs-Signature", label,
                                                           {"Content-Type": "application/json", "ElevenLabs-Signature": header}))
    run_batches(probe, cases)
    read_back(world, probe, range(4_000_000_000, fresh.next + 1), "after elevenlabs webhooks")
    finish(probe, capsys, expected=len(cases), settle=3)
