"""CSV for trackers: one row per item and region (errors get one row with region empty)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from complianceguard.model import Report
from complianceguard.report import atomic_write

COLUMNS = ["id", "source_file", "region", "verdict", "pack", "failed_rules", "messages", "fixes", "errors"]


def report_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for item in report.items:
        base = {"id": item.id, "source_file": item.source_file or "", "errors": " | ".join(item.errors)}
        if not item.regions:
            writer.writerow({**base, "verdict": item.verdict})
        for region, result in item.regions.items():
            bad = [f for f in result.findings if f.status in ("fail", "warn", "inconclusive")]
            writer.writerow({
                **base, "region": region, "verdict": result.verdict, "pack": result.pack,
                "failed_rules": " ".join(f"{f.rule}:{f.status}" for f in bad),
                "messages": " | ".join(f.message for f in bad),
                "fixes": " | ".join(dict.fromkeys(f.fix for f in bad if f.fix)),
            })
    return buffer.getvalue()


def write(report: Report, out_dir: Path) -> Path:
    path = out_dir / "report.csv"
    atomic_write(path, report_csv(report))
    return path
