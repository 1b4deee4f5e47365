"""Issue 5, sync: 10,000 calls from the fake Voximplant over many pages, with faults on
some requests and the worker killed mid-sync; afterwards exactly 10,000 calls and the
statistics agree."""

import csv
import io
import json
import re
import signal
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
import requests

from conftest import ADMIN
from fakes import VOX_ACCOUNT_ID, VOX_API_KEY, Fakes
from stack import Stack, csrf_from


def control(fakes, path, body):
    request = urllib.request.Request(fakes.voximplant + path, data=json.dumps(body).encode(), method="POST")
    urllib.request.urlopen(request).read()


def count(session, stack, query=""):
    text = session.get(stack.base_url + "/calls" + query).text
    return int(re.search(r'id="result-count">([\d\u202f ]+) call', text).group(1).replace("\u202f", "").replace(" ", ""))


def status(session, stack):
    return session.get(stack.base_url + "/api/sync/status").json()["accounts"]


def test_sync_survives_faults_and_a_kill(tmp_path):
    # Every 100th answered call has a recording: the sync archives those too (about 75).
    fakes = Fakes(sessions=10_000, record_every=100)
    s = Stack(tmp_path, VOXFCGI_VOXIMPLANT_URL=fakes.voximplant, VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs,
              VOXFCGI_RECORDING_SOURCES=fakes.voximplant,  # the fake's record URLs, allowed explicitly
              VOXFCGI_UPSTREAM_TIMEOUT_SECONDS=2, VOXFCGI_JOB_LEASE_SECONDS=3, VOXFCGI_SYNC_MINUTES=600)
    try:
        s.add_user(*ADMIN)
        s.start()
        session = s.login(*ADMIN)
        page = session.get(s.base_url + "/setup")
        page = session.post(s.base_url + "/setup/accounts", data={"_csrf": csrf_from(page.text), "name": "Acme",
                                                                  "account_id": VOX_ACCOUNT_ID, "api_key": VOX_API_KEY})
        control(fakes, "/_control/latency", {"seconds": 0.25})
        for mode in ("500", "429", "slow"):  # one of each on the first requests: all retried
            control(fakes, "/_control/fault", {"match": "GetCallHistory", "mode": mode, "times": 1})
        calls = session.get(s.base_url + "/calls")
        assert session.post(s.base_url + "/calls/sync", data={"_csrf": csrf_from(calls.text)}, allow_redirects=False).status_code == 303

        deadline = time.time() + 60
        while time.time() < deadline:
            states = status(session, s)
            if states and states[0]["pagesDone"] >= 3:
                break
            time.sleep(0.05)
        assert states[0]["running"] and 3 <= states[0]["pagesDone"] < 10, states
        assert s.stop_worker(signal.SIGKILL) != 0

        s.start_worker()
        session = s.login(*ADMIN)
        deadline = time.time() + 90
        while time.time() < deadline:
            states = status(session, s)
            if states and not states[0]["running"] and states[0].get("error") is None and count(session, s) == 10_000:
                break
            time.sleep(0.5)
        assert count(session, s) == 10_000, states
        assert states[0].get("error") is None
        # The statistics (aggregated in the same transactions) agree with the calls.
        # The fake's history starts a week ago and spans about 4 days (10,000 × 37 s); a day
        # either side covers any time zone.
        first = (fakes.epoch - timedelta(days=1)).strftime("%Y-%m-%d")
        last = (datetime.now(timezone.utc) + timedelta(days=1)).strftime("%Y-%m-%d")
        stats = session.get(s.base_url + f"/statistics?from={first}&to={last}").text
        total = int(re.search(r'id="total-calls">([\d\u202f]+)<', stats).group(1).replace("\u202f", ""))
        assert total == 10_000
        answered = count(session, s, "?status=answered")
        others = count(session, s, "?status=busy&status=failed&status=no-answer")
        assert answered + others == 10_000 and answered > 6_000

        # A second sync changes nothing (the overlap window is upserted, not duplicated).
        # (Wait for this run's end, not the previous run's: the job may queue behind others.)
        previous = states[0].get("finished")
        calls = session.get(s.base_url + "/calls")
        session.post(s.base_url + "/calls/sync", data={"_csrf": csrf_from(calls.text)})
        deadline = time.time() + 60
        while time.time() < deadline:
            states = status(session, s)
            if not states[0]["running"] and states[0].get("finished") not in (None, previous):
                break
            time.sleep(0.3)
        assert count(session, s) == 10_000
        assert states[0]["inserted"] == 0

        # The calls that have a recording at Voximplant got it archived by the job runner.
        def jobs_done():
            page = session.get(s.base_url + "/jobs").text
            return "Waiting <span class=\"muted\">(0)</span>" in page and 'id="no-failed"' in page
        deadline = time.time() + 60
        while time.time() < deadline and not jobs_done():
            time.sleep(0.5)
        assert jobs_done()
        archived = list((s.data / "recordings" / "objects").rglob("*.mp3"))  # VoxEngine records MP3
        assert 40 <= len(archived) <= 110, len(archived)  # every 100th answered call of 10,000
    finally:
        s.stop()
        fakes.stop()


