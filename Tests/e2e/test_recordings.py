"""Issue 6 end to end: recordings archived by the job runner, from the fake Voximplant (or the
fake ElevenLabs) to local disk and to a real S3 API (moto, signatures checked), played back
through nginx in a real browser."""

import csv
import hashlib
import io
import re
import signal
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from browser import By, EC, sign_in, wait
from conftest import ADMIN
from fakes import Fakes, create_application
from s3 import S3
from stack import Stack, csrf_from, wait_for
from test_sync import control
from test_webhooks import post

OPERATOR = ("bob@example.com", "bob's e2e password 2")


def call_events(app_id, session_id, recording_url=None, conversation_id=None, duration=30):
    base = int(time.time() * 1000) - 3_600_000
    sequence = [{"type": "call_started", "application_id": app_id, "session_id": session_id, "sent_at": base,
                 "from": "+79990001122", "to": "74951234567", "direction": "inbound"}]
    if conversation_id:
        sequence.append({"type": "conversation_started", "application_id": app_id, "session_id": session_id,
                         "sent_at": base + 1000, "conversation_id": conversation_id})
    if recording_url:
        sequence.append({"type": "recording_started", "application_id": app_id, "session_id": session_id,
                         "sent_at": base + 1500, "recording_url": recording_url})
    sequence.append({"type": "call_ended", "application_id": app_id, "session_id": session_id,
                     "sent_at": base + duration * 1000, "duration": duration, "reason": "disconnected"})
    return sequence


def deliver(stack, secret, sequence):
    """Posts the events; returns the call's id, found in the admin's CSV export (webhook
    answers name none of our records)."""
    for event in sequence:
        response = post(stack, event, secret)
        assert response.status_code == 200, response.text
    if getattr(stack, "admin_session", None) is None:  # one sign-in per stack: nginx rate-limits them
        stack.admin_session = stack.login(*ADMIN)
    rows = csv.DictReader(io.StringIO(stack.admin_session.get(stack.base_url + "/calls/export.csv").text))
    return int(next(r["call_id"] for r in rows if r["voximplant_session_id"] == str(sequence[0]["session_id"])))


def archived(session, stack, call_id):
    return 'id="recording-player"' in session.get(f"{stack.base_url}/calls/{call_id}").text


def sha256_of_url(url):
    digest = hashlib.sha256()
    with requests.get(url, stream=True) as response:
        response.raise_for_status()
        for chunk in response.iter_content(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def memory_kb(pid, field):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1))


# ---------------------------------------------------------------------------------------------
# Local disk: the embedded default.

@pytest.fixture(scope="module")
def local(tmp_path_factory):
    # Whatever started is stopped, in reverse order, however the setup or a test fails.
    with ExitStack() as started:
        fakes = Fakes(sessions=0)
        started.callback(fakes.stop)
        s = Stack(tmp_path_factory.mktemp("recordings"), VOXFCGI_VOXIMPLANT_URL=fakes.voximplant,
                  VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs, VOXFCGI_RECORDING_SOURCES=fakes.voximplant,
                  VOXFCGI_JOB_LEASE_SECONDS=5)
        started.callback(s.stop)
        s.add_user(*ADMIN)
        s.add_user(*OPERATOR, role="operator")
        s.start()
        session = s.admin_session = s.login(*ADMIN)
        app_id, secret = create_application(s, session)
        yield s, fakes, session, app_id, secret


def test_recording_is_archived_on_disk_and_served_by_nginx_with_ranges(local):
    stack, fakes, session, app_id, secret = local
    source = fakes.voximplant + "/records/1.wav"
    call_id = deliver(stack, secret, call_events(app_id, 61_000_001, recording_url=source))
    wait_for(lambda: archived(session, stack, call_id), 30, "the recording to be archived")

    original = requests.get(source).content
    objects = list((stack.data / "recordings" / "objects").rglob(f"{call_id}.wav"))
    assert len(objects) == 1 and objects[0].read_bytes() == original
    detail = session.get(f"{stack.base_url}/calls/{call_id}").text
    assert "WAV · 48 KB · kept on this server" in detail

    whole = session.get(f"{stack.base_url}/recordings/{call_id}")
    assert whole.status_code == 200 and whole.content == original
    assert whole.headers["Content-Type"] == "audio/wav" and whole.headers["Accept-Ranges"] == "bytes"
    part = session.get(f"{stack.base_url}/recordings/{call_id}", headers={"Range": "bytes=1000-1099"})
    assert part.status_code == 206 and part.content == original[1000:1100]
    assert part.headers["Content-Range"] == f"bytes 1000-1099/{len(original)}"
    download = session.get(f"{stack.base_url}/recordings/{call_id}?download=1")
    assert re.match(rf'attachment; filename="\d{{4}}-\d\d-\d\d_\d{{4}}_79990001122_call-{call_id}\.wav"',
                    download.headers["Content-Disposition"])

    # The internal location is not reachable from outside, and other tenants see nothing.
    key = objects[0].relative_to(stack.data / "recordings" / "objects")
    assert requests.get(f"{stack.base_url}/_recordings/{key}").status_code == 404
    operator = stack.login(*OPERATOR)
    assert operator.get(f"{stack.base_url}/recordings/{call_id}").status_code == 404
    assert operator.get(f"{stack.base_url}/recordings/{call_id}", headers={"Range": "bytes=0-9"}).status_code == 404
    assert requests.get(f"{stack.base_url}/recordings/{call_id}", allow_redirects=False).status_code == 303


