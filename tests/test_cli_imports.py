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
