"""Issue 16, reconciliation: after a sync, calls that came by webhook are compared with the
sessions Voximplant's history lists; the Health page names the calls seen on one side only,
and Call History warns when the last hour has such calls. The fake history's sessions belong
to Voximplant application 501, which is not ours (Tests/fakes/fakes.py)."""

import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from conftest import ADMIN
from fakes import Fakes, create_application
from stack import Stack, csrf_from, wait_for
from test_webhooks import post


def test_calls_on_one_side_only_are_named_and_warned_about(tmp_path):
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    # History: sessions 800000000 at now-60 min, 800000001 at -45, 800000002 at -30 (the checkpoint).
    fakes = Fakes(sessions=3, epoch=now - timedelta(minutes=60), spacing=900)
    stack = Stack(tmp_path, VOXFCGI_VOXIMPLANT_URL=fakes.voximplant, VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs)
    try:
        stack.add_user(*ADMIN)
        stack.start()
        session = stack.login(*ADMIN)
        app_id, secret = create_application(stack, session)
        start_ms = int((now - timedelta(minutes=60)).timestamp() * 1000)
        # The first history session also came by webhook: on both sides.
        # Session 777 came only by webhook, 50 minutes ago, and ended.
        for sid, started in ((800_000_000, start_ms), (777, int((now - timedelta(minutes=50)).timestamp() * 1000))):
            for event in ({"type": "call_started", "application_id": app_id, "session_id": sid, "sent_at": started,
                           "from": "+79990001122", "to": "74951234567"},
                          {"type": "call_ended", "application_id": app_id, "session_id": sid, "sent_at": started + 60_000,
                           "duration": 55, "reason": "disconnected"}):
                response = post(stack, event, secret)
                assert response.status_code == 200, response.text
        page = session.get(stack.base_url + "/calls").text
        assert 'id="mismatch-warning"' not in page  # nothing compared yet
        session.post(stack.base_url + "/calls/sync", data={"_csrf": csrf_from(page)})
        health = wait_for(lambda: (lambda text: 'class="reconciliation"' in text and text)(session.get(stack.base_url + "/health").text),
                          30, "the sync's reconciliation")
        row = re.search(r'<tr class="reconciliation">(.*?)</tr>', health, re.S).group(1)
        webhook_only = re.search(r"only by webhook: (\d+)(.*?);", row, re.S)
        assert webhook_only.group(1) == "1", row
        only_webhook_call = re.findall(r'href="/calls/(\d+)"', webhook_only.group(2))
        history_only = re.search(r"only in the history: (\d+) \(of Voximplant applications not deployed here: (\d+)\)(.*?)</span>", row, re.S)
        assert history_only.group(1) == "1" and history_only.group(2) == "1", row  # -45 min; -30 is the checkpoint's own window edge
        # The linked calls are the ones on one side: 777 by webhook, 800000001 in the history.
        call = session.get(f"{stack.base_url}/calls/{only_webhook_call[0]}").text
        assert ">777<" in call or "777" in call
        history_call = re.findall(r'href="/calls/(\d+)"', history_only.group(3))[0]
        assert "800000001" in session.get(f"{stack.base_url}/calls/{history_call}").text
        # A mismatch in the last hour: Call History says so and links to Health.
        page = session.get(stack.base_url + "/calls").text
        assert 'id="mismatch-warning"' in page and 'href="/health"' in page
    finally:
        stack.stop()
        fakes.stop()