def test_browser_plays_the_recording_and_seeks(local, browser):
    stack, fakes, session, app_id, secret = local
    call_id = deliver(stack, secret, call_events(app_id, 61_000_002, recording_url=fakes.voximplant + "/records/2.wav"))
    wait_for(lambda: archived(session, stack, call_id), 30, "the recording to be archived")

    sign_in(browser, stack.base_url, *ADMIN)
    browser.get(f"{stack.base_url}/calls/{call_id}")
    player = browser.find_element(By.ID, "recording-player")
    wait(browser, 15).until(lambda d: d.execute_script("return arguments[0].readyState", player) >= 1)
    duration = browser.execute_script("return arguments[0].duration", player)
    assert abs(duration - 3.0) < 0.05, duration
    # Seeking: the browser asks for a byte range and nginx answers 206.
    browser.execute_script("arguments[0].currentTime = 2.5", player)
    wait(browser, 10).until(lambda d: abs(d.execute_script("return arguments[0].currentTime", player) - 2.5) < 0.1)
    status = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {headers: {Range: 'bytes=44-1043'}}).then(r => r.arrayBuffer().then(b => done([r.status, b.byteLength])));",
        f"/recordings/{call_id}")
    assert status == [206, 1000]
    download = browser.find_element(By.ID, "recording-download")
    assert download.get_attribute("href").endswith(f"/recordings/{call_id}?download=1")

    # Call History: the row's play button opens a player for that call only.
    browser.get(f"{stack.base_url}/calls")
    button = browser.find_element(By.CSS_SELECTOR, f'tr[data-call-id="{call_id}"] button.play')
    button.click()
    inline = wait(browser, 10).until(EC.presence_of_element_located((By.CSS_SELECTOR, "tr.player-row audio")))
    wait(browser, 15).until(lambda d: d.execute_script("return arguments[0].readyState", inline) >= 1)
    assert abs(browser.execute_script("return arguments[0].duration", inline) - 3.0) < 0.05
    assert len(browser.find_elements(By.CSS_SELECTOR, "tr.player-row")) == 1


def test_recording_gone_at_the_source_parks_the_job_with_a_clear_error(local):
    stack, fakes, session, app_id, secret = local
    call_id = deliver(stack, secret, call_events(app_id, 61_000_003, recording_url=fakes.voximplant + "/records/missing-3.wav"))

    def parked():
        page = session.get(stack.base_url + "/jobs").text
        return re.search(rf'<tr data-job-id="\d+" data-kind="archive-recording"><td>[^<]*</td><td><code>{call_id}</code>.*?</tr>', page, re.S)

    row = wait_for(parked, 30, "the archive job to be parked").group(0)
    assert "the recording is gone at Voximplant (HTTP 404 for /records/missing-3.wav)" in row
    assert "1 attempt<" in row  # parked at once: retrying cannot bring it back
    assert not archived(session, stack, call_id)
    assert session.get(f"{stack.base_url}/recordings/{call_id}").status_code == 404


def test_voximplant_outage_is_retried_until_the_recording_comes(local):
    stack, fakes, session, app_id, secret = local
    # Six 500s: more than one attempt's retries (4), so the job itself fails once, backs off
    # and succeeds on a later attempt.
    control(fakes, "/_control/fault", {"match": "records", "mode": "500", "times": 6})
    call_id = deliver(stack, secret, call_events(app_id, 61_000_005, recording_url=fakes.voximplant + "/records/5.wav"))

    def failed_once():
        page = session.get(stack.base_url + "/jobs").text
        row = re.search(rf'<tr data-kind="archive-recording"><td>[^<]*</td><td><code>{call_id}</code></td>.*?</tr>', page, re.S)
        return row and "answered 500" in row.group(0)

    wait_for(failed_once, 30, "a failed attempt while Voximplant answers 500")
    wait_for(lambda: archived(session, stack, call_id), 60, "the archive after the outage")


