"""Shared fixtures: the built-in pack library and a helper that checks one caption."""

from __future__ import annotations

from pathlib import Path

import pytest

from complianceguard.cache import cache_root
from complianceguard.engine import Engine
from complianceguard.model import ItemResult, Submission
from complianceguard.packs.loader import PackLibrary

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


# Derived model files (joined Whisper parts, converted checkpoints, the decompressed language-ID
# model): content-checked, large and slow to rebuild, so the test cache links to the real ones.
SHARED_CACHE = ("models", "whisper")


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory):
    """Every test run gets its own COMPLIANCEGUARD_CACHE (a test may still set its own): cached
    transcripts, OCR readings and probes from earlier runs or from real scans never decide a test,
    and tests never write into the user's cache. Subprocesses inherit it through the environment."""
    outer = cache_root()
    root = tmp_path_factory.mktemp("cache")
    for name in SHARED_CACHE:
        if (outer / name).is_dir():
            (root / name).symlink_to(outer / name, target_is_directory=True)
    patch = pytest.MonkeyPatch()
    patch.setenv("COMPLIANCEGUARD_CACHE", str(root))
    yield root
    patch.undo()


@pytest.fixture(scope="session")
def library() -> PackLibrary:
    return PackLibrary()


@pytest.fixture(scope="session")
def engine(library: PackLibrary) -> Engine:
    return Engine(library)


@pytest.fixture(scope="session")
def check(engine: Engine):
    """check("caption", "GB", relationship="paid") -> ItemResult"""

    def run(caption: str, *regions: str, **fields) -> ItemResult:
        fields.setdefault("relationship", "paid")
        fields.setdefault("platform", "instagram")
        return engine.evaluate(Submission(id="t", caption=caption, regions=list(regions), **fields))

    return run


def finding(item: ItemResult, region: str, rule: str):
    return next(f for f in item.regions[region].findings if f.rule == rule)


def statuses(item: ItemResult, region: str) -> dict[str, str]:
    return {f.name: f.status for f in item.regions[region].findings}
