"""The report the bundled fixtures give, byte for byte (issue #20): a refactoring must not change it.

The fixtures (every `*.post.*` manifest under fixtures/, and fixtures/captions.csv) are scanned with
media-free settings (no OCR, no speech: what a post's media would say is "not read"), and the
report.json is compared with tests/data/fixtures-report.golden.json once what changes from run to
run or machine to machine is normalised: the time it was written, the tool's and the engines'
versions, the packs' hashes and paths, the checkout's folder in error lines. The items are compared
as report.json writes them, one compact line each, so any change of a verdict, message, evidence
field or key order shows.

A change of the packs, the rules or the report schema that moves the report on purpose means
recording it again, and reading the diff before committing it:

    CG_REGEN_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_report_golden.py
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path

import pytest

from complianceguard.batch.work import ScanSettings
from complianceguard.packs.loader import PackLibrary
from complianceguard.report.view import dumps
from complianceguard.scan import scan_batch
from conftest import FIXTURES, ROOT
from report_schema import validate_report

GOLDEN = ROOT / "tests" / "data" / "fixtures-report.golden.json"
REGEN_ENV = "CG_REGEN_GOLDEN"
VARIES = "<varies>"


def normalised(text: str) -> str:
    """report.json's text with what varies between runs and machines replaced, in report.json's own
    layout (the header indented, one compact line per item)."""
    document = json.loads(text)
    document["generated_at"] = VARIES
    document["tool"]["version"] = VARIES
    for key in ("engines", "speech_models"):
        if key in document.get("options", {}):
            document["options"][key] = VARIES
    for pack in document.get("packs", []):
        pack["sha256"] = VARIES
        pack["path"] = Path(pack["path"]).name
    items = json.loads(json.dumps(document.pop("items")).replace(f"{ROOT}/", ""))  # error lines name files
    header = json.dumps(document, indent=2, ensure_ascii=False)
    return header[:-2] + ',\n  "items": [\n' + ",\n".join(f"    {dumps(item)}" for item in items) + "\n  ]\n}\n"


def fixtures_report(out_dir: Path) -> str:
    """The fixtures scanned into `out_dir` (report.json only), media-free; its normalised text."""
    paths = [FIXTURES, FIXTURES / "captions.csv"]  # one batch folder: its manifests' media are inside it
    settings = ScanSettings(asr_backend="none", ocr_fps=None, read_media=False, cwd=str(ROOT))
    cwd = Path.cwd()
    os.chdir(ROOT)  # the report's paths are relative to the submitter's folder
    try:
        scan_batch(paths, PackLibrary(), settings, out_dir, ["json"], {"formats": ["json"]}, jobs=1)
    finally:
        os.chdir(cwd)
    return normalised((out_dir / "report.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out_dir = tmp_path_factory.mktemp("fixtures-report")
    return out_dir / "report.json", fixtures_report(out_dir)


def test_the_fixtures_report_is_unchanged_byte_for_byte(scanned):
    _, got = scanned
    if os.environ.get(REGEN_ENV):
        GOLDEN.write_text(got, "utf-8")
    want = GOLDEN.read_text("utf-8")
    if got != want:
        diff = "".join(difflib.unified_diff(want.splitlines(keepends=True), got.splitlines(keepends=True),
                                            str(GOLDEN.relative_to(ROOT)), "now", n=0))
        raise AssertionError(f"the fixtures' report changed (on purpose? {REGEN_ENV}=1 records it):\n{diff[:6000]}")


def test_the_report_validates_and_the_comparison_sees_one_changed_item_byte(scanned):
    """The normalisation keeps every item byte: one changed character of a status is a difference."""
    path, got = scanned
    original = path.read_text("utf-8")
    validate_report(original)
    changed = original.replace('"status":"fail"', '"status":"warn"', 1)
    assert changed != original and normalised(changed) != got
    assert normalised(original) == got  # and the normalisation itself is stable