def test_without_a_voximplant_recording_the_conversation_audio_is_archived(local):
    stack, fakes, session, app_id, secret = local
    call_id = deliver(stack, secret, call_events(app_id, 61_000_004, conversation_id="conv_904"))
    wait_for(lambda: archived(session, stack, call_id), 30, "the ElevenLabs audio to be archived")
    audio = session.get(f"{stack.base_url}/recordings/{call_id}")
    assert audio.headers["Content-Type"] == "audio/mpeg" and audio.content.startswith(b"ID3")


def test_secure_recording_without_a_service_account_falls_back_to_the_conversation_audio(local):
    stack, fakes, session, app_id, secret = local
    # The account has only an API key: no token to send, so secure storage answers 401.
    call_id = deliver(stack, secret, call_events(app_id, 61_000_006, recording_url=fakes.voximplant + "/records/secure/6.mp3",
                                                 conversation_id="conv_906"))
    wait_for(lambda: archived(session, stack, call_id), 30, "the ElevenLabs audio in place of the secure recording")
    page = session.get(f"{stack.base_url}/calls/{call_id}").text
    note = re.search(r'id="recording-note"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "HTTP 401" in note and "needs a service account" in note and "ElevenLabs conversation audio instead" in note
    assert session.get(f"{stack.base_url}/recordings/{call_id}").content.startswith(b"ID3")
    gets = [e for e in fakes.get("/_control/auth-log") if e["method"] == "GET /records/secure/6.mp3"]
    assert [e["auth"] for e in gets] == ["none"]  # asked once, without a token; not retried


def test_secure_recording_refused_before_the_conversation_is_known_says_so(local):
    stack, fakes, session, app_id, secret = local
    call_id = deliver(stack, secret, call_events(app_id, 61_000_007, recording_url=fakes.voximplant + "/records/secure/7.mp3"))
    page = wait_for(lambda: (lambda text: 'id="recording-note"' in text and text)(session.get(f"{stack.base_url}/calls/{call_id}").text),
                    30, "the refusal note")
    assert "will be archived instead once ElevenLabs has it" in page and 'id="recording-pending"' not in page


# ---------------------------------------------------------------------------------------------
# S3: moto with signature checking, through a relay that can take it down.

@pytest.fixture(scope="module")
def s3world(tmp_path_factory):
    with ExitStack() as started:
        fakes = Fakes(sessions=0)
        started.callback(fakes.stop)
        bucket = S3()
        started.callback(bucket.stop)
        # A 4 s lease, so the killed worker's job runs again soon. A 96 MiB upload can take
        # longer: the runner renews the lease while the job runs, or a second runner would
        # take the job and upload it again.
        s = Stack(tmp_path_factory.mktemp("recordings-s3"), VOXFCGI_VOXIMPLANT_URL=fakes.voximplant,
                  VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs, VOXFCGI_RECORDING_SOURCES=fakes.voximplant,
                  VOXFCGI_JOB_LEASE_SECONDS=4, VOXFCGI_S3_TIMEOUT_SECONDS=10)
        started.callback(s.stop)
        s.add_user(*ADMIN)
        s.start()
        session = s.admin_session = s.login(*ADMIN)
        app_id, secret = create_application(s, session)
        yield s, fakes, bucket, session, app_id, secret


def storage_form(bucket, secret):
    return {"kind": "s3", "endpoint": bucket.endpoint, "region": "us-east-1", "bucket": bucket.bucket,
            "addressing": "path", "access_key_id": bucket.access_key, "secret": secret, "retention_days": "0"}


def test_s3_settings_are_tested_then_saved(s3world):
    stack, fakes, bucket, session, app_id, secret = s3world
    page = session.get(stack.base_url + "/setup/storage")
    token = csrf_from(page.text)
    wrong = session.post(stack.base_url + "/setup/storage/test", data={"_csrf": token, **storage_form(bucket, "wrong-secret")})
    assert wrong.status_code == 502 and "SignatureDoesNotMatch" in wrong.text
    right = session.post(stack.base_url + "/setup/storage/test", data={"_csrf": token, **storage_form(bucket, bucket.secret_key)})
    assert right.status_code == 200 and "Test passed" in right.text, right.text
    assert bucket.keys("voxfcgi-probe/") == {}, "the test object is deleted"
    saved = session.post(stack.base_url + "/setup/storage", data={"_csrf": token, **storage_form(bucket, bucket.secret_key)})
    assert saved.status_code == 200 and "New recordings go to s3://recordings" in saved.text
    assert bucket.secret_key not in saved.text
    lmdb = b"".join(p.read_bytes() for p in (stack.data / "lmdb").glob("*.mdb"))
    assert bucket.secret_key.encode() not in lmdb
    assert bucket.secret_key not in stack.log()


def test_50_mb_recording_goes_up_in_parts_with_flat_memory(s3world):
    stack, fakes, bucket, session, app_id, secret = s3world
    size = 50 * 1024 * 1024
    source = f"{fakes.voximplant}/records/big-{size}.wav"
    pid = stack.worker.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets the peak RSS (VmHWM) to now
    before = memory_kb(pid, "VmRSS")
    call_id = deliver(stack, secret, call_events(app_id, 62_000_001, recording_url=source))
    wait_for(lambda: archived(session, stack, call_id), 120, "the 50 MB recording to be archived")
    peak = memory_kb(pid, "VmHWM")
    print(f"worker RSS before {before / 1024:.1f} MiB, peak during the 50 MB archive {peak / 1024:.1f} MiB")
    assert peak - before < 32 * 1024, f"peak RSS grew {(peak - before) / 1024:.1f} MiB"

    keys = {k: v for k, v in bucket.keys("calls/").items() if k.endswith(f"/{call_id}.wav")}
    assert list(keys.values()) == [size]
    key = next(iter(keys))
    head = bucket.client.head_object(Bucket=bucket.bucket, Key=key)
    assert head["ETag"].strip('"').endswith("-7"), head["ETag"]  # 8 MiB parts
    assert head["ContentType"] == "audio/wav"
    stored = hashlib.sha256(bucket.client.get_object(Bucket=bucket.bucket, Key=key)["Body"].read()).hexdigest()
    assert stored == sha256_of_url(source)
    assert bucket.uploads_in_progress() == []

    # Playback and download go straight to the bucket through a short-lived signed URL.
    redirect = session.get(f"{stack.base_url}/recordings/{call_id}?download=1", allow_redirects=False)
    assert redirect.status_code == 302
    location = redirect.headers["Location"]
    assert location.startswith(f"{bucket.endpoint}/recordings/{key}?")
    assert "response-content-type=audio%2Fwav" in location and "response-content-disposition=attachment" in location
    assert "X-Amz-Expires=300" in location and "X-Amz-Signature=" in location


def test_s3_down_for_a_while_then_back(s3world):
    stack, fakes, bucket, session, app_id, secret = s3world
    bucket.relay.down()
    try:
        call_id = deliver(stack, secret, call_events(app_id, 62_000_002, recording_url=fakes.voximplant + "/records/7.wav"))

        def failed_attempt():
            page = session.get(stack.base_url + "/jobs").text
            row = re.search(rf'<tr data-kind="archive-recording"><td>[^<]*</td><td><code>{call_id}</code></td>.*?</tr>', page, re.S)
            return row and "unavailable" in row.group(0) and row.group(0)

        row = wait_for(failed_attempt, 60, "a failed attempt while S3 is down")
        assert "s3 is unreachable" in row
        assert not archived(session, stack, call_id)
    finally:
        bucket.relay.up()
    wait_for(lambda: archived(session, stack, call_id), 60, "the archive to complete once S3 is back")
    assert any(k.endswith(f"/{call_id}.wav") for k in bucket.keys("calls/"))
    assert f"<code>{call_id}</code>" not in session.get(stack.base_url + "/jobs").text


def test_worker_killed_mid_upload_finishes_after_restart(s3world):
    stack, fakes, bucket, session, app_id, secret = s3world
    size = 96 * 1024 * 1024
    call_id = deliver(stack, secret, call_events(app_id, 62_000_003, recording_url=f"{fakes.voximplant}/records/big-{size}.wav"))
    wait_for(lambda: bucket.uploads_in_progress(), 60, "the multipart upload to start")
    assert stack.stop_worker(signal.SIGKILL) != 0
    # Killed mid-upload: the call points at nothing yet, and nothing half-written is visible.
    assert not any(k.endswith(f"/{call_id}.wav") for k in bucket.keys("calls/"))
    stack.start_worker()
    session = stack.login(*ADMIN)
    assert not archived(session, stack, call_id)
    wait_for(lambda: archived(session, stack, call_id), 120, "the archive to finish after the restart")
    keys = {k: v for k, v in bucket.keys("calls/").items() if k.endswith(f"/{call_id}.wav")}
    assert list(keys.values()) == [size]
    stored = hashlib.sha256(bucket.client.get_object(Bucket=bucket.bucket, Key=next(iter(keys)))["Body"].read()).hexdigest()
    assert stored == sha256_of_url(f"{fakes.voximplant}/records/big-{size}.wav")
    assert bucket.uploads_in_progress() == [], "the upload cut short by the kill was aborted by the rerun"
    assert list((stack.data / "recordings" / "tmp").iterdir()) == [], "the killed worker's download was removed at restart"
    assert "removed unfinished temporary files" in stack.log()
