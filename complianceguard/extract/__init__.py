"""Extraction: a submission becomes segments (text with provenance) and a record of what was read.

The caption and the platform flag are always read; on-screen text is read from images and video
frames (OCR) and speech from video and audio files (ASR) when media reading is on. What could not
be read is recorded as *not read*, so rules that need it are inconclusive instead of silently
passing or failing.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from complianceguard.extract.caption import CaptionLayout, caption_layout, caption_segments
from complianceguard.extract.limits import check_pixel_budget
from complianceguard.extract.media import ExtractionError, probe
from complianceguard.model import Coverage, OverlayInfo, Segment, Submission, TimeSpan

if TYPE_CHECKING:  # OCR loads OpenCV, NumPy and pytesseract: imported only when media is read (below)
    from complianceguard.extract.ocr import OcrSettings, OverlayResult, OverlayText
    from complianceguard.extract.speech import Transcriber, Transcript

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
    frames: dict[str, int] = field(default_factory=dict)  # OCR work: in the media, sampled, OCRed


def media_kind(path: str) -> str | None:
    suffix = Path(path).suffix.lower()
    for kind, suffixes in (("image", IMAGE_SUFFIXES), ("video", VIDEO_SUFFIXES), ("audio", AUDIO_SUFFIXES)):
        if suffix in suffixes:
            return kind
    return None


MEDIA_CHANNELS = {"image": ("overlay",), "video": ("overlay", "speech"), "audio": ("speech",)}
# The media a declared post type has (a story: pictures or videos). A post declared a video, story,
# live, podcast or carousel without its files was not read where that media carries a disclosure,
# so a label missing from its caption is no proof of a missing disclosure (an unread place is never
# a FAIL), and where the media is of one kind it stands for the rules about it (a video's timing
# cannot be checked, not "there is no video"). A `feed` post, declared or by default, is its
# caption: a creator's draft checked with `check --caption`.
DECLARED_MEDIA = {"video": ("video",), "live": ("video",), "audio": ("audio",), "carousel": ("image",),
                  "story": ("image", "video")}


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
    why = {"overlay": "on-screen text in {} (not OCRed)", "speech": "speech in {} (not transcribed)"}
    for channel, names in unread.items():
        coverage[channel] = Coverage(channel=channel, read=False, detail=why[channel].format(", ".join(names)))
    kinds = frozenset(k for k in map(media_kind, submission.media) if k)
    declared = DECLARED_MEDIA.get(submission.post_type or "", ()) if not submission.media else ()
    what = {"overlay": "on-screen text", "speech": "speech"}
    for channel in dict.fromkeys(c for kind in declared for c in MEDIA_CHANNELS[kind]):
        coverage[channel] = Coverage(channel=channel, read=False, detail=(
            f"{what[channel]} of the declared {submission.post_type} post (no media file given)"))
    if len(declared) == 1:
        kinds = frozenset(declared)
    return Extraction(caption_segments(submission), coverage, layout, kinds)


DESCRIBED_FRAME = (1080, 1920)  # a portrait phone frame, for described on-screen text sizes


def described(submission: Submission, media: str | None, duration_s: float | None,
              overlay: list[tuple], speech: list[tuple]) -> Extraction:
    """An extraction from a *description* of what media shows and says (pack cases, API clients
    that did their own OCR/ASR): the same segments OCR and ASR would produce, marked as read.

    Each item is (text, start_s, end_s[, height_fraction, contrast]); times None mean "the whole
    time": of a video or audio whose duration is given, that span, so timing rules see the text
    from start to end; of an image, no time at all. A height or contrast makes it measured
    on-screen text.
    """
    whole = TimeSpan(start_s=0.0, end_s=duration_s) if media in ("video", "audio") and duration_s else None
    base = extract(submission.model_copy(update={"media": []}))
    segments = list(base.segments)
    # A description (of media, or of texts alone) is what the post shows and says, complete: the
    # declared post type's places are not left unread beside it.
    complete = media is not None or bool(overlay) or bool(speech)
    coverage = {channel: c for channel, c in base.coverage.items() if c.read or not complete}
    for channel, items in (("overlay", overlay), ("speech", speech)):
        for number, (text, start, end, *measured) in enumerate(items, 1):
            time = TimeSpan(start_s=start, end_s=end) if start is not None and end is not None else whole
            info = None
            if channel == "overlay" and any(v is not None for v in measured):
                height, contrast = (measured + [None, None])[:2]
                width_px, height_px = DESCRIBED_FRAME
                fraction = height if height is not None else 0.05
                info = OverlayInfo(box=[0, 0, 0, 0], frame_width=width_px, frame_height=height_px,
                                   text_height_px=round(fraction * height_px), height_fraction=fraction,
                                   contrast_ratio=contrast if contrast is not None else 21.0,
                                   position="described", reader="described")
            segments.append(Segment(id=f"{channel}:{number}", channel=channel, text=text, media="described",
                                    time=time, overlay=info))
    for channel in MEDIA_CHANNELS.get(media or "", ()):
        count = sum(1 for s in segments if s.channel == channel)
        what = "on-screen text" if channel == "overlay" else "speech"
        coverage[channel] = Coverage(channel=channel, read=True,
                                     detail=f"{what} of the {media} (described: {count} segments)")
    kinds = frozenset([media]) if media else frozenset() if complete else base.media_kinds
    return Extraction(segments, coverage, base.layout, kinds, duration_s)


# Tesseract language packs for pack languages in other scripts (installed by the set-up). Latin-script
# labels read well with "eng" when matched without accents (environment-spike.md §5.3).
TESSERACT_LANGUAGES = {"ko": "kor", "ja": "jpn", "zh": "chi_sim"}


def ocr_languages(languages: list[str]) -> str:
    """Tesseract's language string for the languages of the packs in play, e.g. "eng+kor"."""
    extra = [TESSERACT_LANGUAGES[code] for code in dict.fromkeys(languages) if code in TESSERACT_LANGUAGES]
    return "+".join(["eng", *extra])


