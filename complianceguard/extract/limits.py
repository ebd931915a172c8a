"""Budgets for hostile input, checked before any decoding, shared by the CLI, scan workers and the API.

- **Pixels** (`check_pixel_budget`): an image, or one video frame, may have at most `max_pixels()`
  pixels (default 64 million: an 8000x8000 image, or twice an 8K UHD frame). The size is read from
  the file's header (Pillow reads headers lazily; OpenCV's capture properties or ffprobe for video),
  never by decoding, so an 875 KB PNG that decodes to 30000x30000 (a decompression bomb: 5.5 GB
  of memory) is refused in milliseconds. Override with `COMPLIANCEGUARD_MAX_PIXELS` (a number of pixels).
- **Captions** (`caption_problem`): at most `MAX_CAPTION_CHARS` characters (default 100,000: far
  beyond any platform's limit, under spaCy's 1,000,000) and no lone surrogates (text that is not
  valid Unicode, from a bad JSON escape or invalid UTF-8 in argv).
- **Frame rates**: a video claiming more than `MAX_FPS` frames per second is refused by name.

Every refusal is one line naming the file (or field), what it has and the limit.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from complianceguard.extract.media import ExtractionError

DEFAULT_MAX_PIXELS = 64_000_000
MAX_CAPTION_CHARS = 100_000
MAX_FPS = 1000.0
_SURROGATE = re.compile("[\ud800-\udfff]")


class MediaLimitError(ExtractionError):
    """Media over a documented budget (refused before decoding)."""


def max_pixels() -> int:
    """The pixel budget for one image or video frame (`COMPLIANCEGUARD_MAX_PIXELS`, else 64 million)."""
    value = os.environ.get("COMPLIANCEGUARD_MAX_PIXELS", "").strip()
    try:
        return max(1, int(value)) if value else DEFAULT_MAX_PIXELS
    except ValueError:
        return DEFAULT_MAX_PIXELS


def _over(path: Path, width: int, height: int, what: str) -> None:
    limit = max_pixels()
    if width * height > limit:
        raise MediaLimitError(
            f"{path}: {what} is {width}x{height} = {width * height:,} pixels, over the limit of {limit:,} "
            f"(COMPLIANCEGUARD_MAX_PIXELS); refused before decoding")


def require_regular_file(path: Path) -> None:
    """A one-line error for a path that is missing, or is not a regular file (a FIFO, a device)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise MediaLimitError(f"{path}: no such media file") from None
    except OSError as exc:
        raise MediaLimitError(f"{path}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(mode):
        kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or
                stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else "a folder" if stat.S_ISDIR(mode)
                else "not a regular file")
        raise MediaLimitError(f"{path}: is {kind}, not a regular media file")


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from an image file's header, or None when Pillow cannot read the header."""
    from PIL import Image, UnidentifiedImageError

    import warnings

    if Image.MAX_IMAGE_PIXELS and 2 * Image.MAX_IMAGE_PIXELS < max_pixels():
        Image.MAX_IMAGE_PIXELS = max_pixels()  # a raised budget: Pillow's own check must not refuse first
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:  # lazy: reads the header only
                return image.size
    except Image.DecompressionBombError as exc:  # Pillow's own limit (2 x MAX_IMAGE_PIXELS) fired first
        found = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise MediaLimitError(f"{path}: the image is {pixels}, over the limit of {max_pixels():,} "
                              f"(COMPLIANCEGUARD_MAX_PIXELS); refused before decoding") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


def video_frame_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of the largest video stream by ffprobe (headers only), None when unknown."""
    import json
    import subprocess

    command = ["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "stream=width,height",
               "-print_format", "json", str(path)]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        streams = json.loads(result.stdout or "{}").get("streams", [])
    except (FileNotFoundError, subprocess.TimeoutExpired, ValueError):
        return None
    sizes = [(int(s.get("width") or 0), int(s.get("height") or 0)) for s in streams if isinstance(s, dict)]
    return max(sizes, key=lambda wh: wh[0] * wh[1]) if sizes else None


def check_pixel_budget(path: Path | str, kind: str | None = None, size: tuple[int, int] | None = None) -> None:
    """Refuse an image or video whose frames are over the pixel budget, before anything decodes it.

    `kind` is "image" or "video" (None: guessed, image first). Raises MediaLimitError (one line:
    the file, its size and the limit); returns None when the file is within budget or its size
    cannot be read from the header (the decoder then reports it as unreadable).
    `size`: the frame size when the caller already read it from the header (OpenCV's capture
    properties), so no second header read is needed. The API calls this on uploads too.
    """
    path = Path(path)
    if size is not None:
        _over(path, *size, "the image" if kind == "image" else "a video frame")
        return
    require_regular_file(path)
    if kind in (None, "image"):
        size = image_size(path)
        if size is not None:
            _over(path, *size, "the image")
            return
    if kind in (None, "video"):
        size = video_frame_size(path)
        if size is not None:
            _over(path, *size, "a video frame")


def check_frame_rate(path: Path | str, fps: float) -> None:
    if fps > MAX_FPS:
        raise MediaLimitError(f"{path}: the video claims {fps:g} frames per second, over the limit of "
                              f"{MAX_FPS:g} (a corrupt or hostile header)")


def text_problem(text: str, limit: int = MAX_CAPTION_CHARS) -> str | None:
    """Why a text field cannot be checked ("too long (...)", "not valid Unicode (...)"), or None."""
    if len(text) > limit:
        return f"too long ({len(text):,} characters; the limit is {limit:,})"
    match = _SURROGATE.search(text)
    if match:
        return (f"not valid Unicode (a lone surrogate U+{ord(match.group()):04X} at character {match.start()}: "
                "a bad \\u escape, or bytes that are not UTF-8)")
    return None


def caption_problem(text: str, field: str = "caption") -> str | None:
    """The same as one line naming the field: "field caption: too long (...)"; None when it can be checked."""
    problem = text_problem(text)
    return f"field {field}: {problem}" if problem else None