def vox_history(fakes, **params):
    """The fake's own GetCallHistory answer, asked as a client would (for expected values)."""
    body = urllib.parse.urlencode(dict(account_id=VOX_ACCOUNT_ID, api_key=VOX_API_KEY, **params)).encode()
    with urllib.request.urlopen(urllib.request.Request(fakes.voximplant + "/GetCallHistory/", data=body)) as response:
        return json.load(response)


def test_backfill_of_25000_calls_in_one_window_passes_the_offset_cap(tmp_path):
    """25,000 calls, three or four a second, in one 30-day backfill: GetCallHistory refuses an offset
    beyond 10,000, so the sync pages by time; calls sharing a second at a page's edge are
    neither lost nor doubled. Each call's cost is its legs', records' and resources' sum."""
    epoch = (datetime.now(timezone.utc) - timedelta(days=20)).replace(microsecond=0)
    fakes = Fakes(sessions=25_000, record_every=1_000, epoch=epoch, spacing=0.3)
    s = Stack(tmp_path, VOXFCGI_VOXIMPLANT_URL=fakes.voximplant, VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs,
              VOXFCGI_RECORDING_SOURCES=fakes.voximplant, VOXFCGI_BACKFILL_DAYS=30, VOXFCGI_SYNC_MINUTES=600)
    try:
        s.add_user(*ADMIN)
        s.start()
        session = s.login(*ADMIN)
        page = session.get(s.base_url + "/setup")
        session.post(s.base_url + "/setup/accounts", data={"_csrf": csrf_from(page.text), "name": "Busy",
                                                           "account_id": VOX_ACCOUNT_ID, "api_key": VOX_API_KEY})
        calls = session.get(s.base_url + "/calls")
        session.post(s.base_url + "/calls/sync", data={"_csrf": csrf_from(calls.text)})
        deadline = time.time() + 240
        states = []
        while time.time() < deadline:
            states = status(session, s)
            if states and not states[0]["running"] and states[0].get("finished") and count(session, s) >= 25_000:
                break
            time.sleep(1)
        assert states and states[0].get("error") is None, states
        assert count(session, s) == 25_000
        asked = fakes.get("/_control/history-requests")
        assert max(r["offset"] for r in asked) <= 10_000 and len(asked) >= 25
        assert all(r["with_total_count"] == "false" for r in asked)

        # The cost of a call with a recording: legs + records + other resources, as the fake bills them.
        window = dict(from_date=(epoch - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S"),
                      to_date=(epoch + timedelta(hours=3)).strftime("%Y-%m-%d %H:%M:%S"),
                      with_calls="true", with_records="true", with_other_resources="true", count=1000)
        sessions = [x for x in vox_history(fakes, **window)["result"] if x["records"]]
        assert sessions
        expected = {x["call_session_history_id"]: sum(c["cost"] for c in x["calls"]) + sum(r["cost"] for r in x["records"])
                    + sum(u["cost"] for u in x["other_resource_usage"]) for x in sessions}
        rows = {int(r["voximplant_session_id"]): r for r in csv.DictReader(io.StringIO(
            session.get(s.base_url + "/calls/export.csv").text))}
        for session_id, cost in expected.items():
            assert abs(float(rows[session_id]["cost"]) - cost) < 1e-6, (session_id, rows[session_id]["cost"], cost)
            assert rows[session_id]["duration_seconds"] == str(
                next(x for x in sessions if x["call_session_history_id"] == session_id)["calls"][0]["duration"])
        # The call page shows the split.
        call_id = rows[next(iter(expected))]["call_id"]
        detail = session.get(f"{s.base_url}/calls/{call_id}").text
        assert 'id="cost-telephony"' in detail and 'id="cost-recording"' in detail and 'id="cost-other"' in detail
    finally:
        s.stop()
        fakes.stop()