def _position(text: OverlayText) -> str:
    x, y, w, h = text.reading.box
    column = ("left", "centre", "right")[min(2, int(3 * (x + w / 2) / text.frame_width))]
    row = ("top", "middle", "bottom")[min(2, int(3 * (y + h / 2) / text.frame_height))]
    return f"{row}-{column}"


def overlay_segments(result: OverlayResult, media: str, number: int) -> list[Segment]:
    segments = []
    for index, text in enumerate(result.texts, 1):
        reading = text.reading
        info = OverlayInfo(box=list(reading.box), frame_width=text.frame_width, frame_height=text.frame_height,
                           text_height_px=reading.text_height_px,
                           height_fraction=round(reading.text_height_px / text.frame_height, 4),
                           contrast_ratio=reading.contrast, position=_position(text), frame_s=text.frame_s,
                           reader=reading.reader)
        time = TimeSpan(start_s=text.start_s, end_s=text.end_s) if text.start_s is not None else None
        segments.append(Segment(id=f"overlay:{number}:{index}", channel="overlay", text=reading.text, media=media,
                                time=time, confidence=reading.confidence, overlay=info))
    return segments


def speech_segments(transcript: Transcript, media: str | None, number: int) -> list[Segment]:
    """The transcript's reliable lines (Whisper's thresholds), then its disclosures verified by
    rescoring as tentative segments: possibly said, never what the transcriber wrote down."""
    reliable = [seg for seg in transcript.segments if seg.reliable]
    heard = transcript.language if transcript.language not in ("", "unknown") else None  # its own (#15)
    segments = [Segment(id=f"speech:{number}:{index}", channel="speech", text=seg.text, media=media,
                        time=TimeSpan(start_s=seg.start_s, end_s=seg.end_s), confidence=seg.confidence,
                        language=heard)
                for index, seg in enumerate(reliable, 1)]
    segments += [Segment(id=f"speech:{number}:rescored:{index}", channel="speech", text=reading.text, media=media,
                         time=TimeSpan(start_s=reading.start_s, end_s=reading.end_s), confidence=reading.share,
                         tentative=reading.note, language=heard)
                 for index, reading in enumerate(transcript.verified, 1)]
    return segments


def read_overlays(path: Path, kind: str, settings: OcrSettings) -> OverlayResult:
    """On-screen text of one image or video (`extract.ocr`, imported on the first media read, so a
    caption-only check never loads OpenCV; tests and benchmarks replace this name)."""
    from complianceguard.extract.ocr import read_overlays as read

    return read(path, kind, settings)


def transcribe_media(transcriber: Transcriber, path: Path, expected: tuple[str, ...] | None = None) -> Transcript:
    """Speech of one video or audio file (`extract.speech`, imported on the first media read)."""
    from complianceguard.extract.speech import transcribe_media as transcribe

    return transcribe(transcriber, path, expected)


CONCURRENT_SPEECH = True  # transcribe a video's speech while its frames are OCRed (benchmarks turn it off)


def _started(function, *args) -> Future:
    """`function(*args)` running in a thread of its own (CTranslate2 and onnxruntime release the
    GIL, so speech is transcribed while frames are decoded and OCRed); `.result()` waits for it and
    raises what it raised. A new thread per call: a pool's idle threads would not survive a fork."""
    future: Future = Future()

    def run() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(function(*args))
            except BaseException as error:  # noqa: BLE001 - handed to whoever waits for the result
                future.set_exception(error)

    threading.Thread(target=run, name="cg-speech", daemon=True).start()
    return future


