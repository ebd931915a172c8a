"""Extraction: a submission becomes segments (text with provenance) and a record of what was read.

Only the caption and the platform flag are read in this version. Media listed on a post is
recorded as *not read* for on-screen text and speech, so rules that need it are inconclusive
instead of silently passing or failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from complianceguard.extract.caption import CaptionLayout, caption_layout, caption_segments
from complianceguard.model import Coverage, Segment, Submission, TimeSpan

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".webm", ".mkv", ".m4v"}
AUDIO_SUFFIXES = {".wav", ".mp3", ".m4a", ".aac", ".ogg", ".flac"}


@dataclass(frozen=True)
class Extraction:
    segments: list[Segment]
    coverage: dict[str, Coverage]
    layout: CaptionLayout
    media_kinds: frozenset[str] = frozenset()  # video | image | audio
    duration_s: float | None = None  # of the longest video or audio


def media_kind(path: str) -> str | None:
    suffix = Path(path).suffix.lower()
    for kind, suffixes in (("image", IMAGE_SUFFIXES), ("video", VIDEO_SUFFIXES), ("audio", AUDIO_SUFFIXES)):
        if suffix in suffixes:
            return kind
    return None


MEDIA_CHANNELS = {"image": ("overlay",), "video": ("overlay", "speech"), "audio": ("speech",)}


def media_channels(path: str) -> tuple[str, ...]:
    """Which channels a media file can carry a disclosure in."""
    return MEDIA_CHANNELS.get(media_kind(path) or "", ())


def extract(submission: Submission) -> Extraction:
    layout = caption_layout(submission.caption, submission.platform)
    fold = layout.fold
    length = len(submission.caption)
    shown = (f"all of it shows before '... more' on {submission.platform}" if fold.at >= length else
             f"{submission.platform} shows about the first {fold.at} before '... more', {length - fold.at} hidden")
    coverage = {
        "caption": Coverage(channel="caption", read=True, detail=f"the caption ({length} characters; {shown})"),
        "metadata": Coverage(channel="metadata", read=True, detail=(
            f"the platform paid-partnership flag ({'set' if submission.paid_partnership_tag else 'not set'})")),
    }
    unread: dict[str, list[str]] = {}
    for media in submission.media:
        for channel in media_channels(media):
            unread.setdefault(channel, []).append(Path(media).name)
    what = {"overlay": "on-screen text", "speech": "speech"}
    for channel, names in unread.items():
        coverage[channel] = Coverage(channel=channel, read=False, detail=(
            f"{what[channel]} in {', '.join(names)} (media extraction is not available in this version)"))
    kinds = frozenset(k for k in map(media_kind, submission.media) if k)
    return Extraction(caption_segments(submission), coverage, layout, kinds)


def described(submission: Submission, media: str | None, duration_s: float | None,
              overlay: list[tuple[str, float | None, float | None]],
              speech: list[tuple[str, float | None, float | None]]) -> Extraction:
    """An extraction from a *description* of what media shows and says (pack cases, API clients
    that did their own OCR/ASR): the same segments OCR and ASR would produce, marked as read."""
    base = extract(submission.model_copy(update={"media": []}))
    segments = list(base.segments)
    coverage = dict(base.coverage)
    for channel, items in (("overlay", overlay), ("speech", speech)):
        for number, (text, start, end) in enumerate(items, 1):
            time = TimeSpan(start_s=start, end_s=end) if start is not None and end is not None else None
            segments.append(Segment(id=f"{channel}:{number}", channel=channel, text=text, media="described",
                                    time=time))
    for channel in MEDIA_CHANNELS.get(media or "", ()):
        count = sum(1 for s in segments if s.channel == channel)
        what = "on-screen text" if channel == "overlay" else "speech"
        coverage[channel] = Coverage(channel=channel, read=True,
                                     detail=f"{what} of the {media} (described: {count} segments)")
    return Extraction(segments, coverage, base.layout, frozenset([media]) if media else frozenset(), duration_s)
