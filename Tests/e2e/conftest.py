import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from stack import Stack  # noqa: E402

ADMIN = ("admin@example.com", "e2e admin password 1")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("stack"))
    try:
        s.run_dir.mkdir(parents=True, exist_ok=True)
        s.add_user(*ADMIN)
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def browser():
    from browser import chromium
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


# pytest must end, also after failures: CI waits for it (90 minutes at most). Each test has a
# time limit (pytest.ini: pytest-timeout), every fixture stops what it started, and, as a last
# resort for whatever a failed test left behind, the session ends by killing the processes
# it started and by not waiting for threads that will not end.

def _descendants(pid):
    """Every process below `pid`, from /proc."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _command(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def pytest_sessionfinish(session, exitstatus):
    session.config.e2e_exit_status = int(exitstatus)
    left = _descendants(os.getpid())
    if not left:
        return
    print(f"\nconftest: killing {len(left)} process(es) the tests left running:", file=sys.stderr)
    for pid in left:
        print(f"  {pid} {_command(pid)[:200]}", file=sys.stderr)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _descendants(os.getpid()):
        time.sleep(0.1)
    for pid in _descendants(os.getpid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """Python waits for every non-daemon thread before it exits: one a failed test left
    looping would hold pytest forever. Give them a moment, then say where they are and exit
    without waiting, with the session's own status."""
    stuck = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    deadline = time.monotonic() + 10
    for thread in stuck:
        thread.join(max(0, deadline - time.monotonic()))
    stuck = [t for t in stuck if t.is_alive()]
    if not stuck:
        return
    frames = sys._current_frames()
    print(f"\nconftest: {len(stuck)} thread(s) still running; exiting without them:", file=sys.stderr)
    for thread in stuck:
        print(f"  {thread.name}:\n" + "".join(traceback.format_stack(frames.get(thread.ident))), file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(getattr(config, "e2e_exit_status", 1))
