"""Starts the real stack for end-to-end tests: the voxfcgi worker on a unix socket and real
nginx in front of it on a free loopback port, each with its own temporary data folder.

Reusable by later test modules: `Stack(tmp_path).start()` gives a base URL, a way to run CLI
subcommands against the same data, and clean shutdown.

`stop` never hangs and always stops both processes, whatever state a failed test left them
in: every wait has a timeout, after which the process is killed. Neither process writes to
a pipe that nobody reads (a full pipe blocks the writer): the worker logs to worker.log,
nginx to nginx.log."""

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
    """Polls `predicate` until it returns something true, and returns that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
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
            # No backup on schedule unless a test asks for one (test_backups.py).
            "VOXFCGI_BACKUP_EVERY_HOURS": "0",
            # Each stack its own metrics port (the default, 9464, is one per machine).
            "VOXFCGI_METRICS_LISTEN": f"127.0.0.1:{free_port()}",
        })
        self.env.update({k: str(v) for k, v in settings.items()})
        self.worker = None
        self.nginx = None
        self.worker_log = self.directory / "worker.log"
        self.nginx_log = self.directory / "nginx.log"

    def cli(self, *args, input=None, env=None) -> str:
        result = subprocess.run([BIN, *args], env=env or self.env, input=input, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"voxfcgi {' '.join(args)} failed: {result.stderr}")
        return result.stdout

    def add_user(self, email, password, role="admin", time_zone="UTC"):
        self.cli("user", "add", "--email", email, "--role", role, "--time-zone", time_zone, "--password-stdin",
                 input=password + "\n")

    def start(self):
        """Starts the worker, then nginx in front of it. If either fails to come up, whatever
        did start is stopped before the error propagates."""
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.start_worker()
            conf = subprocess.run(
                [str(ROOT / "scripts" / "nginx-conf"), f"127.0.0.1:{self.port}", str(self.run_dir), str(self.socket)],
                env=self.env, capture_output=True, text=True, check=True, timeout=30).stdout.strip()
            self.nginx_conf = conf
            # A process group of its own, so that a kill reaches its worker processes too.
            with open(self.nginx_log, "a") as log:
                self.nginx = subprocess.Popen(["nginx", "-c", conf, "-p", str(self.run_dir), "-g", "daemon off;"],
                                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                              start_new_session=True)
            wait_for(self._answers, what="nginx in front of the worker")
        except BaseException:
            self.stop()
            raise
        return self

    def start_worker(self):
        # A worker killed with SIGKILL leaves its socket file: wait for the new one, not that.
        self.socket.unlink(missing_ok=True)
        with open(self.worker_log, "a") as log:
            self.worker = subprocess.Popen([BIN, "serve"], env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        wait_for(lambda: self.socket.exists() or self.worker.poll() is not None, what="the worker's socket")
        if self.worker.poll() is not None:
            raise RuntimeError(f"the worker exited at start ({self.worker.returncode}): {self.log()[-2000:]}")

    def stop_worker(self, sig=signal.SIGTERM, timeout=30):
        """Sends `sig` and returns the exit status. A worker still running after `timeout` is
        killed, and that is an error: it did not stop as asked."""
        if self.worker is None:
            return None
        if self.worker.poll() is None:
            self.worker.send_signal(sig)
            try:
                self.worker.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _kill(self.worker)
                raise TimeoutError(f"the worker did not exit within {timeout} s of signal {sig}; killed it")
        return self.worker.returncode

    def _answers(self):
        try:
            return requests.get(self.base_url + "/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def log(self) -> str:
        return self.worker_log.read_text() if self.worker_log.exists() else ""

    def stop(self):
        """Stops the worker (SIGTERM) and nginx (SIGQUIT), killing either if it does not exit
        in time. Safe to call more than once, and after a failed start. Raises afterwards if
        the worker had to be killed."""
        try:
            self.stop_worker()
        finally:
            if self.nginx and self.nginx.poll() is None:
                self.nginx.send_signal(signal.SIGQUIT)
                try:
                    self.nginx.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    _kill(self.nginx, group=True)

    def login(self, email, password) -> requests.Session:
        """A requests session signed in through the real login form."""
        session = requests.Session()
        page = session.get(self.base_url + "/login")
        token = csrf_from(page.text)
        response = session.post(self.base_url + "/login", data={"email": email, "password": password, "_csrf": token},
                                allow_redirects=False)
        assert response.status_code == 303, response.text
        return session


def _kill(process, group=False):
    try:
        os.killpg(process.pid, signal.SIGKILL) if group else process.kill()
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass  # unkillable (stuck in the kernel): nothing more a test can do


def csrf_from(html: str) -> str:
    marker = 'name="_csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start:html.index('"', start)]
