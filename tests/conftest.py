"""Shared fixtures: the built-in pack library and a helper that checks one caption."""

from __future__ import annotations

from pathlib import Path

import pytest

from complianceguard.engine import Engine
from complianceguard.model import ItemResult, Submission
from complianceguard.packs.loader import PackLibrary

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"


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
