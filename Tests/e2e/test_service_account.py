"""Issue 14: a Voximplant account connected with its service-account file (RS256 JWTs that the
fake checks with PyJWT against the public key), applications deployed with secure record
storage, secure recordings archived with the token, a refused one replaced by the ElevenLabs
audio, Voximplant's copy deleted after archiving; and the ElevenLabs side: the agent picker,
the audio-format check and fix, the workspace webhook set up from Setup, and conversations
deleted with their recordings by retention."""

import json
import re
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from conftest import ADMIN
from fakes import EL_API_KEY, Fakes, application_secrets
from hostile import sign_elevenlabs
from stack import Stack, csrf_from, wait_for
from test_recordings import archived, call_events, deliver
from test_sync import control
from test_webhooks import transcription

PUBLIC_URL = "https://voice.example.test"


def el_control(fakes, path, body=None):
    request = urllib.request.Request(fakes.elevenlabs + path, data=json.dumps(body).encode() if body is not None else None,
                                     method="POST" if body is not None else "GET")
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def auth_log(fakes):
    return fakes.get("/_control/auth-log")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with ExitStack() as started:
        fakes = Fakes(sessions=0)
        started.callback(fakes.stop)
        # The public URL is https, as ElevenLabs requires of a webhook; events in these tests
        # are posted to the stack directly.
        s = Stack(tmp_path_factory.mktemp("service-account"), VOXFCGI_VOXIMPLANT_URL=fakes.voximplant,
                  VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs, VOXFCGI_RECORDING_SOURCES=fakes.voximplant,
                  VOXFCGI_PUBLIC_URL=PUBLIC_URL, VOXFCGI_JOB_LEASE_SECONDS=5)
        started.callback(s.stop)
        s.add_user(*ADMIN)
        s.start()
        session = s.admin_session = s.login(*ADMIN)
        yield s, fakes, session


def add_account(stack, session, **fields):
    page = session.get(stack.base_url + "/setup")
    return session.post(stack.base_url + "/setup/accounts", data={"_csrf": csrf_from(page.text), "name": "Acme", **fields})


def test_setup_takes_the_service_account_file_and_never_shows_its_key(world):
    stack, fakes, session = world
    credentials = fakes.get("/_control/service-account")
    key_line = credentials["private_key"].splitlines()[5]

    refused = add_account(stack, session, account_id="", service_account="{not json")
    assert refused.status_code == 422 and "is not JSON" in refused.text
    other = add_account(stack, session, account_id="999", service_account=json.dumps(credentials))
    assert other.status_code == 422 and "is for Voximplant account 1234567, not 999" in other.text
    broken = dict(credentials, private_key="-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----")
    assert "private key cannot be used" in add_account(stack, session, account_id="", service_account=json.dumps(broken)).text
    assert key_line not in refused.text + other.text

    # The account id comes from the file; no API key at all.
    page = add_account(stack, session, account_id="", service_account=json.dumps(credentials, indent=2))
    assert page.status_code == 200
    row = re.search(r'<tr data-account-id="\d+">.*?</tr>', page.text, re.S).group(0)
    assert "1234567" in row and credentials["key_id"] in row and "API key" not in row
    for html in (page.text, session.get(stack.base_url + "/setup/accounts/1").text):
        assert key_line not in html and "PRIVATE KEY" not in html
    # Sealed in LMDB: no line of the key in the file in plain text.
    for database in Path(stack.data).rglob("*.mdb"):
        assert key_line.encode() not in database.read_bytes()

    tested = session.post(stack.base_url + "/setup/accounts/1/test", data={"_csrf": csrf_from(page.text)})
    assert "connected to acme-voice" in tested.text, tested.text
    calls = [entry for entry in auth_log(fakes) if entry["method"] == "GetAccountInfo"]
    assert calls and all(entry["auth"] == "jwt" for entry in calls), calls
    assert key_line not in stack.log()

    # Edit: another account id needs that account's file; the only credentials cannot be removed.
    edit = session.get(stack.base_url + "/setup/accounts/1").text
    moved = session.post(stack.base_url + "/setup/accounts/1", data={"_csrf": csrf_from(edit), "name": "Acme", "account_id": "7654321"})
    assert moved.status_code == 422 and "file of account 7654321" in moved.text
    bare = session.post(stack.base_url + "/setup/accounts/1", data={"_csrf": csrf_from(edit), "name": "Acme", "account_id": "1234567",
                                                                    "remove_service_account": "1"})
    assert bare.status_code == 422 and "Keep a service account file or an API key" in bare.text
    assert credentials["key_id"] in session.get(stack.base_url + "/setup").text


