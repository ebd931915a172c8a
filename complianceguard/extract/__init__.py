"""Extraction: a submission becomes segments (text with provenance) and a record of what was read.

The caption and the platform flag are always read; speech is read from video and audio files
when a transcriber is given. On-screen text is not read in this version: media is recorded as
*not read* for it, so rules that need it are inconclusive instead of silently passing or failing.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from complianceguard.extract.caption import CaptionLayout, caption_layout, caption_segments
from complianceguard.extract.media import ExtractionError, extract_audio, probe
from complianceguard.extract.speech import Transcriber, cached_transcribe
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
    why = {"overlay": "on-screen text in {} (OCR is not available in this version)",
           "speech": "speech in {} (not transcribed)"}
    for channel, names in unread.items():
        coverage[channel] = Coverage(channel=channel, read=False, detail=why[channel].format(", ".join(names)))
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


def read_media(submission: Submission, base: Extraction, language: str | None,
               transcriber: Transcriber | None) -> Extraction:
    """Add what the media says (speech) to a caption extraction; on-screen text stays unread.

    Speech counts as read only where every audio track was transcribed and trusted: a video with
    no audio track, non-English speech under an English-only model, or speech below Whisper's
    quality thresholds leaves the channel unread, so rules that need it are inconclusive.
    Raises ExtractionError (one line, naming the file) for media that cannot be decoded.
    """
    segments = list(base.segments)
    durations: list[float] = []
    heard: list[tuple[bool, str]] = []  # (read, what happened) per audio-bearing file
    for number, media in enumerate(submission.media, 1):
        kind = media_kind(media)
        if kind is None:
            raise ExtractionError(f"{media}: unsupported media type (expected an image, video or audio file)")
        info = probe(Path(media))
        if kind == "image":
            continue
        durations.extend([info.duration_s] if info.duration_s else [])
        name = Path(media).name
        if not info.has_audio:
            heard.append((False, f"{name} has no audio track"))
        elif transcriber is None:
            heard.append((False, f"speech in {name} not transcribed (--asr-backend none)"))
        elif transcriber.english_only and language not in (None, "en"):
            heard.append((False, f"speech in {name} not transcribed: the content is in {language} and the "
                                 f"model {transcriber.model_name} is English-only (see --asr-model)"))
        else:
            with tempfile.TemporaryDirectory(prefix="cg-audio-") as tmp:
                transcript = cached_transcribe(transcriber, extract_audio(Path(media), Path(tmp) / "audio.wav"))
            reliable = [seg for seg in transcript.segments if seg.reliable]
            for index, seg in enumerate(reliable, 1):
                segments.append(Segment(id=f"speech:{number}:{index}", channel="speech", text=seg.text,
                                        media=media, time=TimeSpan(start_s=seg.start_s, end_s=seg.end_s),
                                        confidence=seg.confidence))
            dropped = len(transcript.segments) - len(reliable)
            note = f"; {dropped} below Whisper's quality thresholds ignored" if dropped else ""
            trusted = bool(reliable) or not transcript.segments  # silence is read; only noise is not
            heard.append((trusted, f"speech in {name} ({transcript.backend} {transcript.model}, "
                                   f"{len(reliable)} segments{note})"))
    coverage = dict(base.coverage)
    if heard:
        coverage["speech"] = Coverage(channel="speech", read=all(r for r, _ in heard),
                                      detail="; ".join(d for _, d in heard))
    kinds = frozenset(k for k in map(media_kind, submission.media) if k)
    return Extraction(segments, coverage, base.layout, kinds, max(durations) if durations else None)
