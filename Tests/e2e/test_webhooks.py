"""Issue 5 (first part) end to end: scenario events through real nginx into the worker,
transcripts fetched by the durable job runner from the fake ElevenLabs."""

import csv
import hashlib
import hmac
import io
import json
import re
import time
from datetime import datetime, timezone

import pytest
import requests

from conftest import ADMIN
from fakes import EL_API_KEY, Fakes, create_application
from stack import Stack, csrf_from


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    fakes = Fakes(sessions=0)  # no call history: syncs import nothing here
    s = Stack(tmp_path_factory.mktemp("webhooks"), VOXFCGI_VOXIMPLANT_URL=fakes.voximplant,
              VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs, VOXFCGI_JOB_LEASE_SECONDS=3)
    try:
        s.add_user(*ADMIN)
        s.start()
        session = s.login(*ADMIN)
        app_id, secret = create_application(s, session)
        yield s, session, app_id, secret
    finally:
        s.stop()
        fakes.stop()


def post(stack, body, secret, timestamp=None, raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    ts = str(int(timestamp if timestamp is not None else time.time()))
    signature = hmac.new(secret.encode(), ts.encode() + b"." + data, hashlib.sha256).hexdigest()
    return requests.post(stack.base_url + "/api/webhook/voximplant", data=data, headers={
        "Content-Type": "application/json", "X-Vox-Timestamp": ts, "X-Vox-Signature": "v1=" + signature})


def events(app_id, session_id, index):
    base = 1_790_000_000_000 + index * 60_000
    return [
        {"type": "call_started", "application_id": app_id, "session_id": session_id, "sent_at": base,
         "from": f"+7999{index:07d}", "to": "74951234567", "direction": "inbound"},
        {"type": "conversation_started", "application_id": app_id, "session_id": str(session_id), "sent_at": base + 2000,
         "conversation_id": f"conv_{index}"},
        {"type": "call_ended", "application_id": app_id, "session_id": session_id, "sent_at": base + 45_000,
         "duration": 45, "reason": "disconnected", "conversation_id": f"conv_{index}"},
    ]


def export(session, stack):
    return list(csv.DictReader(io.StringIO(session.get(stack.base_url + "/calls/export.csv").text)))


def test_event_sequences_store_each_call_once_with_transcripts(world):
    stack, session, app_id, secret = world
    valid = range(40)
    for i in valid:
        sequence = events(app_id, 7_000_000 + i, i)
        if i % 5 == 0:
            sequence.reverse()  # out of order: ended first
        if i % 7 == 0:
            sequence = sequence + sequence  # every event delivered twice
        for event in sequence:
            response = post(stack, event, secret)
            assert response.status_code == 200, response.text
            assert response.json()["ok"] is True

    for i in range(40, 45):  # wrong secret: refused, nothing stored
        for event in events(app_id, 7_000_000 + i, i):
            response = post(stack, event, "not-the-secret")
            assert response.status_code == 401 and "unauthorized" in response.text
    stale = post(stack, events(app_id, 7_000_045, 45)[0], secret, timestamp=time.time() - 3600)
    assert stale.status_code == 401
    for raw, message in [(b'{"type": "call_started", "application_id": ', "malformed JSON"),
                         (json.dumps({"type": "call_exploded", "application_id": app_id, "session_id": 1, "sent_at": 1}).encode(), "malformed JSON"),
                         (json.dumps({"type": "call_ended", "application_id": app_id, "sent_at": 1}).encode(), "session_id")]:
        response = post(stack, None, secret, raw=raw)
        assert response.status_code == 400 and message in response.text, response.text
    big = post(stack, None, secret, raw=b'{"pad": "' + b"x" * 70_000 + b'"}')
    assert big.status_code == 413

    deadline = time.time() + 30
    while time.time() < deadline:
        rows = export(session, stack)
        if len(rows) == 40 and all(r["has_transcript"] == "yes" for r in rows):
            break
        time.sleep(0.3)
    rows = export(session, stack)
    assert len(rows) == 40
    assert {int(r["voximplant_session_id"]) for r in rows} == {7_000_000 + i for i in valid}
    assert all(r["status"] == "answered" and r["duration_seconds"] == "45" for r in rows)
    assert {r["conversation_id"] for r in rows} == {f"conv_{i}" for i in valid}
    assert all(r["has_transcript"] == "yes" for r in rows), [r for r in rows if r["has_transcript"] != "yes"][:3]
    # Out-of-order delivery still has the real start time and caller.
    row = next(r for r in rows if r["voximplant_session_id"] == "7000005")
    assert row["from"] == "+79990000005"
    started = datetime.fromtimestamp(1_790_000_000 + 5 * 60, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert row["started_at"] == started  # from call_started, though call_ended came first
    detail = session.get(stack.base_url + "/calls/" + row["call_id"]).text
    assert "Order status question." in detail and "Where is my order?" in detail


def test_bearer_fallback(world):
    stack, session, app_id, secret = world
    event = events(app_id, 7_100_000, 99)[0]
    ok = requests.post(stack.base_url + "/api/webhook/voximplant", json=event, headers={"Authorization": "Bearer " + secret})
    assert ok.status_code == 200
    bad = requests.post(stack.base_url + "/api/webhook/voximplant", json=event, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401


def test_browser_watches_a_call_go_live_and_end(world, browser):
    from browser import By, EC, sign_in, wait
    stack, session, app_id, secret = world
    browser.delete_all_cookies()
    sign_in(browser, stack.base_url, *ADMIN)
    browser.get(stack.base_url + "/calls")
    now_ms = int(time.time() * 1000)
    started = {"type": "call_started", "application_id": app_id, "session_id": 7_200_000, "sent_at": now_ms,
               "from": "+7 999 765-43-21", "to": "74951234567"}
    assert post(stack, started, secret).status_code == 200
    # Other calls may be live too (the bearer test's call never ended): find ours by number.
    wait(browser, 10).until(EC.text_to_be_present_in_element((By.ID, "live-rows"), "+7 999 765-43-21"))
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "#live-rows tr") if "+7 999 765-43-21" in r.text)
    call_id = row.get_attribute("data-call-id")

    ended = {"type": "call_ended", "application_id": app_id, "session_id": 7_200_000, "sent_at": now_ms + 30_000,
             "duration": 30, "reason": "disconnected"}
    assert post(stack, ended, secret).status_code == 200
    wait(browser, 15).until(EC.presence_of_element_located((By.CSS_SELECTOR, f'#calls-table tr[data-call-id="{call_id}"]')))
    history_row = browser.find_element(By.CSS_SELECTOR, f'#calls-table tr[data-call-id="{call_id}"]')
    assert "answered" in history_row.text and "0:30" in history_row.text
    wait(browser, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#live-rows tr")))
    assert all(r.get_attribute("data-call-id") != call_id for r in browser.find_elements(By.CSS_SELECTOR, "#live-rows tr"))


def el_post(stack, payload, secret, timestamp=None, raw=None, url=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    ts = str(int(timestamp if timestamp is not None else time.time()))
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return requests.post(url or stack.el_webhook_url, data=body,
                         headers={"Content-Type": "application/json", "ElevenLabs-Signature": f"t={ts},v0={mac}"})


def key_webhook(stack, session, name):
    """The Setup page's row of the ElevenLabs key `name`: (key id, its own webhook URL)."""
    page = session.get(stack.base_url + "/setup").text
    row = next(r for r in page.split("<tr>") if f"<td>{name}</td>" in r)
    url = re.search(r'data-webhook-url="([^"]+)"', row).group(1).replace("http://127.0.0.1:8080", stack.base_url)
    return re.search(r'data-key-id="(\d+)"', row).group(1), url


def save_webhook_secret(stack, session, key_id, secret):
    page = session.get(stack.base_url + "/setup")
    return session.post(f"{stack.base_url}/setup/elevenlabs/{key_id}/webhook",
                        data={"_csrf": csrf_from(page.text), "webhook_secret": secret})


def add_el_key_with_webhook(stack, session, name, secret):
    """Adds an ElevenLabs key with a webhook secret through Setup; returns the key's own
    webhook URL as the page shows it."""
    page = session.get(stack.base_url + "/setup")
    session.post(stack.base_url + "/setup/elevenlabs", data={"_csrf": csrf_from(page.text), "name": name,
                                                            "api_key": EL_API_KEY, "webhook_secret": secret})
    return key_webhook(stack, session, name)[1]


def transcription(conversation, session_id, text):
    return {"type": "post_call_transcription", "event_timestamp": int(time.time()), "data": {
        "agent_id": "agent_support_1", "conversation_id": conversation, "status": "done",
        "transcript": [{"role": "agent", "message": "Hi there", "time_in_call_secs": 0},
                       {"role": "user", "message": text, "time_in_call_secs": 3, "tool_calls": None}],
        "metadata": {"start_time_unix_secs": 1790000000, "call_duration_secs": 20},
        "analysis": {"call_successful": "success", "transcript_summary": "Webhook summary."},
        "conversation_initiation_client_data": {"dynamic_variables": {"vox_session_id": str(session_id)}},
        "has_audio": True, "brand_new_field": [1, 2]}}


def test_elevenlabs_post_call_webhook(world):
    stack, session, app_id, secret = world
    el_secret = "wsec_e2e_0123456789abcdef0123456789abcdef"
    # A short secret is refused: one signed request would let it be guessed offline.
    page = session.get(stack.base_url + "/setup")
    short = session.post(stack.base_url + "/setup/elevenlabs", data={"_csrf": csrf_from(page.text), "name": "Short",
                                                                    "api_key": EL_API_KEY, "webhook_secret": "whsec_e2e_123"})
    assert short.status_code == 422 and "at least 32 characters" in short.text
    # The webhook belongs to the key the application uses ("Main", from create_application).
    key_id, stack.el_webhook_url = key_webhook(stack, session, "Main")
    assert save_webhook_secret(stack, session, key_id, "too short").status_code == 422
    assert save_webhook_secret(stack, session, key_id, el_secret).status_code == 200
    assert re.fullmatch(re.escape(stack.base_url) + r"/api/webhook/elevenlabs/[A-Za-z0-9_-]{43}", stack.el_webhook_url)

    # Refused: wrong secret, stale, from the future, no header, unknown token. Nothing stored.
    assert el_post(stack, transcription("conv_x", 1, "x"), "wrong").status_code == 401
    assert el_post(stack, transcription("conv_x", 1, "x"), el_secret, timestamp=time.time() - 31 * 60).status_code == 401
    assert el_post(stack, transcription("conv_x", 1, "x"), el_secret, timestamp=time.time() + 3600).status_code == 401
    assert requests.post(stack.el_webhook_url, json=transcription("conv_x", 1, "x")).status_code == 401
    unknown = stack.base_url + "/api/webhook/elevenlabs/" + "A" * 43
    assert el_post(stack, transcription("conv_x", 1, "x"), el_secret, url=unknown).status_code == 401
    assert el_post(stack, None, el_secret, raw=b"{not json").status_code == 400
    # The old shared URL says where webhooks go now.
    retired = el_post(stack, transcription("conv_x", 1, "x"), el_secret, url=stack.base_url + "/api/webhook/elevenlabs")
    assert retired.status_code == 410 and "own URL" in retired.text

    # A transcript that arrives before its call is kept and linked when the call appears.
    assert el_post(stack, transcription("conv_early", 7_300_000, "Early bird"), el_secret).status_code == 200
    for event in events(app_id, 7_300_000, 300):
        event["conversation_id"] = "conv_early" if event["type"] != "call_started" else None
        assert post(stack, event, secret).status_code == 200

    # A call that never told us its conversation id is linked through the dynamic variable.
    for event in events(app_id, 7_300_001, 301):
        if event["type"] != "conversation_started":
            event.pop("conversation_id", None)
            assert post(stack, event, secret).status_code == 200
    assert el_post(stack, transcription("conv_late", 7_300_001, "Linked by session"), el_secret).status_code == 200

    rows = {r["voximplant_session_id"]: r for r in export(session, stack)}
    assert rows["7300000"]["has_transcript"] == "yes" and rows["7300000"]["conversation_id"] == "conv_early"
    assert rows["7300001"]["has_transcript"] == "yes" and rows["7300001"]["conversation_id"] == "conv_late"
    detail = session.get(stack.base_url + "/calls/" + rows["7300001"]["call_id"]).text
    assert "Linked by session" in detail and "Webhook summary." in detail

    # A large post_call_audio passes nginx and the worker (limits raised for this endpoint only).
    audio = {"type": "post_call_audio", "event_timestamp": int(time.time()),
             "data": {"agent_id": "agent_support_1", "conversation_id": "conv_late", "full_audio": "A" * (6 << 20)}}
    assert el_post(stack, audio, el_secret).status_code == 200
    big_event = post(stack, None, secret, raw=b'{"pad": "' + b"x" * (2 << 20) + b'"}')
    assert big_event.status_code == 413
    # Large bodies only on a key's own URL: elsewhere they are refused before being read.
    assert el_post(stack, audio, el_secret, url=unknown).status_code == 413
    assert el_post(stack, audio, el_secret, url=stack.base_url + "/api/webhook/elevenlabs").status_code == 413


def test_elevenlabs_webhook_of_one_tenant_cannot_touch_another(world):
    """Issue 12, section 4: an operator with a key (and webhook secret) of their own posts
    transcripts naming the admin's call, by session id and by conversation id: nothing of
    the admin's call changes."""
    stack, session, app_id, secret = world
    for event in events(app_id, 7_500_000, 500):
        assert post(stack, event, secret).status_code == 200
    # Its own transcript is fetched by the job runner first; wait for it, so that nothing
    # changes on its own between the two looks below.
    deadline = time.time() + 30
    while time.time() < deadline:
        before = {r["voximplant_session_id"]: r for r in export(session, stack)}["7500000"]
        if before["has_transcript"] == "yes":
            break
        time.sleep(0.3)
    assert before["conversation_id"] == "conv_500" and before["has_transcript"] == "yes"
    own_detail = session.get(stack.base_url + "/calls/" + before["call_id"]).text

    stack.add_user("mallory@example.com", "mallory password 1", role="operator")
    mallory = stack.login("mallory@example.com", "mallory password 1")
    mallory_secret = "wsec_mallory_0123456789abcdef0123456789abcdef"
    url = add_el_key_with_webhook(stack, mallory, "Mallory", mallory_secret)
    for payload in (transcription("conv_500", 7_500_000, "Injected by conversation id"),
                    transcription("conv_mallory", 7_500_000, "Injected by session id")):
        assert el_post(stack, payload, mallory_secret, url=url).status_code == 200
    audio = {"type": "post_call_audio", "data": {"conversation_id": "conv_500", "full_audio": ""}}
    assert el_post(stack, audio, mallory_secret, url=url).status_code == 200

    after = {r["voximplant_session_id"]: r for r in export(session, stack)}["7500000"]
    assert after == before
    detail = session.get(stack.base_url + "/calls/" + after["call_id"]).text
    assert "Injected" not in detail
    assert detail.count("Where is my order?") == own_detail.count("Where is my order?") > 0


def test_sigkill_while_posting_loses_no_acknowledged_event(world):
    import signal
    import threading
    stack, session, app_id, secret = world
    acknowledged = []
    lock = threading.Lock()

    def sender(offset):
        for i in range(offset, 400, 4):
            sid = 7_400_000 + i
            for event in events(app_id, sid, 400 + i):
                try:
                    response = post(stack, event, secret)
                except requests.RequestException:
                    continue
                if response.status_code == 200:
                    with lock:
                        acknowledged.append((sid, event["type"]))

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.8)
    assert stack.stop_worker(signal.SIGKILL) != 0
    time.sleep(0.3)
    stack.start_worker()
    for t in threads:
        t.join()

    ended = {sid for sid, kind in acknowledged if kind == "call_ended"}
    seen = {sid for sid, _ in acknowledged}
    assert len(ended) > 50, "too few events acknowledged for the test to mean anything"
    admin = stack.login(*ADMIN)
    deadline = time.time() + 60
    while time.time() < deadline:
        rows = {int(r["voximplant_session_id"]): r for r in export(admin, stack)}
        # The transcript and recording jobs; fetch-session jobs wait for Voximplant's history,
        # which this test's fake does not list these sessions in.
        jobs = admin.get(stack.base_url + "/jobs").text.split('id="pending-jobs"')[1]
        pending = str(len(re.findall(r"<tr><td>(?!fetch-session)[a-z-]+</td>", jobs)))
        if pending == "0" and all(rows.get(sid, {}).get("has_transcript") == "yes" for sid in ended):
            break
        time.sleep(0.5)
    for sid in seen:
        assert sid in rows, f"session {sid} got a 2xx but was not stored"
    for sid in ended:
        assert rows[sid]["status"] == "answered" and rows[sid]["duration_seconds"] == "45"
        assert rows[sid]["has_transcript"] == "yes", rows[sid]
    assert pending == "0"
