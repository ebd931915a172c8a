"""Extraction: a submission becomes segments (text with provenance) and a record of what was read.

Only the caption and the platform flag are read in this version. Media listed on a post is
recorded as *not read* for on-screen text and speech, so rules that need it are inconclusive
instead of silently passing or failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from complianceguard.extract.caption import CaptionLayout, caption_layout, caption_segments
from complianceguard.model import Coverage, Segment, Submission

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".webm", ".mkv", ".m4v"}
AUDIO_SUFFIXES = {".wav", ".mp3", ".m4a", ".aac", ".ogg", ".flac"}


@dataclass(frozen=True)
class Extraction:
    segments: list[Segment]
    coverage: dict[str, Coverage]
    layout: CaptionLayout


def media_channels(path: str) -> tuple[str, ...]:
    """Which channels a media file can carry a disclosure in."""
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return ("overlay",)
    if suffix in VIDEO_SUFFIXES:
        return ("overlay", "speech")
    if suffix in AUDIO_SUFFIXES:
        return ("speech",)
    return ()


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
    return Extraction(caption_segments(submission), coverage, layout)
