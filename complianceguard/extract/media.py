"""Media probing and audio extraction with ffprobe/ffmpeg (argv lists, as whisper does).

Every failure is a one-line ExtractionError naming the file: a zero-byte, truncated or
wrongly-named file never becomes a traceback or a silent pass.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from complianceguard.errors import ComplianceGuardError

if TYPE_CHECKING:
    import numpy as np

SAMPLE_RATE = 16_000  # Whisper's input rate
FFMPEG_TIMEOUT_S = 300


class ExtractionError(ComplianceGuardError):
    """Media that cannot be read."""


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    duration_s: float | None
    has_video: bool
    has_audio: bool


@lru_cache(maxsize=1)
def ffprobe_version() -> str:
    try:
        result = subprocess.run(["ffprobe", "-version"], capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError:
        raise ExtractionError("ffprobe is not installed (run `make` to set up)") from None
    return (result.stdout.splitlines() or ["unknown"])[0]


def probe(path: Path) -> MediaInfo:
    """What the file holds; a file probed before (same bytes, same ffprobe) comes from the cache,
    so a re-scan of unchanged media runs no ffprobe."""
    from complianceguard.extract.limits import require_regular_file

    require_regular_file(path)  # missing, or a FIFO / device: said as such (a FIFO would block a reader)
    if path.stat().st_size == 0:
        raise ExtractionError(f"{path}: the file is empty (0 bytes)")
    from complianceguard.cache import default_cache, sha256_file

    def encode(info: MediaInfo) -> str:
        return json.dumps([info.duration_s, info.has_video, info.has_audio])

    def decode(text: str) -> MediaInfo:
        duration, has_video, has_audio = json.loads(text)
        return MediaInfo(path, duration, bool(has_video), bool(has_audio))

    return default_cache().cached("probe", sha256_file(path), {}, {"ffprobe": ffprobe_version()},
                                  lambda: _run_ffprobe(path), encode, decode)


def _run_ffprobe(path: Path) -> MediaInfo:
    command = ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        raise ExtractionError("ffprobe is not installed (run `make` to set up)") from None
    if result.returncode != 0:
        reason = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise ExtractionError(f"{path}: not a readable video, image or audio file ({reason})")
    data = json.loads(result.stdout or "{}")
    streams = data.get("streams", [])
    # Cover art in an audio file is a one-picture "video" stream (attached_pic): not video.
    kinds = {s.get("codec_type") for s in streams
             if not (s.get("codec_type") == "video" and (s.get("disposition") or {}).get("attached_pic"))}
    duration = data.get("format", {}).get("duration")
    return MediaInfo(path, float(duration) if duration not in (None, "N/A") else None,
                     "video" in kinds, "audio" in kinds)


def extract_audio(path: Path, out: Path) -> Path:
    """Decode the audio track to 16 kHz mono 16-bit WAV."""
    command = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(path), "-vn", "-ac", "1",
               "-ar", str(SAMPLE_RATE), "-c:a", "pcm_s16le", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    if result.returncode != 0 or not out.is_file():
        reason = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise ExtractionError(f"{path}: could not decode the audio ({reason})")
    return out


def read_audio(path: Path, start_s: float, seconds: float) -> np.ndarray:
    """`seconds` of a file's sound from `start_s`, as 16 kHz mono float32 in [-1, 1] (Whisper's input),
    decoded by ffmpeg straight into memory: a bounded read, so a 2-hour track is never held, nor
    written out, whole. Past the end of the sound it returns fewer samples (none at all there)."""
    import numpy as np

    command = ["ffmpeg", "-nostdin", "-v", "error", "-ss", f"{max(0.0, start_s):.3f}", "-t", f"{seconds:.3f}",
               "-i", str(path), "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "-c:a", "pcm_s16le", "-"]
    try:
        result = subprocess.run(command, capture_output=True, timeout=FFMPEG_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise ExtractionError("ffmpeg is not installed (run `make` to set up)") from None
    except subprocess.TimeoutExpired:
        raise ExtractionError(f"{path}: decoding {seconds:g} s of audio at {start_s:g} s took over "
                              f"{FFMPEG_TIMEOUT_S} s") from None
    if result.returncode != 0:
        reason = (result.stderr.decode("utf-8", "replace").strip().splitlines() or ["unknown error"])[-1]
        raise ExtractionError(f"{path}: could not decode the audio ({reason})")
    usable = len(result.stdout) // 2 * 2
    return np.frombuffer(result.stdout[:usable], np.int16).astype(np.float32) / 32768.0
