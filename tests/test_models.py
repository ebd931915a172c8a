"""The engines that read media are named in the report header with their versions."""

from __future__ import annotations

import re
import shutil

from complianceguard.extract.models import engine_versions


def test_engine_versions_name_every_ocr_and_asr_engine_installed():
    versions = engine_versions()
    assert set(versions) >= {"tesseract", "rapidocr-onnxruntime", "onnxruntime", "faster-whisper", "ctranslate2",
                             "openai-whisper", "ffmpeg"}
    for name in ("faster-whisper", "ctranslate2", "rapidocr-onnxruntime"):
        assert re.match(r"\d+\.\d+", versions[name]), (name, versions[name])  # installed with the project
    if shutil.which("tesseract"):
        assert re.match(r"\d+\.\d+", versions["tesseract"]), versions["tesseract"]
    if shutil.which("ffmpeg"):
        assert versions["ffmpeg"] not in ("", "absent")
