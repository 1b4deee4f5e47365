"""Issue 16, production install: scripts/install into a throw-away root, then the installed
files run as a site. Not a chroot (debootstrap needs a Debian mirror, and there is no
network here): every installed path, mode and owner is checked, the unit goes through
`systemd-analyze verify`, and the installed binary, templates, static files, nginx files and
certificate are started together, the worker as the new `voxfcgi` user, nginx's workers as
www-data, with only the installed files' absolute paths moved under the root."""

import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests
import socket
import ssl

import urllib3

from stack import BIN, ROOT, csrf_from, free_port, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="scripts/install runs as root (CI does)")

DOMAIN = "admin.test.example"
INSTALL = ROOT / "scripts" / "install"


def run_install(root, *extra):
    return subprocess.run([str(INSTALL), "--root", str(root), "--bin", BIN, "--domain", DOMAIN, *extra],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def installed():
    """A fake root with the host's passwd and group (www-data is there, voxfcgi is not), in a
    folder www-data can pass through (pytest's own temporary root is 0700)."""
    root = Path(tempfile.mkdtemp(prefix="voxfcgi-root-", dir="/tmp"))
    os.chmod(root, 0o755)
    (root / "etc").mkdir()
    for name in ("passwd", "group"):
        lines = [line for line in Path(f"/etc/{name}").read_text().splitlines(keepends=True)
                 if not line.startswith("voxfcgi:")]
        (root / "etc" / name).write_text("".join(lines))
    host = {name: digest(Path(f"/etc/{name}")) for name in ("passwd", "group", "shadow") if Path(f"/etc/{name}").exists()}
    result = run_install(root)
    assert result.returncode == 0, result.stdout + result.stderr
    yield root, host, result.stdout
    shutil.rmtree(root, ignore_errors=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ids(root):
    uid = next(int(l.split(":")[2]) for l in (root / "etc/passwd").read_text().splitlines() if l.startswith("voxfcgi:"))
    gid = next(int(l.split(":")[2]) for l in (root / "etc/group").read_text().splitlines() if l.startswith("www-data:"))
    return uid, gid


def mode_of(path: Path):
    st = path.lstat()
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


def tree(root: Path):
    """Every path with its mode, owner, link target and content hash."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if rel in ("etc/passwd-", "etc/group-") or rel.startswith("site/"):
            continue
        m = mode_of(path)
        out[rel] = (m, os.readlink(path) if path.is_symlink() else
                    digest(path) if path.is_file() else None)
    return out


def test_every_path_has_its_mode_and_owner_and_the_host_is_untouched(installed):
    root, host, _ = installed
    for name, before in host.items():
        assert digest(Path(f"/etc/{name}")) == before, f"the host's /etc/{name} changed"
    passwd = (root / "etc/passwd").read_text()
    user = next(l for l in passwd.splitlines() if l.startswith("voxfcgi:")).split(":")
    uid, gid = ids(root)
    assert user[5:] == ["/var/lib/voxfcgi", "/usr/sbin/nologin"] and int(user[3]) == gid
    assert uid < 1000, "a system user"

    root_owned = (0, 0)
    expected = {
        "opt/voxfcgi": (0o755, *root_owned),
        "opt/voxfcgi/voxfcgi": (0o755, *root_owned),
        "usr/share/voxfcgi/static": (0o755, *root_owned),
        "etc/nginx/conf.d/voxfcgi-http.conf": (0o644, *root_owned),
        "etc/nginx/snippets/voxfcgi-locations.conf": (0o644, *root_owned),
        "etc/nginx/snippets/voxfcgi-headers.conf": (0o644, *root_owned),
        "etc/nginx/sites-available/voxfcgi.conf": (0o644, *root_owned),
        "etc/systemd/system/voxfcgi.service": (0o644, *root_owned),
        "etc/voxfcgi": (0o750, *root_owned),
        "etc/voxfcgi/voxfcgi.env": (0o600, *root_owned),
        "etc/voxfcgi/tls": (0o700, *root_owned),
        "etc/voxfcgi/tls/privkey.pem": (0o600, *root_owned),
        "var/lib/voxfcgi": (0o750, uid, gid),
    }
    for rel, want in expected.items():
        assert mode_of(root / rel) == want, f"{rel}: {mode_of(root / rel)} != {want}"

    assert digest(root / "opt/voxfcgi/voxfcgi") == digest(Path(BIN))
    for source, target in [(Path(BIN).parent / "VoxFCGI_VoxWeb.resources", root / "opt/voxfcgi/VoxFCGI_VoxWeb.resources"),
                           (ROOT / "static", root / "usr/share/voxfcgi/static")]:
        files = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file())
        assert files and files == sorted(p.relative_to(target) for p in target.rglob("*") if p.is_file())
        for rel in files:
            assert digest(source / rel) == digest(target / rel)
            assert mode_of(target / rel) == (0o644, 0, 0)
    for name, dest in [("voxfcgi-http.conf", "conf.d"), ("voxfcgi-locations.conf", "snippets"),
                       ("voxfcgi-headers.conf", "snippets")]:
        assert digest(root / "etc/nginx" / dest / name) == digest(ROOT / "nginx" / name)

    assert os.readlink(root / "etc/nginx/sites-enabled/voxfcgi.conf") == "../sites-available/voxfcgi.conf"
    assert os.readlink(root / "etc/systemd/system/multi-user.target.wants/voxfcgi.service") == \
        "/etc/systemd/system/voxfcgi.service"
    site = (root / "etc/nginx/sites-available/voxfcgi.conf").read_text()
    assert f"server_name {DOMAIN};" in site and "example.com" not in site
    assert "ssl_certificate     /etc/voxfcgi/tls/fullchain.pem;" in site
    assert f"VOXFCGI_PUBLIC_URL=https://{DOMAIN}\n" in (root / "etc/voxfcgi/voxfcgi.env").read_text()


def test_a_second_run_changes_nothing_and_keeps_what_the_operator_edited(installed):
    root, host, _ = installed
    before = tree(root)
    again = run_install(root)
    assert again.returncode == 0, again.stderr
    assert tree(root) == before

    # The operator's: kept. Ours: replaced (an upgrade), with the modes put back.
    env = root / "etc/voxfcgi/voxfcgi.env"
    site = root / "etc/nginx/sites-available/voxfcgi.conf"
    env.write_text(env.read_text() + "VOXFCGI_THREADS=6\n")
    os.chmod(env, 0o644)
    site.write_text(site.read_text().replace("ssl_session_timeout 1d;", "ssl_session_timeout 4h;"))
    css = root / "usr/share/voxfcgi/static/app.css"
    css.write_text("/* stale */")
    (root / "usr/share/voxfcgi/static/old.js").write_text("stale")
    upgrade = run_install(root)
    assert upgrade.returncode == 0, upgrade.stderr
    assert "VOXFCGI_THREADS=6" in env.read_text() and mode_of(env) == (0o600, 0, 0)
    assert "ssl_session_timeout 4h;" in site.read_text()
    assert digest(css) == digest(ROOT / "static/app.css")
    assert not (root / "usr/share/voxfcgi/static/old.js").exists()
    assert not list(root.rglob("*.new")) and not list(root.rglob("*.old"))
    assert sum(1 for l in (root / "etc/passwd").read_text().splitlines() if l.startswith("voxfcgi:")) == 1
    for name, value in host.items():
        assert digest(Path(f"/etc/{name}")) == value


def test_bad_arguments_are_refused_before_anything_is_written(tmp_path):
    (tmp_path / "etc").mkdir()
    for name in ("passwd", "group"):
        shutil.copy(f"/etc/{name}", tmp_path / "etc" / name)
    for args, message in [(["--domain", "evil.example; include /etc/shadow"], "is not a host name"),
                          (["--cert", "/x.pem"], "--cert needs --key"),
                          (["--frobnicate"], "unknown option")]:
        result = subprocess.run([str(INSTALL), "--root", str(tmp_path), "--bin", BIN, *args],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode != 0 and message in result.stderr, result.stderr
    assert sorted(p.name for p in (tmp_path / "etc").iterdir()) == ["group", "passwd"]
    missing = subprocess.run([str(INSTALL), "--root", str(tmp_path), "--bin", str(tmp_path / "nope")],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "not an executable" in missing.stderr


def test_the_installed_unit_passes_systemd_analyze_verify(installed):
    root, _, _ = installed
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed (scripts/install-deps test installs systemd)")
    unit = (root / "etc/systemd/system/voxfcgi.service").read_text()
    assert "ExecStart=/opt/voxfcgi/voxfcgi serve" in unit
    # verify wants ExecStart's binary on this host: the installed one, where it was installed.
    copy = root / "site" / "voxfcgi.service"
    copy.parent.mkdir(exist_ok=True)
    copy.write_text(unit.replace("ExecStart=/opt/", f"ExecStart={root}/opt/"))
    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, timeout=60)
    complaints = [l for l in (result.stdout + result.stderr).splitlines() if "voxfcgi.service" in l]
    assert result.returncode == 0 and not complaints, result.stdout + result.stderr


def test_the_installed_files_serve_the_site_over_tls(installed):
    """nginx -t, then nginx and the installed worker as a site: the worker as voxfcgi (its
    uid from the root's passwd), nginx's workers as www-data."""
    root, _, _ = installed
    uid, gid = ids(root)
    site = root / "site"
    (site / "conf.d").mkdir(parents=True, exist_ok=True)
    (site / "sites-enabled").mkdir(exist_ok=True)
    http_port, https_port = free_port(), free_port()

    def moved(text):
        for path in ("/etc/nginx/snippets/", "/etc/voxfcgi/", "/var/lib/voxfcgi/", "/usr/share/voxfcgi/"):
            text = text.replace(path, f"{root}{path}")
        text = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", text)
        text = text.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
        return text.replace("listen 443 ", f"listen 127.0.0.1:{https_port} ")

    (site / "conf.d/voxfcgi-http.conf").write_text(moved((root / "etc/nginx/conf.d/voxfcgi-http.conf").read_text()))
    (site / "sites-enabled/voxfcgi.conf").write_text(moved((root / "etc/nginx/sites-enabled/voxfcgi.conf").read_text()))
    for name in ("voxfcgi-locations.conf", "voxfcgi-headers.conf"):
        path = root / "etc/nginx/snippets" / name
        path.write_text(moved(path.read_text()))
    (site / "nginx.conf").write_text(f"""
user www-data;
worker_processes 1;
pid {site}/nginx.pid;
error_log {site}/error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path {site}/body;
    fastcgi_temp_path {site}/fastcgi;
    proxy_temp_path {site}/proxy;
    uwsgi_temp_path {site}/uwsgi;
    scgi_temp_path {site}/scgi;
    include {site}/conf.d/*.conf;
    include {site}/sites-enabled/*;
}}
""")
    check = subprocess.run(["nginx", "-t", "-c", str(site / "nginx.conf"), "-p", str(site)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr

    data = root / "var/lib/voxfcgi"
    env = {"PATH": os.environ["PATH"], "VOXFCGI_DATA_DIR": str(data), "VOXFCGI_BACKUP_EVERY_HOURS": "0",
           "VOXFCGI_METRICS_LISTEN": f"127.0.0.1:{free_port()}", "VOXFCGI_THREADS": "2"}
    as_voxfcgi = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]

    def worker_user():
        os.umask(0o027)  # the unit's UMask

    binary = str(root / "opt/voxfcgi/voxfcgi")
    # The unit's ExecStartPre, then the first login as the README has it (runuser, here setpriv).
    subprocess.run([*as_voxfcgi, "install", "-d", "-m", "0700", str(data / "lmdb")], check=True, timeout=30)
    first = subprocess.run([*as_voxfcgi, binary, "first-admin"], env=env, capture_output=True, text=True,
                           timeout=60, preexec_fn=worker_user)
    assert first.returncode == 0, first.stderr
    email, password = re.search(r"email: (\S+)\s+password: (\S+)", first.stdout).groups()

    log = open(site / "worker.log", "w")
    worker = subprocess.Popen([*as_voxfcgi, binary, "serve"], env=env, stdout=log, stderr=log,
                              stdin=subprocess.DEVNULL, preexec_fn=worker_user)
    nginx = None
    try:
        wait_for(lambda: (data / "run/voxfcgi.sock").exists() or worker.poll() is not None, what="the socket")
        assert worker.poll() is None, (site / "worker.log").read_text()
        nginx = subprocess.Popen(["nginx", "-c", str(site / "nginx.conf"), "-p", str(site), "-g", "daemon off;"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        base = f"https://127.0.0.1:{https_port}"
        https = requests.Session()
        # The certificate names the domain, not 127.0.0.1: checked once below, by name.
        https.verify = False
        https.trust_env = False  # else REQUESTS_CA_BUNDLE in the environment overrides verify
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

        last = []

        def up():
            try:
                return https.get(base + "/healthz", timeout=2).status_code == 200
            except requests.RequestException as error:
                last[:] = [error]
                return False
        try:
            wait_for(up, what="nginx over TLS in front of the installed worker")
        except TimeoutError:
            errors = (site / "error.log").read_text() if (site / "error.log").exists() else ""
            raise AssertionError(f"{last}\n{errors[-2000:]}\n{(site / 'worker.log').read_text()[-2000:]}")

        trusted = ssl.create_default_context(cafile=str(root / "etc/voxfcgi/tls/fullchain.pem"))
        with socket.create_connection(("127.0.0.1", https_port), timeout=5) as raw:
            with trusted.wrap_socket(raw, server_hostname=DOMAIN) as tls:
                assert tls.version() in ("TLSv1.2", "TLSv1.3")

        plain = requests.get(f"http://127.0.0.1:{http_port}/calls", allow_redirects=False, timeout=5)
        assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
        css = https.get(base + "/static/app.css", timeout=5)
        assert css.status_code == 200 and css.content == (ROOT / "static/app.css").read_bytes()
        login = https.get(base + "/login", timeout=5)
        assert login.status_code == 200 and "max-age=31536000" in login.headers["Strict-Transport-Security"]
        signed = https.post(base + "/login", data={"email": email, "password": password, "_csrf": csrf_from(login.text)},
                            allow_redirects=False, timeout=10)
        assert signed.status_code == 303, signed.text
        assert "Secure" in signed.headers["Set-Cookie"]
        home = https.get(base + "/", timeout=10)
        assert home.status_code == 200 and email in home.text

        # What the worker made is its own: the key and LMDB unreadable to nginx's group.
        assert mode_of(data / "lmdb")[0] == 0o700 and mode_of(data / "lmdb")[1] == uid
        key = next(data.glob("master.key*"))
        assert mode_of(key)[0] & 0o077 == 0 and mode_of(key)[1] == uid
        assert stat.S_IMODE((data / "run/voxfcgi.sock").stat().st_mode) & 0o007 == 0
    finally:
        if nginx:
            nginx.send_signal(signal.SIGQUIT)
            nginx.wait(timeout=10)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        log.close()
