"""A creator's `check` of a caption loads nothing of OCR or ASR (issue #16: half a second from start to
exit; OpenCV, pytesseract and the Whisper stacks cost seconds to import), nor does `--help`.

Each command runs in a fresh interpreter (what a creator's shell starts) through a small wrapper that
records `sys.modules` when the command exits.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]

# Imported only for a post with media (OCR: OpenCV, pytesseract, RapidOCR; ASR: the Whisper stacks).
MEDIA_MODULES = frozenset({
    "complianceguard.extract.ocr", "cv2", "pytesseract", "rapidocr_onnxruntime", "onnxruntime",
    "faster_whisper", "ctranslate2", "whisper", "torch",
})

WRAPPER = r"""
import json, sys
from complianceguard.cli import main
code = 0
try:
    main(sys.argv[2:], prog_name="complianceguard")
except SystemExit as exit:
    code = exit.code
with open(sys.argv[1], "w") as out:
    json.dump({"exit": code, "modules": sorted(sys.modules)}, out)
"""


def _loaded(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    record = tmp_path / "modules.json"
    done = subprocess.run([sys.executable, "-c", WRAPPER, str(record), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert record.is_file(), done.stderr[-2000:]
    seen = json.loads(record.read_text())
    return seen["exit"], set(seen["modules"])


def test_help_loads_no_media_module(tmp_path):
    code, modules = _loaded(tmp_path, "--help")
    assert code == 0
    assert not modules & MEDIA_MODULES


def test_check_of_a_caption_loads_no_media_module(tmp_path):
    code, modules = _loaded(tmp_path, "check", "--caption", "#ad My new serum from @glowskincare", "--region", "GB",
                            "--relationship", "paid")
    assert code == 0
    assert "complianceguard.engine" in modules  # the check ran
    assert not modules & MEDIA_MODULES, sorted(modules & MEDIA_MODULES)


def _entry(*args: str) -> subprocess.CompletedProcess:
    """`python -m complianceguard ...` as a creator's shell runs it (the real entry point, `run`)."""
    return subprocess.run([sys.executable, "-m", "complianceguard", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_check_without_teardown_keeps_its_exit_codes_and_all_its_output():
    """`check` ends without the interpreter's teardown: its output still arrives whole (JSON parses)
    and its exit codes stay SQLFluff's (0 pass, 1 fail, 2 error), on the pipe a script reads."""
    passing = _entry("check", "--caption", "#ad My new serum from @glowskincare", "--region", "GB",
                     "--relationship", "paid", "--format", "json")
    assert passing.returncode == 0, passing.stderr[-2000:]
    assert json.loads(passing.stdout)["verdict"] == "pass"
    failing = _entry("check", "--caption", "My new serum from @glowskincare", "--region", "GB", "--region", "DE",
                     "--relationship", "paid", "--fix", "-v")
    assert failing.returncode == 1, failing.stderr[-2000:]
    assert "GB" in failing.stdout and "DE" in failing.stdout and failing.stdout.endswith("\n")
    broken = _entry("check", "--caption", "#ad", "--region", "ZZ")
    assert broken.returncode == 2
    assert broken.stderr.startswith("error: ") and "ZZ" in broken.stderr and "Traceback" not in broken.stderr
