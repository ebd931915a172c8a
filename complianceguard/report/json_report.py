"""The JSON report: the versioned record every other format is rendered from."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from complianceguard.model import ItemResult, Report
from complianceguard.report import atomic_write, atomic_writer


def item_json(item: ItemResult) -> str:
    return item.model_dump_json(indent=2, exclude_none=True)


def report_json(report: Report) -> str:
    return report.model_dump_json(indent=2, exclude_none=True) + "\n"


def write(report: Report, out_dir: Path) -> Path:
    path = out_dir / "report.json"
    atomic_write(path, report_json(report))
    return path


ITEMS_TAIL = '"items": []\n}\n'


def write_stream(header: Report, items: Iterable[str], out_dir: Path) -> Path:
    """report.json from a header (a Report with no items) and each item's `item_json`, streamed:
    byte for byte what `write` gives for the whole report, without holding it in memory."""
    head = report_json(header)
    if header.items or not head.endswith(ITEMS_TAIL):
        raise ValueError("write_stream needs a report header without items")
    path = out_dir / "report.json"
    with atomic_writer(path) as out:
        out.write(head[: -len(ITEMS_TAIL) + len('"items": ')].encode("utf-8"))
        separator = b"[\n    "
        for text in items:
            out.write(separator)
            out.write(text.replace("\n", "\n    ").encode("utf-8"))  # one level deeper: items[]
            separator = b",\n    "
        out.write(b"[]\n}\n" if separator == b"[\n    " else b"\n  ]\n}\n")
    return path
