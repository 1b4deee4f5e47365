"""Issue 16, backups: an online backup taken under webhook load, the worker SIGKILLed, the
backup restored into a new data folder and a worker started on it. Every call acknowledged
before the backup began is there, the statistics agree with the calls, and the saved API
keys open with the same master key. Also: restore refuses a folder in use and a corrupted
snapshot, the Backups page and "Back up now", and backups into S3 (moto, signatures checked)."""

import csv
import gzip
import io
import json
import re
import shutil
import signal
import threading
import time

import pytest

from conftest import ADMIN
from fakes import Fakes, create_application
from s3 import S3
from stack import Stack, csrf_from, wait_for
from test_recordings import storage_form
from test_webhooks import post


def call_events(app_id, session_id):
    now = int(time.time() * 1000)
    return [
        {"type": "call_started", "application_id": app_id, "session_id": session_id, "sent_at": now - 30_000,
         "from": f"+7999{session_id % 10_000_000:07d}", "to": "74951234567", "direction": "inbound"},
        {"type": "call_ended", "application_id": app_id, "session_id": session_id, "sent_at": now,
         "duration": 25, "reason": "disconnected"},
    ]


class Load:
    """Posts calls one after another until stopped; remembers when each was acknowledged."""

    def __init__(self, stack, app_id, secret):
        self.stack, self.app_id, self.secret = stack, app_id, secret
        self.acknowledged = []  # (monotonic time of the 200, session id)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        session_id = 71_000_000
        while not self.stopping.is_set():
            session_id += 1
            try:
                for event in call_events(self.app_id, session_id):
                    response = post(self.stack, event, self.secret)
                    if response.status_code != 200:
                        break
                else:
                    self.acknowledged.append((time.monotonic(), session_id))
            except Exception:  # the worker is killed under us at the end
                return

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(timeout=30)


def exported_sessions(stack, session):
    text = session.get(stack.base_url + "/calls/export.csv").text
    return {int(row["voximplant_session_id"]) for row in csv.DictReader(io.StringIO(text)) if row["voximplant_session_id"]}


def test_a_backup_under_load_restores_into_a_working_site(tmp_path):
    fakes = Fakes(sessions=0)
    old = Stack(tmp_path / "old", VOXFCGI_VOXIMPLANT_URL=fakes.voximplant, VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs)
    new = None
    try:
        old.add_user(*ADMIN)
        old.start()
        session = old.login(*ADMIN)
        app_id, secret = create_application(old, session)
        with Load(old, app_id, secret) as load:
            wait_for(lambda: len(load.acknowledged) >= 30, 60, "calls before the backup")
            began = time.monotonic()
            out = old.cli("backup", "create")
            wait_for(lambda: load.acknowledged[-1][0] > time.monotonic() - 0.5 and len(load.acknowledged) > 40, 30,
                     "calls after the backup")
            before = {sid for at, sid in load.acknowledged if at < began}
            old.stop_worker(signal.SIGKILL)
        name = re.search(r"backup (voxfcgi-\d{8}T\d{6}Z):", out).group(1)
        assert "its secrets need master key 1 " in out or "master keys 1" in out, out

        listed = old.cli("backup", "list")
        assert name in listed
        manifest = json.loads((old.data / "recordings" / "objects" / "backups" / f"{name}.json").read_text())
        assert manifest["schemaVersion"] >= 4 and manifest["masterKeyIDs"] == [1] and len(manifest["sha256"]) == 64
        snapshot = (old.data / "recordings" / "objects" / "backups" / f"{name}.mdb.gz").read_bytes()
        assert len(snapshot) == manifest["size"] and len(gzip.decompress(snapshot)) == manifest["databaseBytes"]

        # A live data folder is never overwritten.
        with pytest.raises(RuntimeError, match="not empty"):
            old.cli("backup", "restore", name, "--into", str(old.data))

        # The master key is not in the backup: it goes to the new machine by its own way.
        restored = old.cli("backup", "restore", name, "--into", str(tmp_path / "new" / "data"))
        assert "the current key file has them" in restored, restored
        shutil.copy(old.data / "master.key", tmp_path / "new" / "data" / "master.key")
        new = Stack(tmp_path / "new", VOXFCGI_VOXIMPLANT_URL=fakes.voximplant, VOXFCGI_ELEVENLABS_URL=fakes.elevenlabs)
        new.start()
        session = new.login(*ADMIN)
        present = exported_sessions(new, session)
        assert len(before) >= 30 and before <= present, sorted(before - present)[:10]
        # The statistics were restored with the calls they count.
        stats = session.get(new.base_url + "/statistics?from=&to=").text
        total = int(re.search(r'id="total-calls">([\d\u2009\u202f ,]+)<', stats).group(1).replace("\u2009", "").replace("\u202f", "").replace(" ", "").replace(",", ""))
        assert total == len(present)
        # The saved Voximplant API key opens: "Test connection" reaches the fake with it.
        page = session.get(new.base_url + "/setup").text
        account = re.search(r'action="/setup/accounts/(\d+)/test"', page).group(1)
        tested = session.post(f"{new.base_url}/setup/accounts/{account}/test", data={"_csrf": csrf_from(page)})
        assert tested.status_code == 200 and "acme-voice" in tested.text, tested.text[-500:]
    finally:
        if new:
            new.stop()
        old.stop()
        fakes.stop()


