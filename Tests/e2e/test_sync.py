"""Issue 5, sync: 10,000 calls from the fake Voximplant over many pages, with faults on
some requests and the worker killed mid-sync; afterwards exactly 10,000 calls and the
statistics agree."""

import json
import re
import signal
import time
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
        archived = list((s.data / "recordings" / "objects").rglob("*.wav"))
        assert 40 <= len(archived) <= 110, len(archived)  # every 100th answered call of 10,000
    finally:
        s.stop()
        fakes.stop()
