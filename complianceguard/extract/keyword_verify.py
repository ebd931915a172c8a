"""Keyword verification by rescoring: is a disclosure Whisper did not write down still what the audio says?

Whisper sometimes mishears a spoken disclosure ("this video is sponsored" -> "this video is answered",
"Werbung" -> "Mehrung"). Beam search keeps only its best reading; the runner-up may be the disclosure,
nearly as probable. For a segment whose best reading has no disclosure word, this module proposes
readings that do, at the words where one could hide: a window that sounds like a disclosure word (a
rough consonant key of Latin letters, for words of at least MIN_KEYWORD_LETTERS letters, as the
analyzer's fuzzy matching), or a word Whisper itself was unsure of (probability <
UNSURE_WORD_PROBABILITY; the keyword may start there or one word earlier, where an article would
be). Each proposal is the heard words before the site plus the keyword, completed by Whisper (beam
search on the same audio), and kept only if its teacher-forced log-probability over the same audio
window, under the same prompt as the transcription, is within MARGIN_NATS of the heard reading's. A
kept reading is a lower-confidence kind of evidence: it carries both scores, and its confidence is
its share of the two readings' probability. The scan makes it a tentative segment
(extract.speech_segments): it can make a missing spoken label inconclusive, never pass a rule.

The keywords are not this module's: the caller passes the spoken labels of the packs for the
language being decoded (complianceguard.packs.plan.spoken_keywords), and their denials
(spoken_denials): a label heard or rescored competes with the denial readings that contain it
(denial_over_label), and a denial scoring at least as well wins. Runs with the faster-whisper
backend, in any language its model decodes (scripts written without spaces are matched inside words).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

# A proposal is kept when log P(reading) >= log P(heard) - MARGIN_NATS, i.e. the disclosure reading is at
# least e^-1 (0.37) times as probable as Whisper's best: a close runner-up, not a stretch.
MARGIN_NATS = 1.0
UNSURE_WORD_PROBABILITY = 0.5
MIN_KEYWORD_LETTERS = 6  # shorter keywords ("an ad") sound like ordinary words ("and"): no sound-alike sites
SOUND_ALIKE_MIN_SCORE = 75  # rapidfuzz ratio between consonant keys
MAX_PROPOSALS_PER_SEGMENT = 8
UNSURE_KEYWORDS = 3  # at an unsure word, the language's first (most shared) keywords are proposed
WINDOW_PAD_S = (0.5, 0.5)  # audio before and after the segment's own time, as Whisper's word times are rough
SAMPLE_RATE = 16000
MAX_DENIAL_READINGS = 8  # denial readings scored against one label heard
VERSION = 6  # part of the transcript cache key: a change here changes what is verified
# Scripts written without spaces between words (Han, kana, Hangul phrases with particles, Thai):
# a keyword there is looked for inside the text, not between word boundaries.
_UNSPACED = re.compile(r"[\u0e00-\u0e7f\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")


@dataclass(frozen=True)
class VerifiedReading:
    """A reading with a disclosure word that scores close to what Whisper wrote for the same audio."""

    start_s: float
    end_s: float
    heard: str
    text: str
    keyword: str
    heard_logprob: float
    reading_logprob: float

    @property
    def share(self) -> float:
        """P(reading) / (P(reading) + P(heard)): how much of the two readings' probability is this one's."""
        return round(1 / (1 + math.exp(self.heard_logprob - self.reading_logprob)), 3)

    @property
    def note(self) -> str:
        return (f"verified by rescoring: Whisper wrote {self.heard!r}; the reading {self.text!r} scores "
                f"{self.reading_logprob:.2f} vs {self.heard_logprob:.2f} (log-probability, same audio)")


def settings(keywords: dict[str, tuple[str, ...]] | None = None,
             denials: dict[str, tuple[str, ...]] | None = None) -> dict[str, Any]:
    return {"version": VERSION, "keywords": {k: list(v) for k, v in sorted((keywords or {}).items())},
            "denials": {k: list(v) for k, v in sorted((denials or {}).items())},
            "margin_nats": MARGIN_NATS, "unsure_below": UNSURE_WORD_PROBABILITY, "sound_alike": SOUND_ALIKE_MIN_SCORE}


def fold(text: str) -> str:
    """Lower case, Latin accents removed ("Publicité" -> "publicite"), punctuation as spaces, other
    scripts kept as they are (a Japanese voiced mark is not an accent)."""
    out = []
    for char in unicodedata.normalize("NFC", text).casefold():
        if char < "\u0250":  # Latin: drop the accent
            char = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        out.append(char)
    return re.sub(r"[\W_]+", " ", "".join(out)).strip()


def unspaced(text: str) -> bool:
    return bool(_UNSPACED.search(text))


def sound_key(text: str) -> str:
    """A rough consonant skeleton of the Latin letters ("answered" -> "nsrd", "sponsored" -> "spnsrd",
    "Werbung" -> "rbng"): words that sound alike share most of it; vowels, h, w and y carry little
    of what ASR confuses here. Other scripts have no key (no sound-alike sites)."""
    text = re.sub(r"[^a-z ]", "", fold(text))
    for pattern, sound in (("ph", "f"), ("ck", "k"), ("qu", "kw"), ("x", "ks"), ("c(?=[eiy])", "s"), ("c", "k"),
                           ("z", "s"), ("v", "f"), ("th", "0")):
        text = re.sub(pattern, sound, text)
    return "".join(re.sub(r"(.)\1+", r"\1", re.sub(r"[aeiouyhw]", "", word)) for word in text.split())


def _core(keyword: str) -> str:
    """The word of a keyword phrase that must be heard: its longest ("paid partnership" ->
    "partnership", "patrocinado por" -> "patrocinado"; the last of equals: "an ad" -> "ad")."""
    words = fold(keyword).split()
    return max(reversed(words), key=len) if words else ""


def has_keyword(text: str, keywords: tuple[str, ...] | list[str]) -> bool:
    """Does the text contain one of the keywords (its core word, whole; inside words for unspaced scripts)?"""
    folded = f" {fold(text)} "
    for keyword in keywords:
        core = _core(keyword)
        if core and ((unspaced(core) and core in folded) or f" {core} " in folded):
            return True
    return False


def sounds_like_keyword(text: str, heard: str, keywords: tuple[str, ...] | list[str]) -> bool:
    """Does `text` have a window that sounds like a keyword found in `heard` (the consonant keys of
    sound_key, as proposal_sites)? "Rekla má" is Czech "Reklama" heard without the prompt, split in two."""
    words = fold(text).split()
    return any(next(_sound_alike_starts(words, keyword), None) is not None
               for keyword in keywords if has_keyword(heard, (keyword,)))


def _sound_alike_starts(words: list[str], keyword: str) -> Iterator[int]:
    """Where a window of `words` one word shorter, as long or one longer than `keyword` sounds like
    it (consonant keys, SOUND_ALIKE_MIN_SCORE); nothing for keywords too short to judge."""
    key = sound_key(keyword)
    if not key or len(re.sub(r"[^a-z]", "", fold(keyword))) < MIN_KEYWORD_LETTERS:
        return
    size = len(keyword.split())
    for width in sorted({max(1, size - 1), size, size + 1}):
        for i in range(len(words) - width + 1):
            found = sound_key(" ".join(words[i:i + width]))
            if found and fuzz.ratio(found, key) >= SOUND_ALIKE_MIN_SCORE:
                yield i


def proposal_sites(words: list[tuple[str, float]], keywords: tuple[str, ...] | list[str]) -> list[tuple[int, str]]:
    """(index of the first replaced word, keyword) where a disclosure word could have been misheard:
    sound-alike windows first, then the words Whisper was least sure of."""
    sites: dict[tuple[int, str], None] = {}
    texts = [w for w, _ in words]
    for keyword in keywords:
        for i in _sound_alike_starts(texts, keyword):
            sites[(i, keyword)] = None
    unsure = sorted((p, i) for i, (_, p) in enumerate(words) if p < UNSURE_WORD_PROBABILITY)
    for _, i in unsure:
        for start in (i - 1, i):
            for keyword in keywords[:UNSURE_KEYWORDS]:
                if start >= 0:
                    sites[(start, keyword)] = None
    return list(sites)[:MAX_PROPOSALS_PER_SEGMENT]


@dataclass(frozen=True)
class DenialReading:
    """A denial of the packs that scores at least as well as the label reading of the same audio."""

    heard: str
    text: str
    denial: str
    heard_logprob: float
    reading_logprob: float


def denial_readings(text: str, keywords: tuple[str, ...] | list[str],
                    denials: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    """(reading, denial): the readings of a sentence with a label in which that label is part of a
    denial of the packs that contains it ("lehí reklama" -> "není reklama", "to není reklama",
    "žádná reklama"). The denial takes the place of the label and of as many heard words before
    and after it as the denial has around it (a misheard negator), or of the label alone (a negator
    Whisper did not write at all). A label heard inside a longer one heard at the same place
    ("spolupráce" in "placená spolupráce") is the longer one. Nothing for a text without a label:
    a denial is only ever a competing reading of a label heard."""
    if not has_keyword(text, keywords):
        return []
    readings: dict[str, str] = {}
    pieces = re.findall(r"\s*\S+", text)
    folded = [fold(p) for p in pieces]
    covered: set[int] = set()
    for keyword in sorted(keywords, key=lambda k: -len(fold(k).split())):
        said_label = fold(keyword).split()
        if not said_label or not has_keyword(text, (keyword,)):
            continue
        if unspaced(keyword):
            core = fold(keyword)
            for denial in (d for d in denials if core in fold(d)):
                at = text.find(keyword)
                if at >= 0:
                    readings.setdefault(text[:at] + denial + text[at + len(keyword):], denial)
            continue
        width = len(said_label)
        starts = [i for i in range(len(folded) - width + 1)
                  if folded[i:i + width] == said_label and not covered & set(range(i, i + width))]
        for i in starts:
            covered |= set(range(i, i + width))
            tail = re.sub(r"^.*?(\W*)$", r"\1", pieces[i + width - 1].strip())  # the heard label's punctuation
            for denial in denials:
                said = fold(denial).split()
                at = next((j for j in range(len(said) - width + 1) if said[j:j + width] == said_label), None)
                if at is None:
                    continue
                after = len(said) - at - width
                for first, last in ((max(0, i - at), min(len(pieces), i + width + after)), (i, i + width)):
                    reading = "".join(pieces[:first]).rstrip() + " " + denial + tail + "".join(pieces[last:])
                    readings.setdefault(reading.strip(), denial)
    return list(readings.items())[:MAX_DENIAL_READINGS]


def denial_over_label(text: str, keywords: tuple[str, ...] | list[str], denials: tuple[str, ...] | list[str],
                      score: Callable[[str], float]) -> DenialReading | None:
    """The best-scoring denial reading of a sentence with a label word (denial_readings) when it
    scores at least as well as the label reading (`score`: log-probability of a text over the
    sentence's audio), else None. A tie goes to the denial: a denial holds the label word itself
    and more, and its extra words are scored against audio that has to carry them."""
    candidates = denial_readings(text, keywords, denials)
    if not candidates:
        return None
    label_logprob = score(text)
    best: DenialReading | None = None
    for reading, denial in candidates:
        logprob = score(reading)
        if logprob >= label_logprob and (best is None or logprob > best.reading_logprob):
            best = DenialReading(text.strip(), reading, denial, round(label_logprob, 3), round(logprob, 3))
    return best


class KeywordVerifier:
    """Runs the proposals of one transcription against the faster-whisper model that made it, for
    the keywords of the language it decoded in."""

    def __init__(self, model: Any, keywords: tuple[str, ...] | list[str], language: str = "en",
                 hotwords: str | None = None):
        from faster_whisper.tokenizer import Tokenizer

        self.model = model
        self.keywords = tuple(keywords)
        multilingual = bool(getattr(model.model, "is_multilingual", False))
        self.tokenizer = Tokenizer(model.hf_tokenizer, multilingual, task="transcribe",
                                   language=language if multilingual else "en")
        prompt = [self.tokenizer.sot_prev, *self.tokenizer.encode(" " + hotwords.strip())] if hotwords else []
        self.start = [*prompt, *self.tokenizer.sot_sequence]  # the prompt the transcription decoded under

    def _logprob(self, encoded: Any, frames: int, tokens: list[int]) -> float:
        """Teacher-forced log-probability of a reading's text tokens over the window. Its end is not
        scored: CTranslate2's `align` gives an end-of-text token probability 0 (measured, 4.8.5), so
        a trailing EOT only added log(1e-12) to every reading alike. A reading that stops early does
        not pay for the speech it leaves out, which is why a reading only verified here stays
        tentative evidence (bench/speech_languages.py: the word "Werbung" alone outscored Whisper's
        own reading of German casual talk)."""
        text = tokens[:-1] if tokens and tokens[-1] == self.tokenizer.eot else tokens
        result = self.model.model.align(encoded, self.start, [text], frames)[0]
        return float(sum(math.log(max(p, 1e-12)) for p in result.text_token_probs))

    def _encoded(self, audio: Any, start_s: float, end_s: float) -> tuple[Any, int]:
        from faster_whisper.audio import pad_or_trim

        first = max(0, int((start_s - WINDOW_PAD_S[0]) * SAMPLE_RATE))
        window = audio[first:min(len(audio), first + 30 * SAMPLE_RATE, int((end_s + WINDOW_PAD_S[1]) * SAMPLE_RATE))]
        features = self.model.feature_extractor(window)
        return self.model.encode(pad_or_trim(features)), min(features.shape[-1], 3000)

    def denial(self, audio: Any, start_s: float, end_s: float, text: str,
               denials: tuple[str, ...] | list[str]) -> DenialReading | None:
        """A denial reading that scores at least as well as `text`, a label reading of the same
        audio (denial_over_label), each scored over the same window under this verifier's prompt."""
        if not denial_readings(text, self.keywords, denials):
            return None
        encoded, frames = self._encoded(audio, start_s, end_s)
        eot = self.tokenizer.eot

        def score(reading: str) -> float:
            return self._logprob(encoded, frames, [*self.tokenizer.encode(" " + reading.strip()), eot])

        return denial_over_label(text, self.keywords, denials, score)

    def unprompted(self, audio: Any, start_s: float, end_s: float, heard_text: str) -> tuple[str, float, float] | None:
        """Does a keyword Whisper wrote under the hotword prompt stand without it? This verifier must
        be built without hotwords. None when it does: Whisper's own reading of the same audio has
        that keyword (or one sounding like it), or the heard text scores within MARGIN_NATS of that
        reading (both without the prompt, over the same window). Otherwise (that reading, heard
        log-probability, its log-probability): the keyword was written because it was asked for (a
        prompt echo), not heard. Another keyword in Whisper's own reading does not make the heard one
        stand: "Werbung" said was written "bezahlte Werbepartnerschaft" under the prompt, and read
        without it as "Werbung" (tests/test_speech_multilingual.py, de-werbung-start)."""
        encoded, frames = self._encoded(audio, start_s, end_s)
        eot = self.tokenizer.eot
        heard = self.tokenizer.encode(" " + heard_text.strip())
        prompt = [*self.start, self.tokenizer.no_timestamps]
        longest = 2 * len(heard) + 4
        result = self.model.model.generate(encoded, [prompt], beam_size=5, max_length=min(448, len(prompt) + longest))[0]
        tokens = [t for t in result.sequences_ids[0] if t < eot]
        text = self.tokenizer.decode(tokens).strip()
        written = tuple(k for k in self.keywords if has_keyword(heard_text, (k,)))
        if has_keyword(text, written) or sounds_like_keyword(text, heard_text, written):
            return None
        heard_logprob = self._logprob(encoded, frames, [*heard, eot])
        free_logprob = self._logprob(encoded, frames, [*tokens, eot])
        if heard_logprob >= free_logprob - MARGIN_NATS:
            return None
        return text, round(heard_logprob, 3), round(free_logprob, 3)

    def verify(self, audio: Any, start_s: float, end_s: float, words: list[tuple[str, float]]) -> VerifiedReading | None:
        """The best-scoring disclosure reading of one segment within the margin, or None."""
        heard_text = "".join(w for w, _ in words)
        sites = proposal_sites(words, self.keywords)
        if not sites or has_keyword(heard_text, self.keywords):
            return None
        encoded, frames = self._encoded(audio, start_s, end_s)
        eot = self.tokenizer.eot
        heard = self.tokenizer.encode(heard_text)
        # The readings are compared over the same window. Their ends are not scored (_logprob): a
        # reading much longer than what was heard is refused below; a shorter one is not held off.
        heard_logprob = self._logprob(encoded, frames, [*heard, eot])
        best: VerifiedReading | None = None
        for index, keyword in sites:
            before = "".join(w for w, _ in words[:index])
            joined = before + keyword if unspaced(keyword) else (before.rstrip() + " " + keyword)
            prefix = self.tokenizer.encode(joined if unspaced(keyword) else " " + joined.lstrip())
            prompt = [*self.start, self.tokenizer.no_timestamps, *prefix]
            # A reading much longer than what was heard is Whisper repeating itself, not a reading: the
            # completion stops there (an unbounded one can run for hundreds of tokens, seconds each).
            longest = 2 * len(heard) + 4
            result = self.model.model.generate(encoded, [prompt], beam_size=5,
                                               max_length=min(448, len(prompt) + longest - len(prefix) + 1))[0]
            tokens = [t for t in result.sequences_ids[0] if t < eot]
            text = self.tokenizer.decode(tokens).strip()
            if not has_keyword(text, (keyword,)) or len(tokens) > longest:
                continue
            reading_logprob = self._logprob(encoded, frames, [*tokens, eot])
            if reading_logprob >= heard_logprob - MARGIN_NATS and (best is None or reading_logprob > best.reading_logprob):
                best = VerifiedReading(round(start_s, 2), round(end_s, 2), heard_text.strip(), text, keyword,
                                       round(heard_logprob, 3), round(reading_logprob, 3))
        return best
