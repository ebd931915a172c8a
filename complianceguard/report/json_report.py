"""The JSON report: the versioned record every other format is rendered from."""

from __future__ import annotations

from pathlib import Path

from complianceguard.model import ItemResult, Report
from complianceguard.report import atomic_write


def item_json(item: ItemResult) -> str:
    return item.model_dump_json(indent=2, exclude_none=True)


def report_json(report: Report) -> str:
    return report.model_dump_json(indent=2, exclude_none=True) + "\n"


def write(report: Report, out_dir: Path) -> Path:
    path = out_dir / "report.json"
    atomic_write(path, report_json(report))
    return path
