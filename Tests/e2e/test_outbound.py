"""Issue 12, sections 2 and 3, end to end: a recording URL in a signed event cannot aim the
worker's fetches, and what is archived and served is audio, sandboxed. Against a hostile
source on loopback (Tests/fakes/hostile_source.py), which the worker's allow-list names
explicitly, and a trap listener that it does not."""

import csv
import io
import re
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import ADMIN
from fakes import ROOT, Fakes, create_application
from stack import Stack, wait_for
from test_webhooks import post


class HostileSource:
    def __init__(self):
        self.process = subprocess.Popen([sys.executable, str(ROOT / "Tests" / "fakes" / "hostile_source.py")],
                                        stdout=subprocess.PIPE, text=True)
        fields = dict(part.split("=") for part in self.process.stdout.readline().split()[1:])
        self.base = f"http://127.0.0.1:{fields['port']}"
        self.trap = f"http://127.0.0.1:{fields['trap']}"

    def accepts(self):
        with urllib.request.urlopen(self.base + "/_accepts", timeout=5) as response:
            return int(response.read())

    def stop(self):
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    fakes, source, stack = Fakes(sessions=0), HostileSource(), None
    try:
        stack = Stack(tmp_path_factory.mktemp("outbound"), VOXFCGI_VOXIMPLANT_URL=fakes.voximplant,
                      VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs, VOXFCGI_JOB_LEASE_SECONDS=5,
                      VOXFCGI_RECORDING_SOURCES=f"{source.base}, https://*.voximplant.com")
        stack.add_user(*ADMIN)
        stack.start()
        session = stack.login(*ADMIN)
        app_id, secret = create_application(stack, session)
        yield stack, source, session, app_id, secret
    finally:
        if stack:
            stack.stop()
        source.stop()
        fakes.stop()


def deliver(stack, secret, app_id, session_id, recording_url):
    base = int(time.time() * 1000) - 600_000
    for event in ({"type": "call_started", "application_id": app_id, "session_id": session_id, "sent_at": base,
                   "from": "+79990001122", "to": "74951234567"},
                  {"type": "recording_started", "application_id": app_id, "session_id": session_id, "sent_at": base + 1000,
                   "recording_url": recording_url},
                  {"type": "call_ended", "application_id": app_id, "session_id": session_id, "sent_at": base + 20_000,
                   "duration": 19, "reason": "disconnected"}):
        response = post(stack, event, secret)
        assert response.status_code == 200 and response.json() == {"ok": True}, response.text


def call_id(session, stack, session_id):
    rows = csv.DictReader(io.StringIO(session.get(stack.base_url + "/calls/export.csv").text))
    return next(r["call_id"] for r in rows if r["voximplant_session_id"] == str(session_id))


def parked_error(session, stack, call):
    page = session.get(stack.base_url + "/jobs").text
    row = re.search(rf'<tr data-job-id="\d+" data-kind="archive-recording"><td>[^<]*</td><td><code>{call}</code>.*?</tr>', page, re.S)
    return row.group(0) if row else None


def test_refused_recording_urls_park_their_job_and_reach_nothing(world):
    stack, source, session, app_id, secret = world
    before = source.accepts()
    cases = {
        62_000_001: (source.trap + "/record.mp3", "is not an allowed source"),
        62_000_002: (source.base + "/redirect?to=" + source.trap + "/record.mp3", "is not an allowed source"),
        62_000_003: (source.base + "/redirect?to=http://169.254.169.254/latest/meta-data/", "is not an allowed source"),
        62_000_004: ("file:///etc/passwd", "scheme is not fetched"),
        62_000_005: (f"http://localhost:{source.trap.rsplit(':', 1)[1]}/x.mp3", "is not an allowed source"),
    }
    for sid, (url, _) in cases.items():
        deliver(stack, secret, app_id, sid, url)
    for sid, (url, words) in cases.items():
        call = call_id(session, stack, sid)
        row = wait_for(lambda: parked_error(session, stack, call), 30, f"the archive job of {url} to be parked")
        assert words in row, (url, row)
        assert "1 attempt<" in row  # refused for good, not retried
    assert source.accepts() == before, "a refused target was connected to"


def test_a_non_audio_body_is_not_archived_and_audio_is_served_sandboxed(world):
    stack, source, session, app_id, secret = world
    deliver(stack, secret, app_id, 62_100_001, source.base + "/html-as-audio")
    deliver(stack, secret, app_id, 62_100_002, source.base + "/audio.mp3")
    html_call, mp3_call = call_id(session, stack, 62_100_001), call_id(session, stack, 62_100_002)

    row = wait_for(lambda: parked_error(session, stack, html_call), 30, "the HTML 'recording' to be refused")
    assert "not an audio file" in row
    assert session.get(f"{stack.base_url}/recordings/{html_call}").status_code == 404

    wait_for(lambda: 'id="recording-player"' in session.get(f"{stack.base_url}/calls/{mp3_call}").text, 30, "the MP3 archived")
    served = session.get(f"{stack.base_url}/recordings/{mp3_call}")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "audio/mpeg"  # from the bytes, not from the source's header
    assert "sandbox" in served.headers.get("Content-Security-Policy", "")
    assert served.headers.get("X-Content-Type-Options") == "nosniff"
    archived = list((stack.data / "recordings" / "objects").rglob("*.mp3"))
    assert archived and all(p.stat().st_mode & 0o007 == 0 for p in archived), "archived files are not world-readable"
