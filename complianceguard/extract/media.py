"""Media probing and audio extraction with ffprobe/ffmpeg (argv lists, as whisper does).

Every failure is a one-line ExtractionError naming the file: a zero-byte, truncated or
wrongly-named file never becomes a traceback or a silent pass.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from complianceguard.errors import ComplianceGuardError

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


def probe(path: Path) -> MediaInfo:
    if not path.is_file():
        raise ExtractionError(f"{path}: no such media file")
    if path.stat().st_size == 0:
        raise ExtractionError(f"{path}: the file is empty (0 bytes)")
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
    kinds = {s.get("codec_type") for s in streams}
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
