"""Issue 14, the scenario simulator: the generated VoxEngine scenario, as "Copy code" gives it,
runs in Node with VoxEngine's objects mocked after Voximplant's typings
(Tests/scenario/simulate.js cites each shape) and plays five call stories. The events it
posts go for real to the worker behind nginx, signed with the secret the deployment would
store on the Voximplant application, and must be accepted."""

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from conftest import ADMIN
from fakes import EL_API_KEY, Fakes, application_secrets, create_application
from stack import Stack, csrf_from, wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    fakes = Fakes(sessions=0)
    stack = Stack(tmp_path_factory.mktemp("scenario"), VOXFCGI_VOXIMPLANT_URL=fakes.voximplant,
                  VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs)
    stack.env["VOXFCGI_PUBLIC_URL"] = stack.base_url
    try:
        stack.add_user(*ADMIN)
        stack.start()
        session = stack.login(*ADMIN)
        app_id, _ = create_application(stack, session)
        detail = session.get(f"{stack.base_url}/applications/{app_id}")
        code = session.post(f"{stack.base_url}/applications/{app_id}/code", headers={"X-CSRF-Token": csrf_from(detail.text)}).text
        scenario = stack.directory / "scenario.js"
        scenario.write_text(code)
        yield stack, session, scenario, application_secrets(stack, session, app_id)
    finally:
        stack.stop()
        fakes.stop()


def play(world, story, session_id, *extra):
    stack, _, scenario, secrets = world
    result = subprocess.run(
        ["node", str(ROOT / "Tests" / "scenario" / "simulate.js"), "--scenario", str(scenario), "--story", story,
         "--session-id", str(session_id), "--secret-webhook", secrets["VOXFCGI_WEBHOOK_SECRET"],
         "--secret-elevenlabs", secrets["VOXFCGI_ELEVENLABS_API_KEY"], *extra],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def stored_call(world, session_id):
    stack, session, _, _ = world
    rows = csv.DictReader(io.StringIO(session.get(stack.base_url + "/calls/export.csv").text))
    return next((r for r in rows if r["voximplant_session_id"] == str(session_id)), None)


def names(trace):
    return [c if isinstance(c, str) else next(iter(c)) for c in trace["calls"]]


def events(trace):
    return [json.loads(p["body"])["type"] for p in trace["posts"]]


def accepted(trace):
    """Every event went with object headers (a content type and a signature) and the worker
    answered 200 (it checks the signature and commits before it answers)."""
    for post in trace["posts"]:
        assert isinstance(post["headers"], dict), post["headers"]
        assert post["headers"]["Content-Type"] == "application/json" and post["headers"]["X-Vox-Signature"].startswith("v1=")
        assert post["code"] == 200, post
    return True


def test_answered_call(world):
    trace = play(world, "answered", 71_000_001)
    assert names(trace) == ["answer", "record", "createAgentsClient", "conversationInitiationClientData", "sendMediaBetween",
                            "close", "hangup", "terminate"]
    parameters = trace["agentParameters"]
    assert parameters["xiApiKey"] == EL_API_KEY and parameters["agentId"] == "agent_support_1"
    assert parameters["onWebSocketClose"] == "function" and "baseUrl" not in parameters
    assert trace["calls"][3]["conversationInitiationClientData"] == {"dynamic_variables": {"vox_session_id": "71000001"}}
    assert trace["calls"][4]["sendMediaBetween"] == ["call", "agent"]
    assert events(trace) == ["call_started", "recording_started", "conversation_started", "call_ended"] and accepted(trace)
    call = stored_call(world, 71_000_001)
    assert call["status"] == "answered" and call["duration_seconds"] == "42" and call["conversation_id"] == "conv_71000001"
    assert trace["logs"] == []


def test_caller_interrupts_the_agent(world):
    trace = play(world, "interrupted", 71_000_002)
    assert "clearMediaBuffer" in names(trace) and names(trace)[-1] == "terminate"
    assert names(trace).index("clearMediaBuffer") > names(trace).index("sendMediaBetween") and accepted(trace)


def test_agent_hangs_up(world):
    trace = play(world, "agent-hangs-up", 71_000_003)
    # No dead air: the agent's closed connection ends the call and the session.
    assert names(trace)[-3:] == ["close", "hangup", "terminate"] and accepted(trace)
    ended = json.loads(trace["posts"][-1]["body"])
    assert ended["type"] == "call_ended" and ended["reason"] == "agent_closed"
    assert stored_call(world, 71_000_003)["status"] == "answered"


def test_elevenlabs_refuses_the_key(world):
    trace = play(world, "key-refused", 71_000_004)
    assert "sendMediaBetween" not in names(trace) and names(trace)[-2:] == ["hangup", "terminate"]
    assert any("could not start" in line and "401" in line for line in trace["logs"]), trace["logs"]
    assert "call_ended" in events(trace) and accepted(trace)
    assert stored_call(world, 71_000_004)["status"] == "failed"


def test_webhook_answers_500(world):
    trace = play(world, "webhook-500", 71_000_005, "--webhook-status", "500")
    # The call goes on and ends normally; each refused event is logged with its type.
    assert names(trace)[-1] == "terminate" and "sendMediaBetween" in names(trace)
    for kind in ("call_started", "conversation_started", "call_ended"):
        assert any(f"event {kind} answered 500" in line for line in trace["logs"]), trace["logs"]


def test_a_base64_hmac_runtime_still_signs_in_hex(world):
    trace = play(world, "answered", 71_000_006, "--hmac", "base64")
    assert accepted(trace) and not any("self-check" in line for line in trace["logs"])
    assert stored_call(world, 71_000_006)["status"] == "answered"
