"""Issue 12 end to end: operations. The systemd unit, the production nginx config, the headers
and limits nginx puts on recordings, sign-in and webhooks, nginx's workers running unprivileged
(as root) while still reaching the worker's socket and recordings, and `make run` (scripts/run)
restarting a worker that dies while nginx stays up."""

import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests
import urllib3

from conftest import ADMIN
from fakes import Fakes, create_application
from stack import BIN, ROOT, Stack, free_port, wait_for
from test_recordings import archived, call_events
from test_webhooks import post

NGINX = ROOT / "nginx"
AS_ROOT = os.geteuid() == 0
SANDBOX = "sandbox; default-src 'none'"


def nginx_user():
    return os.environ.get("VOXFCGI_NGINX_USER", "www-data")


def nginx_gid():
    import grp
    import pwd
    return grp.getgrgid(pwd.getpwnam(nginx_user()).pw_gid).gr_gid


def unprivileged_nginx():
    return AS_ROOT and nginx_user() != "root"


@pytest.fixture
def reachable(tmp_path_factory):
    """A folder nginx's workers (www-data) can pass through, for data they must reach. Not under
    pytest's temporary root: pytest makes that 0700 again at every session start (another
    session's too), and nginx-conf leaves folders above the data folder as they are."""
    yield from reachable_folder()


@pytest.fixture(scope="module")
def reachable_module():
    yield from reachable_folder()


def reachable_folder():
    folder = Path(tempfile.mkdtemp(prefix="voxfcgi-ops-"))
    try:
        if unprivileged_nginx():
            os.chown(folder, -1, nginx_gid())
            folder.chmod(0o710)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def assert_recording_headers(response):
    # Exactly the sandbox policy (requests joins repeated headers with ", "), and the security
    # headers that a location with its own add_header would otherwise lose.
    assert response.headers["Content-Security-Policy"] == SANDBOX, response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"


