"""`voxfcgi vault` against a real data folder: rotate, status, retire, and the worker still
opens every secret afterwards."""

import re

from conftest import ADMIN
from stack import Stack, csrf_from


def test_rotate_then_retire(tmp_path):
    s = Stack(tmp_path)
    s.add_user(*ADMIN)
    s.start()
    try:
        session = s.login(*ADMIN)
        page = session.get(s.base_url + "/setup")
        for i in range(3):
            page = session.post(s.base_url + "/setup/accounts", data={
                "_csrf": csrf_from(page.text), "name": f"A{i}", "account_id": str(100 + i), "api_key": f"secret-key-{i}-abcdef"})
        masks_before = re.findall(r"<code>(•+\w{4})</code>", page.text)
        s.stop_worker()

        assert "key 1 (active): 3 secrets" in s.cli("vault", "status")
        out = s.cli("vault", "rotate")
        assert "added master key 2" in out and "re-sealed 3 secrets; 0 left" in out
        assert "key 2 (active): 3 secrets" in s.cli("vault", "status")
        assert "retired master key 1" in s.cli("vault", "retire", "--key-id", "1")
        assert (s.data / "master.key").stat().st_mode & 0o777 == 0o600

        s.start_worker()
        session = s.login(*ADMIN)
        page = session.get(s.base_url + "/setup")
        assert re.findall(r"<code>(•+\w{4})</code>", page.text) == masks_before
        assert "abcdef" not in page.text
    finally:
        s.stop()