def test_restore_refuses_a_corrupt_snapshot_and_a_bad_name(tmp_path):
    stack = Stack(tmp_path / "site")
    stack.add_user(*ADMIN)
    out = stack.cli("backup", "create")
    name = re.search(r"backup (voxfcgi-\d{8}T\d{6}Z):", out).group(1)
    path = stack.data / "recordings" / "objects" / "backups" / f"{name}.mdb.gz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="SHA-256"):
        stack.cli("backup", "restore", name, "--into", str(tmp_path / "restored"))
    assert not (tmp_path / "restored" / "lmdb" / "data.mdb").exists()
    for bad in ["../../etc/passwd", "voxfcgi-2026", "voxfcgi-20261202T221500Z/../x"]:
        with pytest.raises(RuntimeError, match="not a backup name"):
            stack.cli("backup", "restore", bad, "--into", str(tmp_path / "other"))


def test_backups_page_and_back_up_now(tmp_path):
    stack = Stack(tmp_path / "site", VOXFCGI_BACKUP_EVERY_HOURS="24", VOXFCGI_BACKUP_KEEP_DAILY="3")
    try:
        stack.add_user(*ADMIN)
        stack.start()
        session = stack.login(*ADMIN)
        # The schedule takes the first backup on its own (there is none yet).
        page = wait_for(lambda: (lambda text: "<code>voxfcgi-" in text and text)(session.get(stack.base_url + "/backups").text),
                        60, "the scheduled backup")
        assert "A backup every 24 h" in page and "last 3 days" in page
        first = re.findall(r"<code>(voxfcgi-\d{8}T\d{6}Z)</code>", page)
        time.sleep(1.1)  # names are per second
        queued = session.post(stack.base_url + "/backups", data={"_csrf": csrf_from(page)}, allow_redirects=False)
        assert queued.status_code == 303 and queued.headers["Location"] == "/backups?queued=1"
        page = wait_for(lambda: (lambda text: re.findall(r"<code>(voxfcgi-\d{8}T\d{6}Z)</code>", text) not in ([], first) and text)(
            session.get(stack.base_url + "/backups").text), 60, "the requested backup")
        # Both were taken today: the policy keeps the newest of the day, so the first is pruned,
        # and both runs are listed.
        listed = re.findall(r"<code>(voxfcgi-\d{8}T\d{6}Z)</code>", page)
        assert len(listed) == 1 and listed != first and 'id="backup-error"' not in page
        runs = re.search(r'id="backup-runs">(.*?)</table>', page, re.S).group(1)
        assert first[0] in runs and listed[0] in runs
        audit = session.get(stack.base_url + "/audit?action=backup-requested").text
        assert "backup now" in audit
    finally:
        stack.stop()


def test_backup_into_s3_streams_in_parts_and_restores(tmp_path):
    bucket = S3("voxfcgi-backups")
    stack = Stack(tmp_path / "site")
    try:
        stack.add_user(*ADMIN)
        # Enough demo calls that the snapshot takes more than one 5 MiB part.
        stack.cli("seed-demo", "--calls", "60000", "--days", "30")
        stack.start()
        session = stack.login(*ADMIN)
        page = session.get(stack.base_url + "/setup/storage")
        saved = session.post(stack.base_url + "/setup/storage",
                             data={"_csrf": csrf_from(page.text), **storage_form(bucket, bucket.secret_key)})
        assert saved.status_code == 200, saved.text[-300:]
        out = stack.cli("backup", "create")
        found = re.search(r"backup (voxfcgi-\d{8}T\d{6}Z): (\d+) bytes", out)
        name, size = found.group(1), int(found.group(2))
        assert size > 5 << 20, out  # a multipart upload, in parts read from the pipe
        keys = bucket.keys("backups/")
        assert keys.get(f"backups/{name}.mdb.gz") == size and f"backups/{name}.json" in keys
        assert bucket.uploads_in_progress() == []
        assert not (stack.data / "recordings" / "objects" / "backups").exists()
        env = dict(stack.env, AWS_ACCESS_KEY_ID=bucket.access_key, AWS_SECRET_ACCESS_KEY=bucket.secret_key)
        restored = stack.cli("backup", "restore", name, "--into", str(tmp_path / "restored"), "--s3-endpoint", bucket.endpoint,
                             "--s3-bucket", bucket.bucket, env=env)
        assert "restored " + name in restored
        assert (tmp_path / "restored" / "lmdb" / "data.mdb").stat().st_size > 5 << 20
    finally:
        stack.stop()
        bucket.stop()
