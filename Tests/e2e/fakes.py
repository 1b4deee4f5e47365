"""Starts Tests/fakes/fakes.py (fake Voximplant + ElevenLabs) for end-to-end tests."""

import json
import subprocess
import sys
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VOX_ACCOUNT_ID = "1234567"
VOX_API_KEY = "vox-test-api-key-0000-1111"
EL_API_KEY = "el-test-api-key-2222-3333"


class Fakes:
    def __init__(self, sessions=100, record_every=1, epoch=None, spacing=None):
        extra = (["--epoch", epoch.strftime("%Y-%m-%dT%H:%M:%S")] if epoch else []) + (["--spacing", str(spacing)] if spacing else [])
        self.process = subprocess.Popen([sys.executable, str(ROOT / "Tests" / "fakes" / "fakes.py"), "--sessions", str(sessions),
                                         "--record-every", str(record_every)] + extra,
                                        stdout=subprocess.PIPE, text=True)
        try:
            line = self.process.stdout.readline()
            ports = dict(part.split("=") for part in line.split()[1:])
            assert line.startswith("ready") and "voximplant" in ports, f"the fakes did not start: {line!r}"
        except BaseException:
            self.stop()
            raise
        self.voximplant = f"http://127.0.0.1:{ports['voximplant']}"
        self.elevenlabs = f"http://127.0.0.1:{ports['elevenlabs']}"
        # Where the fake call history starts (a week before now, unless the fake is told):
        # tests derive their date ranges from it, never from a calendar date.
        self.epoch = datetime.fromisoformat(ports["epoch"]).replace(tzinfo=timezone.utc) if ports.get("epoch", "-") != "-" else None

    def get(self, path):
        with urllib.request.urlopen(self.voximplant + path) as response:
            return json.load(response)

    def log(self):
        with urllib.request.urlopen(self.voximplant + "/_control/log") as response:
            return json.load(response)

    def stop(self):
        self.process.kill()
        self.process.wait(timeout=10)


def create_application(stack, session, name="Support", record=True):
    """Through the real pages: a Voximplant account and an ElevenLabs key (the fakes' own), and
    an application on the fake's first number. Returns the application id and its webhook
    secret, read from the full scenario code as the owner's copy button gets it."""
    import re
    from stack import csrf_from

    page = session.get(stack.base_url + "/setup")
    page = session.post(stack.base_url + "/setup/accounts", data={"_csrf": csrf_from(page.text), "name": "Acme",
                                                                  "account_id": VOX_ACCOUNT_ID, "api_key": VOX_API_KEY})
    session.post(stack.base_url + "/setup/elevenlabs", data={"_csrf": csrf_from(page.text), "name": "Main", "api_key": EL_API_KEY})
    form = session.get(stack.base_url + "/applications/new")
    account = re.search(r'name="account" value="(\d+)"', form.text).group(1)
    key = re.search(r'<option value="(\d+)"', form.text.split('name="key"')[1]).group(1)
    fields = {"_csrf": csrf_from(form.text), "account": account, "key": key, "name": name, "number": "74951234567",
              "agent": "agent_support_1"}
    if record:
        fields["record"] = "1"
    created = session.post(stack.base_url + "/applications", data=fields, allow_redirects=False)
    assert created.status_code == 303, created.text
    app_id = int(created.headers["Location"].rsplit("/", 1)[1])
    return app_id, application_secrets(stack, session, app_id)["VOXFCGI_WEBHOOK_SECRET"]


def application_secrets(stack, session, app_id):
    """The secrets the application's scenario reads from Voximplant, as its page's "Copy
    secrets" button gets them (NAME=value lines)."""
    from stack import csrf_from

    detail = session.get(f"{stack.base_url}/applications/{app_id}", timeout=30)
    text = session.post(f"{stack.base_url}/applications/{app_id}/secrets", headers={"X-CSRF-Token": csrf_from(detail.text)},
                        timeout=30).text
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
