"""JUnit XML for CI pipelines: one test suite per region, one test case per item and region
(classname = region, name = item id), built with junitparser.

- `fail` -> a <failure type="fail">; its message lists the failing rule codes and messages.
- `inconclusive` -> a <failure type="inconclusive">: what a rule needs was not read, so the post
  is not cleared (the scan's exit code is 1 for it too); the message names the rules.
- `warn` -> passes (exit code 0); the warnings are listed in the test case's system-out.
- `error` items (bad input, no regions) -> a suite "input errors" with an <error> per item.
Each suite's system-out carries the not-legal-advice notice; its properties carry the tool
version, the report time and every pack with its SHA-256.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from junitparser import Error, Failure, JUnitXml, SystemOut, TestCase, TestSuite

from complianceguard.model import Finding, ItemResult, Report
from complianceguard.report import atomic_write

# Characters XML 1.0 cannot carry (a hostile caption could hold them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
ERROR_SUITE = "input errors"


def _x(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _lines(findings: list[Finding]) -> str:
    out = []
    for f in findings:
        out.append(f"{f.status.upper()} {f.rule} {f.name}: {f.message}")
        out.extend(f"    evidence: {ev.text!r} ({ev.channel}"
                   + (f" characters {ev.span.start}-{ev.span.end}" if ev.span else "")
                   + (f" {ev.time.start_s:g}-{ev.time.end_s:g} s" if ev.time else "") + ")" for ev in f.evidence)
        if f.fix:
            out.append(f"    fix: {f.fix}")
        out.append(f"    source: {f.source.title} {f.source.url}")
    return "\n".join(out)


def _case(item: ItemResult, region: str) -> TestCase:
    result = item.regions[region]
    case = TestCase(name=_x(item.id), classname=region, time=0)
    if result.verdict in ("fail", "inconclusive"):
        found = [f for f in result.findings if f.status == result.verdict]
        failure = Failure(_x("; ".join(f"{f.rule} {f.message}" for f in found) or result.applicability),
                          result.verdict)
        failure.text = _x(_lines(found))
        case.result = [failure]
    elif result.verdict == "error":
        case.result = [Error(_x(" | ".join(item.errors) or result.applicability), "error")]
    listed = result.verdict if result.verdict in ("fail", "inconclusive") else None  # in the <failure>
    notes = [f for f in result.findings if f.status in ("fail", "inconclusive", "warn") and f.status != listed]
    out = [f"{item.id} in {region}: {result.verdict} ({result.pack}; {result.applicability})"]
    if item.source_file:
        out.append(f"source: {item.source_file}")
    if notes:
        out.append(_lines(notes))
    if region in item.fixed_caption:
        out.append(f"corrected caption: {item.fixed_caption[region]}")
    case.system_out = _x("\n".join(out))
    return case


def _suite(name: str, report: Report, cases: list[TestCase]) -> TestSuite:
    suite = TestSuite(_x(name))
    suite.timestamp = report.generated_at
    suite.add_property("tool", f"{report.tool.name} {report.tool.version}")
    for pack in report.packs:
        suite.add_property(f"pack {pack.id}@{pack.version}", f"sha256:{pack.sha256}")
    suite.add_testcases(cases)
    suite.append(SystemOut(_x(report.notice)))
    return suite


def report_junit(report: Report) -> str:
    xml = JUnitXml("complianceguard")
    regions = sorted({region for item in report.items for region in item.regions})
    for region in regions:
        cases = [_case(item, region) for item in report.items if region in item.regions]
        xml.add_testsuite(_suite(region, report, cases))
    broken = [item for item in report.items if not item.regions]
    if broken or report.errors:
        cases = []
        for item in broken:
            case = TestCase(name=_x(item.id), classname="input", time=0)
            message = " | ".join(item.errors) or f"{item.id}: {item.verdict}"
            case.result = [Error(_x(message), "input-error")]
            cases.append(case)
        for number, message in enumerate(report.errors, 1):
            case = TestCase(name=f"error {number}", classname="input", time=0)
            case.result = [Error(_x(message), "input-error")]
            cases.append(case)
        xml.add_testsuite(_suite(ERROR_SUITE, report, cases))
    xml.update_statistics()
    root = ET.fromstring(xml.tostring())
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(report: Report, out_dir: Path) -> Path:
    path = out_dir / "report.junit.xml"
    atomic_write(path, report_junit(report))
    return path
