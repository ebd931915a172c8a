"""Batch scans through the CLI: reports for every item, errors per item, exit codes 0/1/2."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from complianceguard.cli import main
from complianceguard.packs.loader import BUILTIN_RULES
from conftest import FIXTURES
from report_schema import reports_match_the_schema, validate_report  # noqa: F401 - autouse


def scan(*args: str):
    return CliRunner().invoke(main, ["scan", *args])


@pytest.mark.media  # scans the fixtures' videos and images too (OCR, speech)
def test_fixtures_scan_reports_every_post_and_refuses_the_escaping_media(tmp_path):
    result = scan(str(FIXTURES), str(FIXTURES / "captions.csv"), "--out", str(tmp_path))
    assert result.exit_code == 2, result.output  # the escaping manifest and the bad CSV row are errors
    report = json.loads((tmp_path / "report.json").read_text())
    manifests = list(FIXTURES.rglob("*.post.*"))
    csv_rows = len((FIXTURES / "captions.csv").read_text().strip().splitlines()) - 1
    assert len(report["items"]) == len(manifests) + csv_rows
    by_id = {item["id"]: item for item in report["items"]}
    escape = next(i for i in report["items"] if "escaping-media" in i["id"])
    assert escape["verdict"] == "error" and "points outside the batch folder" in escape["errors"][0]
    assert by_id["glow-gb-upfront"]["verdict"] == "pass"
    assert by_id["glow-gb-buried"]["verdict"] == "fail"
    assert by_id["glow-undeclared-code"]["verdict"] == "warn"
    assert "likely commercial" in by_id["glow-undeclared-code"]["regions"]["GB"]["applicability"]
    assert report["tool"]["name"] == "complianceguard" and report["schema_version"]
    assert {p["id"] for p in report["packs"]} >= {"gb-asa", "de-uwg", "us-ftc", "base"}
    assert all(len(p["sha256"]) == 64 for p in report["packs"])
    assert any(i["path"].endswith("gb-upfront.post.yaml") for i in report["inputs"])
    rows = [r for r in csv.DictReader((tmp_path / "report.csv").open()) if r["row_type"] == "item-region"]
    assert len(rows) == sum(max(len(i.get("regions", {})), 1) for i in report["items"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left behind"
    assert "error:" in result.output and "escaping-media" in result.output


def test_exit_codes(tmp_path):
    good = tmp_path / "good.post.yaml"
    good.write_text("regions: [GB]\ncaption: '#ad Loving it'\nrelationship: paid\n")
    bad = tmp_path / "bad.post.yaml"
    bad.write_text("regions: [GB]\ncaption: 'Loving it'\nrelationship: paid\n")
    assert scan(str(good), "--out", str(tmp_path / "r1")).exit_code == 0
    assert scan(str(good), str(bad), "--out", str(tmp_path / "r2")).exit_code == 1
    assert scan(str(good), "--region", "ZZ", "--out", str(tmp_path / "r3")).exit_code == 2


def test_bad_pack_is_one_line_error_naming_file_rule_and_field(tmp_path):
    pack = tmp_path / "brand.yaml"
    pack.write_text(Path(BUILTIN_RULES / "gb.yaml").read_text().replace(
        "id: gb-asa", "id: brand-x").replace("check: label-placement", "check: label-placment", 1))
    result = CliRunner().invoke(main, ["check", "--caption", "#ad hi", "--region", "GB", "--pack", str(pack)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and str(pack) in lines[0] and "field check" in lines[0] and "rule GB" in lines[0]
    assert "Traceback" not in result.output


def test_brand_pack_extends_a_region(tmp_path):
    pack = tmp_path / "brand.yaml"
    pack.write_text("""
id: glow-brand-policy
version: 1.0.0
name: Glow Skincare policy (GB)
extends: gb-asa
sources:
  policy: {title: Glow creator brief, publisher: Glow Skincare, year: 2026, url: "https://example.com/brief", confidence: high}
rules:
  - code: GLOW001
    name: platform-tag-required
    check: platform-tool
    params: {preferred: true}
    message: Glow requires the platform's paid-partnership tag as well as #ad.
    why: Our contracts require both.
    example: {bad: "#ad my serum (no tag)", good: "#ad my serum (tag on)"}
    fix: Switch on the paid-partnership tag.
    source: {ref: policy}
    confidence: high
""")
    args = ["check", "--caption", "#ad Loving it", "--region", "GB", "--relationship", "paid", "--pack", str(pack),
            "--format", "json"]
    without_tag = json.loads(CliRunner().invoke(main, args).output)
    assert without_tag["regions"]["GB"]["pack"] == "glow-brand-policy@1.0.0"
    assert {f["rule"] for f in without_tag["regions"]["GB"]["findings"] if f["status"] == "fail"} == {"GLOW001"}
    with_tag = json.loads(CliRunner().invoke(main, [*args, "--paid-partnership-tag"]).output)
    assert with_tag["verdict"] == "pass"