def new_application(stack, session, agent="agent_support_1", **checkboxes):
    form = session.get(stack.base_url + "/applications/new")
    account = re.search(r'name="account" value="(\d+)"', form.text).group(1)
    key = re.search(r'name="key" value="(\d+)"', form.text).group(1)
    fields = {"_csrf": csrf_from(form.text), "account": account, "key": key, "name": "Secure line", "number": "74951234567",
              "agent": agent, **{name: "1" for name, on in checkboxes.items() if on}}
    created = session.post(stack.base_url + "/applications", data=fields, allow_redirects=False)
    assert created.status_code == 303, created.text
    return int(created.headers["Location"].rsplit("/", 1)[1])


def test_agent_picker_lists_every_agent_of_the_key(world):
    stack, fakes, session = world
    page = session.get(stack.base_url + "/setup")
    session.post(stack.base_url + "/setup/elevenlabs", data={"_csrf": csrf_from(page.text), "name": "Main", "api_key": EL_API_KEY})
    # 3 agents plus 150: two pages of 100 by cursor.
    el_control(fakes, "/_control/agents", {"count": 150})
    form = session.get(stack.base_url + "/applications/new").text
    picker = re.search(r'<select name="agent" required id="agent-picker">(.*?)</select>', form, re.S).group(1)
    values = re.findall(r'<option value="([^"]+)"', picker)
    assert len(values) == 153 and len(set(values)) == 153
    assert "agent_support_1" in values and "agent_extra_0152" in values
    assert "Legacy phone agent (agent_legacy_3)" in picker
    # The account has a service account: secure storage is on by default.
    assert re.search(r'name="secure_record_storage" value="1" checked', form)


