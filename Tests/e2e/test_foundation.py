"""Issue 2 end to end: real nginx in front of the real worker, over HTTP."""

import re
import signal
import subprocess
import threading
import time

import requests

from conftest import ADMIN
from stack import Stack, csrf_from


def test_protected_page_redirects_to_login(stack):
    response = requests.get(stack.base_url + "/", allow_redirects=False)
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"


def test_security_headers_and_static_css(stack):
    page = requests.get(stack.base_url + "/login")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["X-Frame-Options"] == "DENY"
    css = requests.get(stack.base_url + "/static/app.css")
    assert css.status_code == 200 and "text/css" in css.headers["Content-Type"]
    assert '<link rel="stylesheet" href="/static/app.css">' in page.text


def test_wrong_password_is_refused(stack):
    session = requests.Session()
    token = csrf_from(session.get(stack.base_url + "/login").text)
    response = session.post(stack.base_url + "/login",
                            data={"email": ADMIN[0], "password": "not the password", "_csrf": token},
                            allow_redirects=False)
    assert response.status_code == 401
    assert "Wrong email or password." in response.text
    assert "vox_session" not in session.cookies
    assert session.get(stack.base_url + "/", allow_redirects=False).status_code == 303


def test_login_reaches_home_and_logout_ends_session(stack):
    session = stack.login(*ADMIN)
    home = session.get(stack.base_url + "/", allow_redirects=False)
    assert home.status_code == 200
    assert ADMIN[0] in home.text and "Next step" in home.text
    cookie = session.cookies.get("vox_session")
    assert cookie

    logout = session.post(stack.base_url + "/logout", data={"_csrf": csrf_from(home.text)}, allow_redirects=False)
    assert logout.status_code == 303
    assert session.get(stack.base_url + "/", allow_redirects=False).status_code == 303
    # The old cookie is dead on the server, not only forgotten by this client.
    replay = requests.get(stack.base_url + "/", cookies={"vox_session": cookie}, allow_redirects=False)
    assert replay.status_code == 303


def test_post_without_csrf_is_forbidden(stack):
    response = requests.post(stack.base_url + "/login", data={"email": ADMIN[0], "password": ADMIN[1]},
                             allow_redirects=False)
    assert response.status_code == 403
    assert "reload the page" in response.text


def test_request_log_has_no_secrets(stack):
    stack.login(*ADMIN)
    log = stack.log()
    line = r"duration_ms=\d+\.\d\d method=POST path=/login request_id=[0-9a-f]{32} status=303 .*request$"
    assert re.search(line, log, re.M), log[-2000:]
    assert ADMIN[1] not in log
    assert "_csrf" not in log and "vox_session" not in log


def test_worker_refuses_oversize_body_with_413(tmp_path):
    small = Stack(tmp_path, VOXFCGI_MAX_BODY_BYTES=2000)
    small.start()
    try:
        session = requests.Session()
        token = csrf_from(session.get(small.base_url + "/login").text)
        response = session.post(small.base_url + "/login",
                                data={"email": "x@example.com", "password": "p" * 5000, "_csrf": token})
        assert response.status_code == 413
        assert "limit here is 2000 bytes" in response.text
        # nginx's own limit (1 MiB for pages) stops far larger bodies before the worker.
        huge = requests.post(small.base_url + "/login", data=b"x" * (2 << 20),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert huge.status_code == 413
    finally:
        small.stop()


def test_sigterm_lets_requests_in_flight_finish(tmp_path):
    s = Stack(tmp_path)
    s.add_user(*ADMIN)
    s.start()
    results = []
    stop = threading.Event()

    def keep_logging_in():
        # Each login spends ~100 ms in scrypt inside the worker: most of the time, some
        # are in flight.
        while not stop.is_set():
            session = requests.Session()
            try:
                page = session.get(s.base_url + "/login", timeout=30)
                if page.status_code != 200:
                    results.append(page.status_code)
                    continue
                token = csrf_from(page.text)
                code = session.post(s.base_url + "/login",
                                    data={"email": ADMIN[0], "password": ADMIN[1], "_csrf": token},
                                    allow_redirects=False, timeout=30).status_code
            except (requests.RequestException, ValueError):
                code = "error"
            results.append(code)

    # Daemon threads, stopped in `finally`: a failed assertion must not leave them looping,
    # which kept pytest from ever exiting.
    threads = [threading.Thread(target=keep_logging_in, daemon=True) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        wait_until = time.monotonic() + 10
        while results.count(303) < 4 and time.monotonic() < wait_until:
            time.sleep(0.02)
        # The threads now sit in their next POSTs (each ~100-500 ms of scrypt on 2 cores).
        time.sleep(0.15)
        # 0: every thread ended before the process exited (a thread still inside libcrypto
        # when exit ran its clean-up killed the worker with SIGABRT or SIGSEGV).
        assert s.stop_worker(signal.SIGTERM) == 0, s.log()[-3000:]
        stop.set()
        for t in threads:
            t.join(timeout=40)

        log = s.log()
        in_flight = int(re.search(r"in_flight=(\d+) .*stopping", log).group(1))
        assert in_flight > 0, "no request was in flight at SIGTERM; the test proved nothing"
        # Every login the worker completed (logged 303) reached its client as a 303: none was
        # cut off by the shutdown. Later ones found the socket gone (nginx: 502).
        completed = len(re.findall(r"method=POST path=/login .*status=303", log))
        assert results.count(303) == completed, (results, completed)
        # 429: nginx's own per-address limit on /login, reached by the 502 retries.
        assert set(results) <= {303, 429, 502}, results
        assert not s.socket.exists()
        # Nothing ran after the worker said it had stopped.
        assert log.rstrip().endswith("stopped"), log[-2000:]
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=40)
        s.stop()
