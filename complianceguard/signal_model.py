"""The trained "likely commercial" signal: TF-IDF word n-grams + logistic regression, run in numpy-free
pure Python from exported weights (the runtime needs no scikit-learn).

Trained by scripts/train_commercial_model.py, reproducibly, on the synthetic captions of InstaSynth
(MIT) only; the weights, the training sources and their licences are in `data/commercial_model.json`
(versioned: `version` and the SHA-256 of the training rows). It reads a caption (or a transcript)
and gives a probability and the words that pushed it up, so a reviewer can see why.

It is an applicability signal only: a caption scoring at or above the file's threshold, with and
without its strongest word, in a post where nothing else is commercial (no label, signal or brand),
gets one `signal` mention ("likely commercial"), which makes the region's rules apply to the
undeclared post. Short of that, a score of at least the file's `hint_probability` (more likely
commercial than not, without the words the cues matched) counts as one
hint of `hint_weight` on the cue book's scale (data/commercial.yaml): a caption whose cues fall
short of the cue threshold by no more than that (a tagged brand and a shop call to action) gets
the mention too, with both scores as its why. Alone, the model ranks real captions only a little
better than chance (it learned from generated ones), so it decides alone only when confident;
beside a cue it is the second hint the cue book asks for (a tagged account alone, a cue without
`model_support`, is not such a cue: ordinary posts tag friends as often). It never passes a rule
and never removes a mention. It is trained on English captions: it runs on captions in the model's
languages, or whose language is unknown. On transcripts it gives no mention of its own (see
`model_mentions`); the sponsor-read spans (sponsor_reads.py) use its score of a few lines' words
to tell the pitch from the content next to a cue, and to let one strong hint anchor a read.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from complianceguard import lean_spacy  # noqa: F401 - first: spaCy imported without torch and its command line
from spacy.lang.en.stop_words import STOP_WORDS

from complianceguard import commercial
from complianceguard.model import CharSpan, Mention, Segment

MODEL_FILE = "data/commercial_model.json"
_LOG = [0.0] + [math.log(n) for n in range(1, 64)]
TOP_WORDS = 5  # contributing n-grams recorded as evidence

_URL = re.compile(r"(?:https?://|www\.)\S+|[\w.-]+\.(?:com|co|net|org|io|ly|it|me|gg|tv)\b\S*", re.IGNORECASE)
_HANDLE = re.compile(r"@[\w.]+")
_TOKEN = re.compile(r"<url>|#?[^\W_]+(?:'[^\W_]+)?")


def tokens(text: str) -> list[str]:
    """Lower-cased words and hashtags; every web address becomes `<url>`. @handles are dropped: in
    the synthetic training captions 82 % of the sponsored ones tag an account and none of the others
    do (a generation artifact: real ordinary posts tag friends and places), so a handle feature
    would learn "tagged = sponsored"; the packs and commercial cues judge tags instead."""
    text = _HANDLE.sub(" ", _URL.sub(" <url> ", text.lower()))
    return _TOKEN.findall(text)


def features(text: str) -> list[str]:
    """Unigrams and bigrams of `tokens` without spaCy's English stop words (so the top words shown
    as evidence are content words, not "at the"): the training script gives this very function to
    scikit-learn as its analyzer, so training and run time see the same features."""
    words = [w for w in tokens(text) if w not in STOP_WORDS]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


@dataclass(frozen=True)
class Score:
    probability: float
    threshold: float
    top: tuple[tuple[str, float], ...]  # (n-gram, contribution to the logit), largest first

    @property
    def commercial(self) -> bool:
        return self.probability >= self.threshold

    def explain(self) -> str:
        words = ", ".join(f"'{w}' +{c:.2f}" for w, c in self.top) or "no word above zero"
        relation = ">=" if self.commercial else "<"
        return f"model score {self.probability:.2f} {relation} threshold {self.threshold:g}; top words: {words}"


class CommercialModel:
    """Exported weights: for each n-gram its idf and its coefficient (TF-IDF with sublinear tf and
    l2 norm, as scikit-learn's TfidfVectorizer computes it)."""

    def __init__(self, data: dict):
        self.version: str = data["version"]
        self.languages: tuple[str, ...] = tuple(data["languages"])
        self.threshold: float = float(data["threshold"])
        self.bias: float = float(data["intercept"])
        self.terms: dict[str, tuple[float, float]] = {t: (float(i), float(c)) for t, i, c in data["terms"]}
        self.name = data.get("name", "commercial-model")
        hint = data.get("hint_probability")  # absent: the model speaks alone only (files before 1.1.0)
        self.hint_probability: float | None = None if hint is None else float(hint)
        self.hint_weight: float = float(data.get("hint_weight", 0.0))

    def applies_to(self, language: str | None) -> bool:
        return language is None or language in self.languages

    def score(self, text: str, without: frozenset[str] = frozenset()) -> Score:
        """The caption's score; `without` leaves out every n-gram using one of those words (what
        the score rests on besides them)."""
        terms = self.terms
        counts = Counter(f for f in features(text) if f in terms and not without.intersection(f.split()))
        values = {f: (1.0 + _LOG[n] if n < len(_LOG) else 1.0 + math.log(n)) * terms[f][0] for f, n in counts.items()}
        norm = math.sqrt(sum(v * v for v in values.values())) or 1.0
        contributions = {f: v / norm * terms[f][1] for f, v in values.items()}
        logit = self.bias + sum(contributions.values())
        probability = 1.0 / (1.0 + math.exp(-logit)) if logit > -50 else 0.0
        top = sorted(((f, c) for f, c in contributions.items() if c > 0), key=lambda fc: -fc[1])[:TOP_WORDS]
        return Score(round(probability, 4), self.threshold, tuple((f, round(c, 3)) for f, c in top))

    def score_batch(self, texts: list[str]) -> list[Score]:
        return [self.score(t) for t in texts]


@lru_cache(maxsize=1)
def default_model() -> CommercialModel:
    text = resources.files("complianceguard").joinpath(MODEL_FILE).read_text("utf-8")
    return CommercialModel(json.loads(text))


def prepare() -> None:
    """Load the weights now (batch scans do it before forking workers)."""
    default_model()


@lru_cache(maxsize=2048)  # a caption checked for several regions is scored once
def score(text: str) -> Score:
    return default_model().score(text)


def model_mentions(segments: list[Segment], language: str | None) -> list[Mention]:
    """One `signal` mention for each caption the model scores as likely commercial, with its score
    and top words as context. Captions only: the model is trained on captions, and on transcript
    snippets (sponsor-read-snippets, bench/sponsor_read.py prints it) it finds a quarter of the
    sponsored reads at precision 0.75, less than the cues and with no time; so speech is left to the
    cues and to the timed sponsor-read spans (sponsor_reads.sponsor_reads), which use the score only
    next to a cue."""
    model = default_model()
    if not model.applies_to(language):
        return []
    found = []
    for segment in segments:
        if segment.channel != "caption" or not segment.text.strip():
            continue
        result = score(segment.text)
        why = _alone(segment.text, result, model) or _as_hint(segment.text, result, model)
        if why:
            found.append(_mention(segment, segment.text, result, model, CharSpan(start=0, end=len(segment.text)), why))
    return found


def _alone(text: str, result: Score, model: CommercialModel) -> str | None:
    """Why the score alone makes the caption commercial: at or above the threshold, with and without
    its strongest word. One word is not enough: the model learned "thanks" and "perfect" from
    generated sponsored captions, where real ones thank friends for dinner as often ("Thank you
    Grandma for the package, the scarf is perfect": 0.95, 0.71 without "perfect")."""
    if not result.commercial or not result.top:
        return None
    strongest = result.top[0][0]
    rest = model.score(text, without=frozenset(strongest.split()))
    if rest.probability < model.threshold:
        return None
    return f"{result.explain()}; {rest.probability:.2f} without '{strongest}'"


def _as_hint(text: str, result: Score, model: CommercialModel) -> str | None:
    """Why the score, short of deciding alone, makes the caption commercial with its cues: the score
    of the words the cues did not use is at least `hint_probability` (the second hint is other
    evidence, not the cue's words counted twice: "thanks @anna" is a cue, and "thanks" the model's
    strongest word), and its `hint_weight` brings the cue score to the cue threshold."""
    if model.hint_probability is None or result.probability < model.hint_probability:
        return None
    cues = commercial.assess(text)
    total = cues.score + model.hint_weight
    specs = commercial.default_analyzer().book.cues
    if not any(specs[c.id].model_support for c in cues.counted) or total < cues.threshold - 1e-9:
        return None  # beside no cue of its own (a tagged account alone is a friend as often as a brand)
    cue_words = frozenset(w for c in cues.counted for w in tokens(c.text))
    rest = model.score(text, without=cue_words)
    if rest.probability < model.hint_probability:
        return None
    found = "; ".join(f"{c.name} {c.text!r} +{c.weight:g}" for c in cues.counted)
    words = ", ".join(f"'{w}' +{c:.2f}" for w, c in rest.top) or "no word above zero"
    return (f"model score {rest.probability:.2f} without the cues' words >= hint {model.hint_probability:g} "
            f"(+{model.hint_weight:g}) with cues {cues.score:g} ({found}): {total:g} >= cue threshold "
            f"{cues.threshold:g}; top words: {words}")


def _mention(segment: Segment, text: str, result: Score, model: CommercialModel, span: CharSpan | None,
             why: str) -> Mention:
    return Mention(kind="signal", matcher="model",
                   term=f"commercial model: likely commercial ({model.name} {model.version})",
                   language=model.languages[0] if model.languages else "xx", segment=segment.id,
                   channel=segment.channel, text=text[:200], span=span, time=None,
                   confidence=result.probability, why=why, media=segment.media)
