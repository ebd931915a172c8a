"""SARIF 2.1.0 for code-scanning dashboards: one run, a result per failing, warning or
inconclusive finding (levels error, warning, note), a rule descriptor per rule that produced one.

Locations: `artifactLocation.uri` is the item's manifest (or CSV) as the report names it. A
caption span becomes a `region` with `charOffset`/`charLength`; like the JSON report's spans
these count characters (code points) of the *caption as submitted*, not of the manifest file,
and each region says so in its properties. Times in media and the media file go in the result's
`properties.evidence`. Rule documentation (what the rule checks, why) comes from the pack library
when the pack files in it are byte-identical (same SHA-256) to those the report names; otherwise
from the findings themselves. Input errors are tool execution notifications.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from complianceguard.model import Finding, ItemResult, Report
from complianceguard.report import atomic_write

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"fail": "error", "warn": "warning", "inconclusive": "note"}
WRITE_OPTIONS = ("library",)


def _uri(source_file: str) -> str:
    path = source_file.split(":row ")[0]
    if Path(path).is_absolute():
        return Path(path).as_uri()
    return quote(PurePosixPath(Path(path)).as_posix())


def _library_rules(report: Report, library: Any) -> dict[str, Any]:
    """Rule definitions from packs whose whole `extends` chain matches the report's hashes."""
    if library is None:
        return {}
    hashes = {p.id: p.sha256 for p in report.packs}
    rules: dict[str, Any] = {}
    for pack_id in hashes:
        try:
            resolved = library.get(pack_id)
            if all(hashes.get(p.pack.id) == p.sha256 for p in library.file_chain(resolved)):
                rules.update({f"{resolved.ref}/{r.code}": r for r in resolved.pack.rules})
        except Exception:  # noqa: BLE001 - a pack missing from this library just means no docs from it
            continue
    return rules


def _descriptor(finding: Finding, rule: Any) -> dict[str, Any]:
    src = finding.source
    source = f"{src.title}{', ' + src.section if src.section else ''} ({src.publisher}, {src.year or 'n.d.'})"
    short = rule.message if rule is not None else finding.name.replace("-", " ")
    why = rule.why if rule is not None else finding.message
    fix = f"Fix: {finding.fix}\n" if finding.fix else ""
    return {
        "id": finding.rule, "name": finding.name,
        "shortDescription": {"text": short}, "fullDescription": {"text": why},
        "help": {"text": f"{fix}Source: {source} {src.url}"}, "helpUri": src.url,
        "defaultConfiguration": {"level": "warning" if finding.severity == "warning" else "error"},
        "properties": {"pack": finding.pack, "check": finding.check, "confidence": finding.confidence,
                       "tags": ["ad-disclosure", finding.pack.split("@")[0]]},
    }


def _result(item: ItemResult, region: str, finding: Finding, index: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule, "ruleIndex": index, "level": LEVELS[finding.status],
        "message": {"text": f"{item.id} ({region}): {finding.message}"
                            + (f" Fix: {finding.fix}" if finding.fix else "")},
        "partialFingerprints": {"itemRegionRule/v1": f"{item.id}/{region}/{finding.rule}"},
        "properties": {"item": item.id, "region": region, "status": finding.status, "pack": finding.pack,
                       "confidence": finding.confidence, "evidence": [
                           ev.model_dump(exclude_none=True, exclude=None if ev.disguise else {"disguise"})
                           for ev in finding.evidence]},
    }
    if item.source_file:
        artifact = {"uri": _uri(item.source_file)}
        spans = [ev for ev in finding.evidence if ev.channel == "caption" and ev.span is not None]
        locations = [{"physicalLocation": {"artifactLocation": artifact, "region": {
            "charOffset": ev.span.start, "charLength": ev.span.end - ev.span.start,
            "snippet": {"text": ev.text}, "message": {"text": f"caption characters {ev.span.start}-{ev.span.end}"},
            "properties": {"offsetsInto": "caption"}}}} for ev in spans] or [
            {"physicalLocation": {"artifactLocation": artifact}}]
        result["locations"] = locations[:1]
        if len(locations) > 1:
            result["relatedLocations"] = [{"id": n, **loc} for n, loc in enumerate(locations[1:], 1)]
    return result


def report_sarif(report: Report, library: Any = None) -> dict[str, Any]:
    known = _library_rules(report, library)
    bad = [(item, region, f) for item in report.items for region, res in item.regions.items()
           for f in res.findings if f.status in LEVELS]
    rules: dict[str, dict[str, Any]] = {}
    for _, _, finding in sorted(bad, key=lambda t: t[2].rule):
        if finding.rule not in rules:
            rules[finding.rule] = _descriptor(finding, known.get(f"{finding.pack}/{finding.rule}"))
    index = {code: n for n, code in enumerate(rules)}
    errors = [*report.errors, *(e for item in report.items for e in item.errors)]
    return {
        "$schema": SCHEMA_URI, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": report.tool.name, "version": report.tool.version,
                                "rules": list(rules.values())}},
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": [
                {"level": "error", "message": {"text": e}} for e in errors]}],
            "columnKind": "unicodeCodePoints",
            "results": [_result(item, region, f, index[f.rule]) for item, region, f in bad],
            "properties": {"notice": report.notice, "generated_at": report.generated_at,
                           "report_schema_version": report.schema_version, "summary": report.summary,
                           "packs": [p.model_dump(exclude_none=True) for p in report.packs]},
        }],
    }


def write(report: Report, out_dir: Path, library: Any = None) -> Path:
    path = out_dir / "report.sarif"
    atomic_write(path, json.dumps(report_sarif(report, library), indent=2, ensure_ascii=False) + "\n")
    return path
