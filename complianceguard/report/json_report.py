"""The JSON report: the versioned record every other format is rendered from.

The header is indented for reading; each item is one compact line of the `items` array. An
indented item is three times the bytes (deep nesting), and a batch of 100,000 posts would be
gigabytes of spaces; one item per line also keeps the file easy to grep and to split.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from complianceguard.model import ItemResult, Report
from complianceguard.report import atomic_write, atomic_writer


def item_json(item: ItemResult) -> str:
    """One item, indented: what the CLI prints and the API answers for a single check."""
    return item.model_dump_json(indent=2, exclude_none=True)


def item_record(item: ItemResult) -> str:
    """One item as the report's `items` array holds it: one compact line."""
    return item.model_dump_json(exclude_none=True)


def report_json(report: Report) -> str:
    header = report.model_copy(update={"items": []})
    return "".join(_chunks(header, (item_record(item) for item in report.items)))


def write(report: Report, out_dir: Path) -> Path:
    path = out_dir / "report.json"
    atomic_write(path, report_json(report))
    return path


ITEMS_TAIL = '"items": []\n}\n'


def _chunks(header: Report, records: Iterable[str]) -> Iterator[str]:
    head = header.model_dump_json(indent=2, exclude_none=True) + "\n"
    if header.items or not head.endswith(ITEMS_TAIL):
        raise ValueError("a report header has no items")
    yield head[: -len(ITEMS_TAIL) + len('"items": ')]
    separator = "[\n    "
    for record in records:
        yield separator
        yield record
        separator = ",\n    "
    yield "[]\n}\n" if separator == "[\n    " else "\n  ]\n}\n"


def write_stream(header: Report, records: Iterable[str], out_dir: Path) -> Path:
    """report.json from a header (a Report with no items) and each item's `item_record`, streamed:
    byte for byte what `write` gives for the whole report, without holding it in memory."""
    path = out_dir / "report.json"
    with atomic_writer(path) as out:
        for chunk in _chunks(header, records):
            out.write(chunk.encode("utf-8"))
    return path
