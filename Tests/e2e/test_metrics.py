"""Issue 16, metrics: the Prometheus listener (loopback, its own port) and `/metrics` through
nginx behind a bearer token; the values move when events arrive."""

import re
import socket
import time

import pytest
import requests

from conftest import ADMIN
from fakes import Fakes, create_application
from stack import Stack, free_port, wait_for
from test_webhooks import post

TOKEN = "scrape-token-0123456789abcdef"


def parse(text):
    """{(name, frozenset(labels)): value} from the Prometheus text format."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
        assert match, f"not exposition format: {line!r}"
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def value(samples, name, **labels):
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    fakes = Fakes(sessions=3)  # call history to sync: the sync sets a checkpoint
    port = free_port()
    stack = Stack(tmp_path_factory.mktemp("metrics"), VOXFCGI_VOXIMPLANT_URL=fakes.voximplant,
                  VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs, VOXFCGI_METRICS_LISTEN=f"127.0.0.1:{port}",
                  VOXFCGI_METRICS_TOKEN=TOKEN)
    try:
        stack.add_user(*ADMIN)
        stack.start()
        session = stack.login(*ADMIN)
        app_id, secret = create_application(stack, session)
        yield stack, f"http://127.0.0.1:{port}/metrics", app_id, secret
    finally:
        stack.stop()
        fakes.stop()


def scrape(url):
    response = requests.get(url, timeout=5)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def test_values_move_when_events_arrive(world):
    stack, url, app_id, secret = world
    before = scrape(url)
    now = int(time.time() * 1000)
    for sid in (81_000_001, 81_000_002, 81_000_003):
        assert post(stack, {"type": "call_started", "application_id": app_id, "session_id": sid, "sent_at": now,
                            "from": "+79990001122", "to": "74951234567"}, secret).status_code == 200
    assert post(stack, {"type": "call_started", "application_id": app_id, "session_id": 81_000_009, "sent_at": now,
                        "from": "+79990001122", "to": "74951234567"}, "wrong secret").status_code == 401
    after = scrape(url)

    accepted = dict(source="voximplant", type="call_started", outcome="accepted")
    assert value(after, "voxfcgi_webhook_events_total", **accepted) - value(before, "voxfcgi_webhook_events_total", **accepted) == 3
    refused = dict(source="voximplant", type="call_started", outcome="unauthorized")
    assert value(after, "voxfcgi_webhook_events_total", **refused) - value(before, "voxfcgi_webhook_events_total", **refused) == 1
    route = dict(route="/api/webhook/voximplant", method="POST", status="200")
    assert value(after, "voxfcgi_http_requests_total", **route) - value(before, "voxfcgi_http_requests_total", **route) == 3
    # The latency histogram by route pattern, never by path.
    assert value(after, "voxfcgi_http_request_duration_seconds_count", route="/api/webhook/voximplant") >= 4
    assert value(after, "voxfcgi_http_request_duration_seconds_count", route="/applications/:id") >= 1
    assert not any("/applications/1" == dict(ls).get("route") for (_, ls) in after)
    # Each acknowledged event was a commit.
    assert value(after, "voxfcgi_lmdb_commit_batch_size_count") >= value(before, "voxfcgi_lmdb_commit_batch_size_count") + 3
    assert value(after, "voxfcgi_lmdb_commit_duration_seconds_count") > 0
    # State, read at the scrape.
    assert 0 < value(after, "voxfcgi_lmdb_map_used_bytes") <= value(after, "voxfcgi_lmdb_map_size_bytes")
    assert value(after, "voxfcgi_lmdb_readers") >= 0 and value(after, "voxfcgi_process_resident_memory_bytes") > 10e6
    assert ("voxfcgi_jobs", frozenset({("kind", "backup"), ("state", "pending")})) in after
    # The three calls queued their follow-up jobs (sessions fetched after the end... or none yet):
    # the gauge counts what the queue holds now, whatever it is.
    assert value(after, "voxfcgi_jobs", state="pending") >= 0


def test_upstream_errors_and_sync_lag_are_counted(world):
    stack, url, app_id, secret = world
    session = stack.login(*ADMIN)
    page = session.get(stack.base_url + "/calls").text
    token = re.search(r'name="_csrf" value="([^"]+)"', page).group(1)
    before = scrape(url)
    session.post(stack.base_url + "/calls/sync", data={"_csrf": token})
    after = wait_for(lambda: (lambda s: value(s, "voxfcgi_sync_last_success_timestamp_seconds") > 0 and s)(scrape(url)),
                     30, "a sync to finish")
    lag = after[("voxfcgi_sync_lag_seconds", frozenset({("account", "1")}))]
    assert 0 <= lag < 365 * 86400
    # An unknown agent: ElevenLabs answers 404, which is an upstream error by service and status.
    form = session.get(stack.base_url + "/applications/new").text
    account = re.search(r'name="account" value="(\d+)"', form).group(1)
    key = re.search(r'<option value="(\d+)"', form.split('name="key"')[1]).group(1)
    session.post(stack.base_url + "/applications", data={"_csrf": token, "account": account, "key": key, "name": "Typo",
                                                          "number": "74951234567", "agent": "agent_nope"})
    later = scrape(url)
    assert value(later, "voxfcgi_upstream_errors_total", service="elevenlabs", status="404") \
        > value(before, "voxfcgi_upstream_errors_total", service="elevenlabs", status="404")


def test_metrics_through_nginx_need_the_token(world):
    stack, url, _, _ = world
    assert requests.get(stack.base_url + "/metrics").status_code == 401
    assert requests.get(stack.base_url + "/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    answer = requests.get(stack.base_url + "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200 and "voxfcgi_http_requests_total" in answer.text and "Set-Cookie" not in answer.headers
    # The listener answers /metrics only.
    assert requests.get(url.replace("/metrics", "/"), timeout=5).status_code == 404


def test_without_a_token_or_with_metrics_off(tmp_path):
    port = free_port()
    stack = Stack(tmp_path / "off", VOXFCGI_METRICS="off", VOXFCGI_METRICS_LISTEN=f"127.0.0.1:{port}")
    try:
        stack.add_user(*ADMIN)
        stack.start()
        assert requests.get(stack.base_url + "/metrics").status_code == 404
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        stack.stop()


def test_health_page_shows_sync_and_the_last_webhook_events(world):
    stack, url, app_id, secret = world
    session = stack.login(*ADMIN)
    now = int(time.time() * 1000)
    assert post(stack, {"type": "call_started", "application_id": app_id, "session_id": 81_000_100, "sent_at": now - 1500,
                        "from": "+79990001122", "to": "74951234567"}, secret).status_code == 200
    page = session.get(stack.base_url + "/health").text
    sync = re.search(r'id="sync-health">(.*?)</table>', page, re.S).group(1)
    assert "Acme" in sync and ">ok<" in sync, sync  # the sync of the test above finished without error
    events = re.search(r'class="calls webhook-events">(.*?)</table>', page, re.S).group(1)
    first = re.search(r"<tbody><tr[^>]*>(.*?)</tr>", events, re.S).group(1)  # newest first
    assert "81000100" in first and "call_started" in first and "accepted" in first
    delay = float(re.findall(r'<td class="num">([\d.]+) s</td>', first)[0])
    assert 1.4 <= delay < 60
    # An operator sees only their own: another operator's page lists none of these.
    stack.add_user("other@example.com", "other password 123", role="operator")
    other = stack.login("other@example.com", "other password 123").get(stack.base_url + "/health").text
    assert "81000100" not in other and "Acme" not in other
