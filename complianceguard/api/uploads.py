"""Uploaded media: recognised by their first bytes, stored under generated names.

A client's file name and declared content type are never trusted: the type comes from the file's
signature (curl sends most video as application/octet-stream anyway), and the stored name is a
random id plus the extension of the recognised type, which is also what the pipeline reads the
kind of media from. The client's file name is kept as a label only.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

HEAD_BYTES = 64


@dataclass(frozen=True)
class MediaType:
    kind: str  # image | video | audio
    extension: str
    content_type: str
    matches: Callable[[bytes], bool]


def _ftyp(*brands: bytes) -> Callable[[bytes], bool]:
    return lambda head: head[4:8] == b"ftyp" and (not brands or head[8:12] in brands)


def _riff(form: bytes) -> Callable[[bytes], bool]:
    return lambda head: head[:4] == b"RIFF" and head[8:12] == form


def _ebml(doc_type: bytes) -> Callable[[bytes], bool]:
    return lambda head: head[:4] == b"\x1a\x45\xdf\xa3" and doc_type in head


# Order matters where signatures overlap: specific ISO-BMFF brands before the generic MP4.
MEDIA_TYPES: tuple[MediaType, ...] = (
    MediaType("image", ".png", "image/png", lambda h: h.startswith(b"\x89PNG\r\n\x1a\n")),
    MediaType("image", ".jpg", "image/jpeg", lambda h: h.startswith(b"\xff\xd8\xff")),
    MediaType("image", ".webp", "image/webp", _riff(b"WEBP")),
    MediaType("audio", ".m4a", "audio/mp4", _ftyp(b"M4A ", b"M4B ")),
    MediaType("video", ".mov", "video/quicktime", _ftyp(b"qt  ")),
    MediaType("video", ".mp4", "video/mp4", _ftyp()),
    MediaType("video", ".webm", "video/webm", _ebml(b"webm")),
    MediaType("video", ".mkv", "video/x-matroska", _ebml(b"matroska")),
    MediaType("audio", ".wav", "audio/wav", _riff(b"WAVE")),
    MediaType("audio", ".mp3", "audio/mpeg", lambda h: h.startswith(b"ID3") or (
        len(h) > 1 and h[0] == 0xFF and h[1] & 0xE6 in (0xE2, 0xE4, 0xE6))),  # MPEG audio frame, layer I-III
    MediaType("audio", ".aac", "audio/aac", lambda h: len(h) > 1 and h[0] == 0xFF and h[1] & 0xF6 == 0xF0),
    MediaType("audio", ".ogg", "audio/ogg", lambda h: h.startswith(b"OggS")),
    MediaType("audio", ".flac", "audio/flac", lambda h: h.startswith(b"fLaC")),
)


def allowed_description(kinds: frozenset[str]) -> str:
    return ", ".join(t.content_type for t in MEDIA_TYPES if t.kind in kinds)


def recognise(head: bytes) -> MediaType | None:
    return next((t for t in MEDIA_TYPES if t.matches(head)), None)


class UnsupportedMedia(Exception):
    """Not one of the allowed media types (HTTP 415)."""


class MediaTooLarge(Exception):
    """An image with more pixels than the server decodes (HTTP 413)."""


def check_image_pixels(path: Path, filename: str | None, size: int, max_pixels: int, field: str) -> None:
    """Refuse an image whose header declares more than `max_pixels` pixels, before anything decodes it
    (a 900 KB PNG can declare 30000x30000 pixels: gigabytes once decoded). Only the header is read,
    by the budget's shared reader (complianceguard.extract.limits, which the CLI and scan use); the
    message names the client's file name and this server's option instead of the stored path."""
    from complianceguard.extract.limits import MediaLimitError, image_size

    name = label(filename) or "the image"
    limit = f"the limit of {max_pixels:,} pixels ({max_pixels / 1e6:,.1f} megapixels, --max-image-mp)"
    try:
        dimensions = image_size(path)
    except MediaLimitError as exc:  # Pillow's own, higher, limit fired first: its message has the count
        found = re.search(r"is ([\d,]+) pixels", str(exc))
        shown = f"{found.group(1)} pixels" if found else "more pixels than Pillow opens"
        raise MediaTooLarge(f"field {field}: {name} ({size:,} bytes) is {shown}, over {limit}; "
                            "refused before decoding") from None
    if dimensions is None:
        return  # not readable as an image: the pipeline reports it as an error item, as for the CLI
    width, height = dimensions
    if width * height > max_pixels:
        raise MediaTooLarge(f"field {field}: {name} ({size:,} bytes) is {width}x{height} = {width * height:,} "
                            f"pixels, over {limit}; refused before decoding")


@dataclass(frozen=True)
class SavedMedia:
    name: str  # the generated file name
    path: Path
    filename: str | None
    kind: str
    content_type: str
    size: int
    sha256: str

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "filename": self.filename, "kind": self.kind,
                "content_type": self.content_type, "size": self.size, "sha256": self.sha256}


def label(filename: str | None) -> str | None:
    """The client's file name as a harmless label: its last component, printable, at most 200 chars."""
    if not filename:
        return None
    last = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in last if c.isprintable())[:200]
    return cleaned or None


def save(stream: BinaryIO, folder: Path, filename: str | None, kinds: frozenset[str], field: str,
         max_pixels: int | None = None) -> SavedMedia:
    """Copy an upload into `folder` under a generated name; UnsupportedMedia for a type not in `kinds`,
    MediaTooLarge for an image over `max_pixels` (the caller removes `folder`)."""
    head = stream.read(HEAD_BYTES)
    media_type = recognise(head)
    if media_type is None or media_type.kind not in kinds:
        name = label(filename) or "the file"
        what = (f"is {media_type.content_type}, which is not accepted here" if media_type
                else "is not a recognised image, video or audio file")
        raise UnsupportedMedia(f"field {field}: {name} {what} (allowed: {allowed_description(kinds)})")
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{secrets.token_hex(12)}{media_type.extension}"
    path = folder / name
    digest = hashlib.sha256(head)
    size = len(head)
    with path.open("xb") as out:
        out.write(head)
        for block in iter(lambda: stream.read(1 << 20), b""):
            out.write(block)
            digest.update(block)
            size += len(block)
    if max_pixels and media_type.kind == "image":
        check_image_pixels(path, filename, size, max_pixels, field)
    return SavedMedia(name, path, label(filename), media_type.kind, media_type.content_type, size, digest.hexdigest())
