"""Starts Tests/fakes/fakes.py (fake Voximplant + ElevenLabs) for end-to-end tests."""

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VOX_ACCOUNT_ID = "1234567"
VOX_API_KEY = "vox-test-api-key-0000-1111"
EL_API_KEY = "el-test-api-key-2222-3333"


class Fakes:
    def __init__(self, sessions=100):
        self.process = subprocess.Popen([sys.executable, str(ROOT / "Tests" / "fakes" / "fakes.py"), "--sessions", str(sessions)],
                                        stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        ports = dict(part.split("=") for part in line.split()[1:])
        self.voximplant = f"http://127.0.0.1:{ports['voximplant']}"
        self.elevenlabs = f"http://127.0.0.1:{ports['elevenlabs']}"

    def log(self):
        with urllib.request.urlopen(self.voximplant + "/_control/log") as response:
            return json.load(response)

    def stop(self):
        self.process.kill()
        self.process.wait()