def children(pid):
    """Direct children of pid, with their command lines."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                found[int(child)] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except FileNotFoundError:
                pass
    return found


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def uid_of(pid):
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Uid:\s+(\d+)", status, re.M).group(1))


# ---------------------------------------------------------------------------------------------
# The systemd unit.

def test_systemd_unit_restarts_always_and_is_confined(tmp_path):
    unit = (NGINX / "voxfcgi.service").read_text()
    settings = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    for key, value in [("Restart", "always"), ("User", "voxfcgi"), ("Group", "www-data"),
                       ("ProtectSystem", "strict"), ("ReadWritePaths", "/var/lib/voxfcgi"),
                       ("NoNewPrivileges", "yes"), ("PrivateTmp", "yes"), ("ProtectHome", "yes"),
                       ("PrivateDevices", "yes"), ("UMask", "0027"),
                       ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
                       ("Environment", "VOXFCGI_DATA_DIR=/var/lib/voxfcgi"),
                       ("EnvironmentFile", "-/etc/voxfcgi/voxfcgi.env")]:
        assert value in settings.get(key, []), f"{key}={value} missing"
    assert re.fullmatch(r"[1-9]\d*s?", settings["RestartSec"][0])
    assert settings["ExecStart"][0].endswith("/voxfcgi serve")

    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed (scripts/install-deps test installs systemd)")
    # verify wants ExecStart's binary to exist: point it at the build under test, nothing else.
    copy = tmp_path / "voxfcgi.service"
    copy.write_text(re.sub(r"^ExecStart=\S+", f"ExecStart={BIN}", unit, flags=re.M))
    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if "voxfcgi.service" in line]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------
# The production nginx config.

def test_production_config_passes_nginx_t_and_sends_its_headers_over_tls(tmp_path):
    """voxfcgi.conf with its snippets, as installed, paths moved under tmp_path (as
    scripts/nginx-conf does for the local config), free ports and a throwaway certificate."""
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed (needed for a throwaway certificate)")
    snippets = tmp_path / "snippets"
    snippets.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=admin.example.com", "-keyout", str(tmp_path / "privkey.pem"),
                    "-out", str(tmp_path / "fullchain.pem")], check=True, capture_output=True, timeout=60)
    http_port, https_port = free_port(), free_port()

    def installed(name, target):
        text = (NGINX / name).read_text().replace("/etc/nginx/snippets/", f"{snippets}/")
        # No worker here: nginx answers 502, with the same headers.
        text = text.replace("/var/lib/voxfcgi/", f"{tmp_path}/data/")
        text = text.replace("/etc/letsencrypt/live/admin.example.com/", f"{tmp_path}/")
        # nginx binds the listening sockets, -t too: free loopback ports instead of 80 and 443.
        text = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", text)
        text = text.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
        text = text.replace("listen 443 ", f"listen 127.0.0.1:{https_port} ")
        target.write_text(text)

    installed("voxfcgi-headers.conf", snippets / "voxfcgi-headers.conf")
    installed("voxfcgi-locations.conf", snippets / "voxfcgi-locations.conf")
    installed("voxfcgi-http.conf", tmp_path / "voxfcgi-http.conf")
    installed("voxfcgi.conf", tmp_path / "voxfcgi.conf")
    temp = "".join(f"    {kind}_temp_path {tmp_path}/{kind};\n"
                   for kind in ("client_body", "fastcgi", "proxy", "uwsgi", "scgi"))
    main = tmp_path / "nginx.conf"
    main.write_text(f"""
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log;
events {{}}
http {{
    include /etc/nginx/mime.types;
    access_log off;
{temp}    include {tmp_path}/voxfcgi-http.conf;
    include {tmp_path}/voxfcgi.conf;
}}
""")
    command = ["nginx", "-c", str(main), "-p", str(tmp_path)]
    result = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "[warn]" not in result.stderr and "[emerg]" not in result.stderr, result.stderr

    nginx = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.DEVNULL)  # a pipe nobody reads can block it
    try:
        base = f"https://127.0.0.1:{https_port}"
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # the throwaway certificate

        def up():
            try:
                return requests.get(base + "/healthz", verify=False, timeout=2).status_code == 502
            except requests.RequestException:
                return False

        wait_for(up, timeout=15, what="the production config's nginx")
        page = requests.get(base + "/login", verify=False, timeout=5)
        assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert page.headers["X-Frame-Options"] == "DENY"
        recording = requests.get(base + "/recordings/1", verify=False, timeout=5)
        assert_recording_headers(recording)
        assert recording.headers["Strict-Transport-Security"] == "max-age=31536000"
        plain = requests.get(f"http://127.0.0.1:{http_port}/login", allow_redirects=False, timeout=5)
        assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
        assert "Strict-Transport-Security" not in plain.headers
    finally:
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(timeout=10)
        except subprocess.TimeoutExpired:
            nginx.kill()
            nginx.wait(timeout=10)


def location_block(text, header):
    start = text.index(header)
    return text[start:text.index("\n}", start)]


def test_elevenlabs_webhooks_have_their_own_zone_and_the_only_large_bodies():
    locations = (NGINX / "voxfcgi-locations.conf").read_text()
    http = (NGINX / "voxfcgi-http.conf").read_text()
    per_key = location_block(locations, "location /api/webhook/elevenlabs/ {")
    bare = location_block(locations, "location = /api/webhook/elevenlabs {")
    other = location_block(locations, "location /api/webhook/ {")
    zone = re.search(r"limit_req zone=(\w+)", per_key).group(1)
    assert f"zone={zone}:" in http and zone != re.search(r"limit_req zone=(\w+)", other).group(1)
    assert "client_max_body_size 64m;" in per_key
    assert "client_max_body_size 64k;" in bare and "client_max_body_size 64k;" in other
    assert locations.count("client_max_body_size 64m;") == 1


# ---------------------------------------------------------------------------------------------
# scripts/nginx-conf: who nginx's workers run as, and what they may reach.

def nginx_conf(run_dir, socket, env=None, as_user=None):
    command = [str(ROOT / "scripts" / "nginx-conf"), "127.0.0.1:1", str(run_dir), str(socket)]
    if as_user:
        command = ["setpriv", f"--reuid={as_user}", f"--regid={as_user}", "--clear-groups", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip()).read_text(), result.stderr


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(not unprivileged_nginx(), reason="needs root (nginx can switch user only as root)")
def test_nginx_conf_opens_the_data_folder_to_nginx_and_only_that(reachable):
    data = reachable / "data"
    (data / "lmdb").mkdir(parents=True, mode=0o700)
    (data / "lmdb" / "data.mdb").write_bytes(b"")
    (data / "lmdb" / "data.mdb").chmod(0o600)
    (data / "master.key").write_text("key")
    (data / "master.key").chmod(0o600)
    data.chmod(0o700)
    old = data / "recordings" / "objects" / "calls" / "1" / "2026"
    old.mkdir(parents=True)
    (old / "1.wav").write_bytes(b"RIFF")
    (old / "1.wav").chmod(0o640)
    config, _ = nginx_conf(data / "run", data / "run" / "voxfcgi.sock")

    assert f"user {nginx_user()} " in config
    gid = nginx_gid()
    assert data.stat().st_gid == gid and mode(data) == 0o710
    for shared in [data / "run", data / "recordings", data / "recordings" / "objects", data / "recordings" / "tmp"]:
        info = shared.stat()
        assert info.st_gid == gid and info.st_mode & stat.S_ISGID and mode(shared) & 0o077 == 0o050, shared
    # Recordings from before are given the group; secrets are left alone.
    assert (old / "1.wav").stat().st_gid == gid and old.stat().st_gid == gid
    for secret in [data / "lmdb", data / "lmdb" / "data.mdb", data / "master.key"]:
        assert secret.stat().st_gid == 0 and mode(secret) & 0o077 == 0, secret


@pytest.mark.skipif(not unprivileged_nginx(), reason="needs root (nginx can switch user only as root)")
def test_nginx_conf_keeps_root_workers_when_a_folder_above_is_closed(tmp_path):
    # tmp_path is under pytest's 0700 temporary root, which nginx-conf must not open up.
    data = tmp_path / "data"
    before = {path: (path.stat().st_mode, path.stat().st_gid) for path in [tmp_path, tmp_path.parent]}
    config, err = nginx_conf(data / "run", data / "run" / "voxfcgi.sock")
    assert "user root root;" in config
    assert "stay root" in err and f"cannot pass through {tmp_path} " in err, err
    assert {path: (path.stat().st_mode, path.stat().st_gid) for path in before} == before


@pytest.mark.skipif(not AS_ROOT or not shutil.which("setpriv"), reason="needs root to act as another user")
def test_nginx_conf_not_as_root_has_no_user_line():
    folder = Path(tempfile.mkdtemp(prefix="voxfcgi-ops-"))
    try:
        os.chown(folder, 65534, 65534)
        config, _ = nginx_conf(folder / "run", folder / "run" / "voxfcgi.sock", as_user=65534)
        assert not re.search(r"^\s*user ", config, re.M)
        assert (folder / "run").stat().st_gid == 65534
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Through real nginx.

def test_recordings_answers_are_sandboxed(stack):
    # Not signed in: the worker's redirect to the login page, from location /recordings/.
    anonymous = requests.get(stack.base_url + "/recordings/1", allow_redirects=False)
    assert anonymous.status_code == 303
    assert_recording_headers(anonymous)
    # Signed in, a call without a recording: the worker's 404.
    session = stack.login(*ADMIN)
    missing = session.get(stack.base_url + "/recordings/999999")
    assert missing.status_code == 404
    assert_recording_headers(missing)
    # Pages keep their own policy.
    page = session.get(stack.base_url + "/")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "sandbox" not in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_webhook_body_limits(stack):
    big = b"x" * (100 << 10)

    def by_nginx(response):
        return response.status_code == 413 and "nginx" in response.text

    for path in ["/api/webhook/voximplant", "/api/webhook/elevenlabs", "/api/webhook/other"]:
        response = requests.post(stack.base_url + path, data=big, headers={"Content-Type": "application/json"})
        assert by_nginx(response), (path, response.status_code)
    # A per-key ElevenLabs URL takes large bodies (post_call_audio): this one reaches the worker,
    # whatever it then says of the unknown key.
    token = "A" * 43
    response = requests.post(f"{stack.base_url}/api/webhook/elevenlabs/{token}", data=big,
                             headers={"Content-Type": "application/json"})
    assert not by_nginx(response), response.status_code


def test_login_with_a_trailing_slash_is_rate_limited_too(tmp_path):
    s = Stack(tmp_path)
    try:
        s.start()
        statuses = [requests.get(s.base_url + "/login/", timeout=10).status_code for _ in range(30)]
        # burst=20 nodelay: the first 21 reach the worker (which has no /login/: 404), the
        # rest are refused by nginx, and /login itself shares the same allowance.
        assert set(statuses[:20]) == {404}, statuses
        assert statuses[-1] == 429, statuses
        assert set(statuses) <= {404, 429}, statuses
        assert requests.get(s.base_url + "/login", timeout=10).status_code == 429
    finally:
        s.stop()


@pytest.fixture(scope="module")
def recorded(reachable_module):
    fakes = Fakes(sessions=0)
    s = Stack(reachable_module, VOXFCGI_VOXIMPLANT_URL=fakes.voximplant,
              VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs, VOXFCGI_RECORDING_SOURCES=fakes.voximplant)
    try:
        s.add_user(*ADMIN)
        s.start()
        session = s.login(*ADMIN)
        app_id, secret = create_application(s, session)
        yield s, fakes, session, app_id, secret
    finally:
        s.stop()
        fakes.stop()


def test_recording_on_disk_is_served_by_unprivileged_nginx_with_sandbox_headers(recorded):
    stack, fakes, session, app_id, secret = recorded
    source = fakes.voximplant + "/records/1.wav"
    for event in call_events(app_id, 62_000_001, recording_url=source):
        response = post(stack, event, secret)
        assert response.status_code == 200, response.text
    # The only call of this data folder: its recording is objects/…/<call id>.wav.
    objects = stack.data / "recordings" / "objects"
    [stored] = wait_for(lambda: list(objects.rglob("*.wav")), 30, "the recording on disk")
    call_id = int(stored.stem)
    wait_for(lambda: archived(session, stack, call_id), 30, "the call to have its recording")
    original = requests.get(source).content

    whole = session.get(f"{stack.base_url}/recordings/{call_id}")
    assert whole.status_code == 200 and whole.content == original
    assert_recording_headers(whole)
    part = session.get(f"{stack.base_url}/recordings/{call_id}", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == original[:100]
    assert_recording_headers(part)

    if unprivileged_nginx():
        # nginx's worker process is not root, and reads the recording through its group only.
        workers = [pid for pid, cmd in children(stack.nginx.pid).items() if "worker process" in cmd]
        assert workers and all(uid_of(pid) != 0 for pid in workers)
        info = stored.stat()
        assert info.st_gid == nginx_gid() and stat.S_IMODE(info.st_mode) & 0o007 == 0
        # Secrets stay the worker's alone.
        for secret_path in [stack.data / "master.key", stack.data / "lmdb" / "data.mdb"]:
            assert stat.S_IMODE(secret_path.stat().st_mode) & 0o077 == 0, secret_path


# ---------------------------------------------------------------------------------------------
# scripts/run (`make run`).

class Run:
    """scripts/run in its own session, output to a file; stop() always leaves nothing behind."""

    def __init__(self, directory: Path, bin=BIN):
        self.data = directory / "data"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.output = directory / "run.log"
        env = dict(os.environ, VOXFCGI_BIN=str(bin), VOXFCGI_LISTEN=f"127.0.0.1:{self.port}",
                   VOXFCGI_DATA_DIR=str(self.data), VOXFCGI_THREADS="4")
        env.pop("VOXFCGI_SOCKET", None)
        with open(self.output, "w") as out:
            self.process = subprocess.Popen([str(ROOT / "scripts" / "run")], env=env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self.seen = set()

    def log(self):
        return self.output.read_text()

    def child(self, marker):
        pids = [pid for pid, cmd in children(self.process.pid).items() if marker in cmd]
        for pid in pids:
            self.seen.add(pid)
        return pids[0] if pids else None

    def answers(self):
        try:
            return requests.get(self.base_url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)
        for pid in self.seen:  # anything of ours that left the group
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_run_restarts_a_dead_worker_and_keeps_nginx_up(reachable):
    run = Run(reachable)
    try:
        wait_for(run.answers, timeout=60, what="make run's site")
        assert "First login" in run.log() and "VoxFCGI is running at" in run.log()
        worker, web = run.child("voxfcgi serve"), run.child("nginx: master")
        assert worker and web

        os.kill(worker, signal.SIGKILL)
        wait_for(lambda: "worker was killed by SIGKILL; restarting it in 1 s" in run.log(), timeout=10,
                 what="the restart line")
        wait_for(lambda: run.child("voxfcgi serve") not in (None, worker), timeout=15, what="a new worker")
        wait_for(run.answers, timeout=30, what="the site with the new worker")
        assert run.child("nginx: master") == web and alive(web)

        # Dying again at once waits longer: the backoff doubles.
        second = run.child("voxfcgi serve")
        os.kill(second, signal.SIGKILL)
        wait_for(lambda: "restarting it in 2 s" in run.log(), timeout=10, what="the backed-off restart line")
        wait_for(lambda: run.child("voxfcgi serve") not in (None, second), timeout=15, what="a third worker")
        wait_for(run.answers, timeout=30, what="the site again")
        assert run.child("nginx: master") == web

        if unprivileged_nginx():
            workers = [pid for pid, cmd in children(web).items() if "worker process" in cmd]
            assert workers and all(uid_of(pid) != 0 for pid in workers)
            data = run.data.stat()
            assert data.st_gid == nginx_gid() and stat.S_IMODE(data.st_mode) == 0o710
            assert stat.S_IMODE((run.data / "lmdb").stat().st_mode) == 0o700
            assert stat.S_IMODE((run.data / "master.key").stat().st_mode) == 0o600
            for shared in [run.data / "run", run.data / "recordings" / "objects"]:
                info = shared.stat()
                assert info.st_gid == nginx_gid() and info.st_mode & stat.S_ISGID and info.st_mode & 0o007 == 0

        third = run.child("voxfcgi serve")
        run.process.send_signal(signal.SIGTERM)
        assert run.process.wait(timeout=60) == 0
        assert run.log().rstrip().endswith("stopped"), run.log()[-2000:]
        assert not alive(third) and not alive(web)
    finally:
        run.stop()


def test_run_backs_off_a_worker_that_cannot_start(tmp_path):
    fake = tmp_path / "voxfcgi"
    fake.write_text('#!/bin/sh\n[ "$1" = serve ] && exit 3\necho "First login: none"\n')
    fake.chmod(0o755)
    run = Run(tmp_path, bin=fake)
    try:
        wait_for(lambda: "exited with status 3" in run.log(), timeout=30, what="the first failure")
        time.sleep(4.5)
        delays = [int(d) for d in re.findall(r"worker exited with status 3; restarting it in (\d+) s", run.log())]
        # Dead at once every time: 1 s, then 2, then 4 … not a restart loop.
        assert 2 <= len(delays) <= 4 and delays == [1, 2, 4, 8][:len(delays)], run.log()
        web = run.child("nginx: master")
        assert web and alive(web)
        # Ctrl-C during a backoff pause stops at once.
        run.process.send_signal(signal.SIGINT)
        assert run.process.wait(timeout=15) == 0
        assert "stopped" in run.log() and not alive(web)
    finally:
        run.stop()