def read_media(submission: Submission, base: Extraction, language: str | None,
               transcriber: Transcriber | None, ocr: OcrSettings | None = None,
               expected: tuple[str, ...] | None = None) -> Extraction:
    """Add what the media shows (on-screen text) and says (speech) to a caption extraction.

    Speech counts as read only where every audio track was transcribed and trusted (a video with
    no audio track says nothing, which is known). The language of the speech is the audio's own
    (detected by the transcriber); only a transcriber that cannot detect it (English-only) goes by
    the caption's `language`. Speech in a language no model here decodes, or below Whisper's
    quality thresholds, leaves the channel unread, so rules that need it are inconclusive.
    On-screen text counts as read where every image and video was OCRed (`ocr` None: not read).
    Raises ExtractionError (one line, naming the file) for media that cannot be decoded.
    """
    segments = list(base.segments)
    durations: list[float] = []
    heard: list[tuple[bool, str]] = []  # (read, what happened) per audio-bearing file
    seen: list[tuple[bool, str]] = []  # the same for on-screen text
    frames = {"in_media": 0, "sampled": 0, "ocred": 0}
    kinds_read: list[str] = []  # what each file turned out to hold
    for number, media in enumerate(submission.media, 1):
        kind = media_kind(media)
        if kind is None:
            raise ExtractionError(f"{media}: unsupported media type (expected an image, video or audio file)")
        if kind == "image":
            check_pixel_budget(Path(media), "image")  # from the header, before ffprobe or OpenCV decode it
        info = probe(Path(media))
        name = Path(media).name
        if kind == "video" and not info.has_video and info.has_audio:
            kind = "audio"  # an audio-only .mp4/.webm: the container's name says video, its streams say audio
            seen.append((True, f"{name} has no video track (nothing is shown)"))
        kinds_read.append(kind)
        speech = None  # the transcript, being made beside the OCR below
        if (CONCURRENT_SPEECH and kind == "video" and ocr is not None and info.has_audio and transcriber is not None
                and not (transcriber.english_only and language not in (None, "en"))):
            speech = _started(transcribe_media, transcriber, Path(media), expected)
        if kind in ("image", "video"):
            if ocr is None:
                seen.append((False, f"on-screen text in {name} (not OCRed: OCR is off)"))
            else:
                result = read_overlays(Path(media), kind, ocr)
                segments.extend(overlay_segments(result, media, number))
                for key, value in (("in_media", result.frames_total), ("sampled", result.frames_sampled),
                                   ("ocred", result.frames_ocred)):
                    frames[key] += value
                what = (f"{result.frames_ocred} of {result.frames_total} frames OCRed, sampled at "
                        f"{ocr.sample_fps:g} fps" if kind == "video" else f"{result.width}x{result.height} image")
                seen.append((True, f"on-screen text in {name} ({what}; {len(result.texts)} text lines)"))
        if kind == "image":
            continue
        durations.extend([info.duration_s] if info.duration_s else [])
        if not info.has_audio:
            heard.append((True, f"{name} has no audio track (nothing is said)"))
        elif transcriber is None:
            heard.append((False, f"speech in {name} not transcribed (--asr-backend none)"))
        elif transcriber.english_only and language not in (None, "en"):
            # No model here can tell the audio's language: the caption's is the only hint.
            heard.append((False, f"speech in {name} not transcribed: the content is in {language} and the "
                                 f"model {transcriber.model_name} is English-only (see --asr-model)"))
        else:
            # cached by the file's bytes
            transcript = speech.result() if speech is not None else transcribe_media(transcriber, Path(media), expected)
            if transcript.unread:
                heard.append((False, f"speech in {name} not transcribed: {transcript.unread}"))
                continue
            heard_here = speech_segments(transcript, media, number)
            segments.extend(heard_here)
            reliable = [seg for seg in heard_here if seg.tentative is None]
            dropped = len(transcript.segments) - len(reliable)
            note = f"; {dropped} below Whisper's quality thresholds ignored" if dropped else ""
            trusted = bool(reliable) or not transcript.segments  # silence is read; only noise is not
            spoken_in = "" if transcript.language_note is None else (
                f", language {transcript.language} {transcript.language_note}")
            if transcript.seconds_read is not None:
                spoken_in += f", {transcript.seconds_read:.0f} s of sound read"
            heard.append((trusted, f"speech in {name} ({transcript.backend} {transcript.model}{spoken_in}, "
                                   f"{len(reliable)} segments{note})"))
    coverage = dict(base.coverage)
    for channel, outcomes in (("overlay", seen), ("speech", heard)):
        if outcomes:
            coverage[channel] = Coverage(channel=channel, read=all(r for r, _ in outcomes),
                                         detail="; ".join(d for _, d in outcomes))
    kinds = frozenset(kinds_read)
    return Extraction(segments, coverage, base.layout, kinds, max(durations) if durations else None,
                      frames if frames["in_media"] else {})
