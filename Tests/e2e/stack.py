"""Starts the real stack for end-to-end tests: the voxfcgi worker on a unix socket and real
nginx in front of it on a free loopback port, each with its own temporary data folder.

Reusable by later test modules: `Stack(tmp_path).start()` gives a base URL, a way to run CLI
subcommands against the same data, and clean shutdown."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = os.environ.get("VOXFCGI_BIN") or str(ROOT / ".build" / "debug" / "voxfcgi")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


class Stack:
    def __init__(self, directory: Path, **settings):
        self.directory = Path(directory)
        self.data = self.directory / "data"
        self.run_dir = self.data / "run"
        self.socket = self.run_dir / "voxfcgi.sock"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ)
        self.env.update({
            "VOXFCGI_DATA_DIR": str(self.data),
            "VOXFCGI_SOCKET": str(self.socket),
            "VOXFCGI_THREADS": "4",
            "VOXFCGI_LOG_LEVEL": "info",
        })
        self.env.update({k: str(v) for k, v in settings.items()})
        self.worker = None
        self.nginx = None
        self.worker_log = self.directory / "worker.log"

    def cli(self, *args, input=None) -> str:
        result = subprocess.run([BIN, *args], env=self.env, input=input, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(f"voxfcgi {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def add_user(self, email, password, role="admin", time_zone="UTC"):
        self.cli("user", "add", "--email", email, "--role", role, "--time-zone", time_zone, "--password-stdin",
                 input=password + "\n")

    def start(self):
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.start_worker()
        conf = subprocess.run(
            [str(ROOT / "scripts" / "nginx-conf"), f"127.0.0.1:{self.port}", str(self.run_dir), str(self.socket)],
            env=self.env, capture_output=True, text=True, check=True).stdout.strip()
        self.nginx = subprocess.Popen(["nginx", "-c", conf, "-p", str(self.run_dir), "-g", "daemon off;"],
                                      stderr=subprocess.PIPE)
        wait_for(self._answers, what="nginx in front of the worker")
        return self

    def start_worker(self):
        # A worker killed with SIGKILL leaves its socket file: wait for the new one, not that.
        self.socket.unlink(missing_ok=True)
        log = open(self.worker_log, "a")
        self.worker = subprocess.Popen([BIN, "serve"], env=self.env, stdout=log, stderr=log)
        wait_for(self.socket.exists, what="the worker's socket")

    def stop_worker(self, sig=signal.SIGTERM, timeout=30):
        if self.worker and self.worker.poll() is None:
            self.worker.send_signal(sig)
            self.worker.wait(timeout=timeout)
        return self.worker.returncode

    def _answers(self):
        try:
            return requests.get(self.base_url + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def log(self) -> str:
        return self.worker_log.read_text() if self.worker_log.exists() else ""

    def stop(self):
        self.stop_worker()
        if self.nginx and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()

    def login(self, email, password) -> requests.Session:
        """A requests session signed in through the real login form."""
        session = requests.Session()
        page = session.get(self.base_url + "/login")
        token = csrf_from(page.text)
        response = session.post(self.base_url + "/login", data={"email": email, "password": password, "_csrf": token},
                                allow_redirects=False)
        assert response.status_code == 303, response.text
        return session


def csrf_from(html: str) -> str:
    marker = 'name="_csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]