def test_secure_storage_on_deploy_and_secure_recordings_archive_with_the_jwt(world):
    stack, fakes, session = world
    app_id = new_application(stack, session, record=True, secure_record_storage=True)
    detail = session.get(f"{stack.base_url}/applications/{app_id}")
    session.post(f"{stack.base_url}/applications/{app_id}/deploy", data={"_csrf": csrf_from(detail.text)})
    added = [e for e in fakes.log() if e["method"] == "AddApplication"]
    assert added and added[-1]["secure_record_storage"] is True
    assert "secure record storage" in session.get(f"{stack.base_url}/applications/{app_id}").text

    secret = application_secrets(stack, session, app_id)["VOXFCGI_WEBHOOK_SECRET"]
    call_id = deliver(stack, secret, call_events(app_id, 71_000_001, recording_url=fakes.voximplant + "/records/secure/1.mp3"))
    wait_for(lambda: archived(session, stack, call_id), 30, "the secure recording to be archived")
    gets = [e for e in auth_log(fakes) if e["method"] == "GET /records/secure/1.mp3"]
    assert gets and gets[-1]["auth"] == "jwt"
    page = session.get(f"{stack.base_url}/calls/{call_id}").text
    assert 'id="recording-note"' not in page
    audio = session.get(f"{stack.base_url}/recordings/{call_id}")
    assert audio.headers["Content-Type"] == "audio/mpeg" and audio.content.startswith(b"\xff\xfb")

    # Refused even with the token: the conversation's audio stands in, and the page says so.
    control(fakes, "/_control/fault", {"match": "records", "mode": "403", "times": 2})
    call_id = deliver(stack, secret, call_events(app_id, 71_000_002, recording_url=fakes.voximplant + "/records/secure/2.mp3",
                                                 conversation_id="conv_7102"))
    wait_for(lambda: archived(session, stack, call_id), 30, "the ElevenLabs audio in place of the refused recording")
    page = session.get(f"{stack.base_url}/calls/{call_id}").text
    note = re.search(r'id="recording-note"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert "refused the recording download with the service account" in note and "HTTP 403" in note
    assert "This is the ElevenLabs conversation audio instead." in note
    assert session.get(f"{stack.base_url}/recordings/{call_id}").content.startswith(b"ID3")


def test_voximplant_copy_is_deleted_after_archiving_when_asked(world):
    stack, fakes, session = world
    app_id = new_application(stack, session, record=True, secure_record_storage=True, delete_voximplant_copy=True)
    secret = application_secrets(stack, session, app_id)["VOXFCGI_WEBHOOK_SECRET"]
    url = fakes.voximplant + "/records/secure/3.mp3"
    call_id = deliver(stack, secret, call_events(app_id, 71_000_003, recording_url=url))
    wait_for(lambda: archived(session, stack, call_id), 30, "the archive")
    wait_for(lambda: any(e["method"] == "DeleteRecord" and e["record_url"] == url for e in fakes.log()), 30,
             "DeleteRecord for the archived recording")
    # Deleted only after ours was committed: what we serve is still there.
    assert session.get(f"{stack.base_url}/recordings/{call_id}").status_code == 200
    assert not any(e["method"] == "DeleteRecord" and "secure/1.mp3" in e["record_url"] for e in fakes.log())


def test_agent_on_the_wrong_audio_format_is_flagged_and_fixed(world):
    stack, fakes, session = world
    app_id = new_application(stack, session, agent="agent_legacy_3", record=True)
    page = session.get(f"{stack.base_url}/applications/{app_id}").text
    warning = re.search(r'id="audio-warning".*?</div>', page, re.S).group(0)
    assert "ulaw_8000" in warning and "pcm_8000" in warning and "pcm_16000" in warning

    # A server that answers 200 but changes nothing must not look fixed.
    urllib.request.urlopen(urllib.request.Request(fakes.elevenlabs + "/_control/fault", method="POST",
                                                  data=json.dumps({"match": "ignore-patch", "mode": "ignore", "times": 1}).encode()))
    ignored = session.post(f"{stack.base_url}/applications/{app_id}/agent-audio", data={"_csrf": csrf_from(page)})
    assert ignored.status_code == 502 and "still says" in ignored.text

    fixed = session.post(f"{stack.base_url}/applications/{app_id}/agent-audio", data={"_csrf": csrf_from(page)})
    assert fixed.status_code == 200 and 'id="audio-fixed"' in fixed.text and 'id="audio-warning"' not in fixed.text
    config = el_control(fakes, "/_control/elevenlabs")["agents"]["agent_legacy_3"]["config"]
    assert config["asr"]["user_input_audio_format"] == "pcm_16000" and config["tts"]["agent_output_audio_format"] == "pcm_16000"
    # Everything else the agent had is still there.
    assert config["tts"]["voice_id"] == "cjVigY5qzO86Huf0OWal" and config["agent"]["language"] == "en"


def test_post_call_webhook_is_set_up_from_setup(world):
    stack, fakes, session = world
    page = session.get(stack.base_url + "/setup")
    key_id = re.search(r'action="/setup/elevenlabs/(\d+)/create-webhook"', page.text).group(1)
    url = re.search(rf'data-key-id="{key_id}" data-webhook-url="([^"]+)"', page.text).group(1)
    assert url.startswith(PUBLIC_URL + "/api/webhook/elevenlabs/")
    # The workspace already posts somewhere else: not taken over without "replace".
    el_control(fakes, "/_control/convai-settings", {"webhooks": {"post_call_webhook_id": "wh_someone_else", "events": ["transcript"]}})
    kept = session.post(f"{stack.base_url}/setup/elevenlabs/{key_id}/create-webhook", data={"_csrf": csrf_from(page.text)})
    assert kept.status_code == 422 and "wh_someone_else" in kept.text and "replace" in kept.text
    assert el_control(fakes, "/_control/elevenlabs")["webhooks"] == {}
    # Attaching fails: the webhook just made is deleted again, and no secret is saved.
    urllib.request.urlopen(urllib.request.Request(fakes.elevenlabs + "/_control/fault", method="POST",
                                                  data=json.dumps({"match": "PATCH /v1/convai/settings", "mode": "500", "times": 20}).encode()))
    failed = session.post(f"{stack.base_url}/setup/elevenlabs/{key_id}/create-webhook",
                          data={"_csrf": csrf_from(page.text), "replace": "1"})
    assert failed.status_code == 502, failed.text
    assert el_control(fakes, "/_control/elevenlabs")["webhooks"] == {} and "no secret yet" in failed.text
    urllib.request.urlopen(urllib.request.Request(fakes.elevenlabs + "/_control/reset", method="POST", data=b"{}"))
    done = session.post(f"{stack.base_url}/setup/elevenlabs/{key_id}/create-webhook",
                        data={"_csrf": csrf_from(page.text), "replace": "1"})
    assert done.status_code == 200 and "now posts transcripts and audio" in done.text, done.text
    state = el_control(fakes, "/_control/elevenlabs")
    (webhook_id, webhook), = state["webhooks"].items()
    assert webhook["webhook_url"] == url and webhook["auth_type"] == "hmac"
    assert state["settings"]["webhooks"] == {"post_call_webhook_id": webhook_id, "events": ["transcript", "audio"]}
    assert webhook["secret"] not in done.text and webhook["secret"] not in stack.log()
    assert "secret saved" in done.text
    # The kept secret is the one ElevenLabs signs with: a webhook signed with it is accepted.
    body = json.dumps(transcription("conv_7199", 71_000_099, "Signed with the created secret")).encode()
    path = url[len(PUBLIC_URL):]
    accepted = requests.post(stack.base_url + path, data=body, headers=sign_elevenlabs(webhook["secret"], body))
    assert accepted.status_code == 200, accepted.text
    forged = requests.post(stack.base_url + path, data=body, headers=sign_elevenlabs("wsec_" + "0" * 64, body))
    assert forged.status_code in (401, 403), forged.text

    # Setting up again replaces this server's own webhook (no "replace" needed) and deletes the old one.
    again = session.post(f"{stack.base_url}/setup/elevenlabs/{key_id}/create-webhook", data={"_csrf": csrf_from(page.text)})
    assert again.status_code == 200, again.text
    (new_id, _), = el_control(fakes, "/_control/elevenlabs")["webhooks"].items()
    assert new_id != webhook_id


def test_webhook_set_up_needs_an_https_public_url(tmp_path):
    with ExitStack() as started:
        fakes = Fakes(sessions=0)
        started.callback(fakes.stop)
        s = Stack(tmp_path, VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs)
        started.callback(s.stop)
        s.add_user(*ADMIN)
        s.start()
        session = s.login(*ADMIN)
        page = session.get(s.base_url + "/setup")
        page = session.post(s.base_url + "/setup/elevenlabs", data={"_csrf": csrf_from(page.text), "name": "Main", "api_key": EL_API_KEY})
        key_id = re.search(r'action="/setup/elevenlabs/(\d+)/create-webhook"', page.text).group(1)
        refused = session.post(f"{s.base_url}/setup/elevenlabs/{key_id}/create-webhook", data={"_csrf": csrf_from(page.text)})
        assert refused.status_code == 422 and "over HTTPS only" in refused.text
        assert el_control(fakes, "/_control/elevenlabs")["webhooks"] == {}
