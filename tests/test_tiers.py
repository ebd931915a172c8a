"""The test tiers: `make test-fast` leaves out media, install, server and slow tests; every run has its own cache."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from complianceguard.cache import cache_root

ROOT = Path(__file__).resolve().parents[1]


def test_tests_run_on_their_own_cache(isolated_cache):
    assert os.environ["COMPLIANCEGUARD_CACHE"] == str(isolated_cache)
    assert cache_root() == isolated_cache


def test_the_tier_markers_are_registered_and_used():
    markers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["markers"]
    assert {m.split(":")[0] for m in markers} >= {"media", "install", "server", "slow"}
    for name in ("test_api.py", "test_api_hostile.py", "test_api_review.py", "test_batch_queue.py",
                 "test_html_report.py"):
        assert "pytestmark = pytest.mark.server" in (ROOT / "tests" / name).read_text(), name
    assert 'pytest -q -m "not media and not install and not server and not slow"' in (ROOT / "Makefile").read_text()
