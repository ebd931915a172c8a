"""CSV for trackers: one `item-region` row per item and region (an error item gets one row with the
region empty), each followed by one `finding` row per rule evaluated there.

Filter on `row_type` = `item-region` for the verdict table; the `finding` rows carry the rule, its
status, the message, the evidence as written and where it is (caption characters or media times),
the source and the fix. Cells that a spreadsheet would run as a formula (starting with = + - @, a
tab or a carriage return, also after leading spaces or line breaks) get a leading apostrophe, as
OWASP advises; the JSON report keeps the text unchanged.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from complianceguard.model import Evidence, Finding, Report
from complianceguard.report import atomic_write

COLUMNS = ["id", "source_file", "region", "verdict", "pack", "failed_rules", "messages", "fixes", "errors",
           "row_type", "rule", "name", "status", "severity", "message", "evidence", "where", "source",
           "source_url", "fix"]
NON_PASSING = ("fail", "warn", "inconclusive")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: object) -> str:
    """A leading apostrophe for a cell a spreadsheet could run: one that starts with a formula
    character, also after leading spaces or line breaks (`" =1+1"`, `"\n=cmd"`)."""
    text = "" if value is None else str(value)
    return "'" + text if text.lstrip(" \n\u00a0\u3000").startswith(FORMULA_START) or \
        text.startswith(FORMULA_START) else text


def _where(ev: Evidence) -> str:
    if ev.frame is not None:  # per-frame evidence: carousel image / story frame N (file)
        media = f" ({Path(ev.media).name})" if ev.media and ev.media != "described" else ""
        return f"{ev.channel} frame {ev.frame}{media}"
    if ev.span is not None:
        return f"{ev.channel} characters {ev.span.start}-{ev.span.end}"
    if ev.time is not None:
        media = f" in {Path(ev.media).name}" if ev.media and ev.media != "described" else ""
        return f"{ev.channel} {ev.time.start_s:g}-{ev.time.end_s:g} s{media}"
    return ev.channel


def _source(finding: Finding) -> str:
    src = finding.source
    section = f", {src.section}" if src.section else ""
    return f"{src.title}{section} ({src.publisher}, {src.year or 'n.d.'})"


def finding_row(finding: Finding) -> dict[str, str]:
    return {
        "row_type": "finding", "pack": finding.pack, "rule": finding.rule, "name": finding.name,
        "status": finding.status, "severity": finding.severity, "message": finding.message,
        "evidence": " | ".join(ev.text or f"({ev.kind})" for ev in finding.evidence),
        "where": " | ".join(_where(ev) for ev in finding.evidence),
        "source": _source(finding), "source_url": finding.source.url, "fix": finding.fix or "",
    }


def report_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()

    def row(values: dict[str, str]) -> None:
        writer.writerow({key: _safe(value) for key, value in values.items()})

    for item in report.items:
        base = {"id": item.id, "source_file": item.source_file or "", "errors": " | ".join(item.errors)}
        if not item.regions:
            row({**base, "verdict": item.verdict, "row_type": "item-region"})
        for region, result in item.regions.items():
            bad = [f for f in result.findings if f.status in NON_PASSING]
            row({
                **base, "region": region, "verdict": result.verdict, "pack": result.pack,
                "failed_rules": " ".join(f"{f.rule}:{f.status}" for f in bad),
                "messages": " | ".join(f.message for f in bad),
                "fixes": " | ".join(dict.fromkeys(f.fix for f in bad if f.fix)),
                "row_type": "item-region",
            })
            for finding in result.findings:
                row({"id": item.id, "source_file": item.source_file or "", "region": region,
                     "verdict": result.verdict, **finding_row(finding)})
    return buffer.getvalue()


def write(report: Report, out_dir: Path) -> Path:
    path = out_dir / "report.csv"
    atomic_write(path, report_csv(report))
    return path
