"""Every report.json the suite writes is checked against the JSON Schema the package ships
(complianceguard/report/schema/report-2.0.schema.json).

`validate_report(path or text or dict)` checks one; the `reports_match_the_schema` fixture, imported
(autouse) by test_report_formats.py, test_scan.py and test_batch.py, checks every report.json a test
left under its tmp_path once the test is done.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest


@lru_cache(maxsize=1)
def validator() -> jsonschema.Draft202012Validator:
    text = (resources.files("complianceguard") / "report" / "schema" / "report-2.0.schema.json").read_text("utf-8")
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def validate_report(report: Path | str | dict[str, Any]) -> dict[str, Any]:
    """The report as a dict, once it validates against the 2.x schema (AssertionError naming the
    first problems when it does not)."""
    if isinstance(report, Path):
        document = json.loads(report.read_text("utf-8"))
    elif isinstance(report, str):
        document = json.loads(report)
    else:
        document = report
    errors = sorted(validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    where = f" ({report})" if isinstance(report, Path) else ""
    assert not errors, f"report.json{where} does not match the 2.x schema:\n" + "\n".join(
        f"  {e.json_path}: {e.message[:300]}" for e in errors[:5])
    return document


def validate_reports_under(folder: Path) -> int:
    """Validate every report.json under `folder`; how many there were. A 1.x report is one a test
    wrote as an old report to read back (`report render` still reads them), not one complianceguard
    wrote: it is left alone."""
    count = 0
    for path in sorted(folder.rglob("report.json")):
        if path.is_file():
            if json.loads(path.read_text("utf-8")).get("schema_version", "").startswith("1."):
                continue
            validate_report(path)
            count += 1
    return count


@pytest.fixture(autouse=True)
def reports_match_the_schema(tmp_path: Path):
    yield
    validate_reports_under(tmp_path)
