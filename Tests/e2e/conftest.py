import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from stack import Stack  # noqa: E402

ADMIN = ("admin@example.com", "e2e admin password 1")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = Stack(tmp_path_factory.mktemp("stack"))
    s.run_dir.mkdir(parents=True, exist_ok=True)
    s.add_user(*ADMIN)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def browser():
    from browser import chromium
    driver = chromium()
    yield driver
    driver.quit()
