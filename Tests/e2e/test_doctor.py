"""Issue 16, `voxfcgi doctor`: each check prints ok, warn or fail with what to do, against a
running stack (real nginx config, real socket, the fakes as upstreams with their Date headers)."""

import os
import re
import subprocess

import pytest

from conftest import ADMIN
from fakes import Fakes
from stack import BIN, Stack


def doctor(stack, *args):
    result = subprocess.run([BIN, "doctor", *args], env=stack.env, capture_output=True, text=True, timeout=60)
    lines = {}
    for line in result.stdout.splitlines():
        match = re.match(r"(ok|warn|fail)\s+([^:]+): (.*)", line)
        if match:
            lines[match.group(2)] = (match.group(1), match.group(3))
    return result.returncode, lines, result.stdout


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    fakes = Fakes(sessions=0)
    stack = Stack(tmp_path_factory.mktemp("doctor"), VOXFCGI_VOXIMPLANT_URL=fakes.voximplant,
                  VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs)
    try:
        stack.add_user(*ADMIN)
        stack.start()
        yield stack, fakes
    finally:
        stack.stop()
        fakes.stop()


def test_a_healthy_stack_passes(world):
    stack, _ = world
    conf = stack.nginx_conf
    os.chmod(stack.data, 0o750)
    code, lines, out = doctor(stack, "--nginx-conf", str(conf))
    assert code == 0, out
    assert lines["data folder"][0] == "ok" and lines["master key"][0] == "ok", out
    assert lines["socket"][0] == "ok" and "the worker answers" in lines["socket"][1]
    assert lines["nginx -t"][0] == "ok" and "successful" in lines["nginx -t"][1]
    assert lines["map headroom"][0] == "ok"
    # The fakes answer with a Date header: reachable, clocks compared.
    for name in ("Voximplant", "ElevenLabs"):
        assert lines[name][0] == "ok" and "clocks within" in lines[name][1], out


def test_what_is_wrong_is_named_with_what_to_do(world):
    stack, fakes = world
    key = stack.data / "master.key"
    os.chmod(key, 0o644)
    try:
        env = dict(stack.env, VOXFCGI_ELEVENLABS_URL="http://127.0.0.1:9")  # nothing listens on the discard port
        result = subprocess.run([BIN, "doctor", "--nginx-conf", "/nonexistent.conf"], env=env, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 1
        out = result.stdout
        assert re.search(r"^fail master key: .* others can read the key", out, re.M), out
        assert "→ chmod 0600" in out
        assert re.search(r"^fail ElevenLabs: http://127.0.0.1:9 is not reachable", out, re.M), out
        assert re.search(r"^fail nginx -t:", out, re.M)
        assert re.search(r"^\d+ checks: [1-9]\d* failed", out, re.M)
    finally:
        os.chmod(key, 0o600)
