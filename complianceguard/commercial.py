"""Commercial-content analysis: is a caption or transcript a sponsor read, a sponsored or affiliate
post, and WHY.

Region packs decide what counts as a *label*; this module answers a question no region changes:
does the text itself sell something? Its cues (sponsor named, discount code, affiliate link or
commission, gifted, "% off", "link in the description", free trial, "go to <domain>", ...) are data
in `data/commercial.yaml`, matched with one spaCy PhraseMatcher (compiled once per tokenizer
vocabulary, so the analyzer's tokens are reused). A segment's score is the sum of the weights of
the distinct cues found (negated cues count nothing); at or above the file's threshold the
segment is commercial, and the cues are the evidence.

The analyzer turns the cues of commercial segments into `signal` mentions: they make an undeclared
post "likely commercial" and mark a spoken sponsor read for the `sponsor-read-disclosed` check.
Transcript lines are judged together with their neighbours, because ASR cuts a sponsor read into
several lines ("use code linus" | "for 25 percent off").
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal

from complianceguard import lean_spacy  # first: spaCy imported without torch, its command line and components
import spacy
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.vocab import Vocab

from complianceguard.errors import ComplianceGuardError
from complianceguard.extract.normalize import APOSTROPHES, normalize
from complianceguard.model import CharSpan, Mention, Segment

CUES_FILE = "data/commercial.yaml"
# Found in code, weighted in the YAML.
COMPUTED_CUES = ("affiliate-url", "shop-url", "link-shortener", "web-address", "account-tag", "brand-hashtag")
SPEECH_WINDOW_S = 15.0  # transcript lines this close (start to start) are judged together
_HANDLE = re.compile(r"^@([A-Za-z0-9_.]{2,})$")


class CueFileError(ComplianceGuardError):
    """The cue file cannot be used: names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Neighbour = Literal["number", "price", "code", "handle", "url"]


class Phrase(_Strict):
    """A phrase that counts only next to a token of some kind ("% off" after a number)."""

    text: str
    preceded_by: Neighbour | None = None
    followed_by: Neighbour | None = None


class CueSpec(_Strict):
    """One kind of evidence: its phrases, and what it weighs."""

    name: str
    weight: float = Field(gt=0)
    negatable: bool = False
    own_brand: bool = Field(False, description="The creator's own products or memberships: commercial speech, "
                            "but there is no third party to disclose (self-promotion).")
    phrases: list[str | Phrase] = Field(default_factory=list)
    hashtag_endings: list[str] = Field(default_factory=list, description="#GlowPartner: ends in 'partner'.")
    hashtag_starts: list[str] = Field(default_factory=list, description="#SponsoredByGlow: starts with 'sponsored'.")
    model_support: bool = Field(True, description="Whether the cue, beside the trained signal's hint, may make "
                                "a caption commercial (signal_model.py); a bare tagged account may not.")


class Negation(_Strict):
    window: int = Field(ge=1, le=6)
    filler_chars: int = Field(ge=0)
    negators: list[str]
    fillers: list[str] = Field(default_factory=list, description="Longer words that may stand between a "
                               "negator and its cue ('not being paid', 'never been sponsored').")


class Reads(_Strict):
    """How a spoken sponsor read is delimited (see the cue file's `reads` section)."""

    lookback_s: float = Field(gt=0)
    lead_s: float = Field(ge=0)
    max_gap_s: float = Field(gt=0)
    tail_s: float = Field(ge=0)
    reach_s: float = Field(gt=0)
    anchor_window_s: float = Field(ge=0)
    brand_repeats: int = Field(ge=2)
    run_s: float = Field(gt=0)
    brand_window_s: float = Field(ge=0)
    far_brand_extra: int = Field(ge=0)
    pitch_probability: float = Field(gt=0, lt=1)
    seed_probability: float = Field(gt=0, lt=1)
    seed_weight: float = Field(gt=0)
    evidence_gain: float = Field(gt=0)
    segues: list[str]
    returns: list[str]
    not_brands: list[str] = Field(default_factory=list)


class CueBook(_Strict):
    """The whole cue file, validated: a typo fails loading with one line, not a wrong score."""

    version: int
    threshold: float = Field(gt=0)
    negation: Negation
    cues: dict[str, CueSpec]
    reads: Reads
    affiliate_urls: dict[str, list[str]]
    shop_urls: dict[str, list[str]] = Field(default_factory=dict)
    link_shorteners: dict[str, list[str]] = Field(default_factory=dict)
    not_cues: list[str] = Field(default_factory=list, description="phrases in which a cue's words say nothing "
                                "commercial ('sponsored walk': money raised for a charity): a cue overlapping "
                                "one is dropped, as a pack's `not_labels` cancel a label")

    @field_validator("affiliate_urls", "shop_urls", "link_shorteners")
    @classmethod
    def _regexes_compile(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for programme, patterns in value.items():
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise ValueError(f"{programme}: {pattern!r} is not a regular expression ({exc})") from None
        return value

    @model_validator(mode="after")
    def _computed_cues_are_weighted(self) -> CueBook:
        missing = [c for c in COMPUTED_CUES if c not in self.cues]
        if missing:
            raise ValueError(f"cues: needs an entry for the computed cue {missing[0]!r}")
        return self


@dataclass(frozen=True)
class Cue:
    """One piece of evidence, in character offsets of the analysed text."""

    id: str
    name: str
    weight: float
    text: str
    start: int
    end: int
    negated: bool = False
    own_brand: bool = False


@dataclass(frozen=True)
class Assessment:
    """The verdict on one text: score, threshold and every cue seen (negated ones included)."""

    score: float
    threshold: float
    cues: tuple[Cue, ...]

    @property
    def commercial(self) -> bool:
        return self.score >= self.threshold

    @property
    def counted(self) -> tuple[Cue, ...]:
        return tuple(c for c in self.cues if not c.negated)

    @property
    def self_promotion_only(self) -> bool:
        """Commercial only because of the creator's own products: without those cues it is not."""
        if not self.commercial or not any(c.own_brand for c in self.counted):
            return False
        others = {c.id: c.weight for c in self.counted if not c.own_brand}
        return sum(others.values()) < self.threshold

    def explain(self) -> str:
        """One line a reviewer can check by hand: the verdict, the sum and its terms."""
        verdict = "commercial" if self.commercial else "not commercial"
        relation = ">=" if self.commercial else "<"
        seen: dict[str, Cue] = {}
        for cue in self.counted:
            seen.setdefault(cue.id, cue)
        terms = "; ".join(f"{c.name} '{c.text}' +{c.weight:g}" for c in seen.values())
        negated = "; ".join(f"'{c.text}'" for c in self.cues if c.negated)
        return (f"{verdict} (cue score {self.score:g} {relation} threshold {self.threshold:g})"
                + (f": {terms}" if terms else "") + (f"; negated, not counted: {negated}" if negated else ""))


def load_cues(text: str, source: str = CUES_FILE) -> CueBook:
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml when available
    except yaml.YAMLError as exc:
        raise CueFileError(f"{source}: invalid YAML ({getattr(exc, 'problem', exc)})") from None
    try:
        return CueBook.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise CueFileError(f"{source}: field {where}: {first['msg']}") from None


def _forms(phrase: str) -> list[str]:
    """The phrase, and its hashtag form with the spaces removed ("link in bio" -> #linkinbio)."""
    if phrase.startswith(("#", "@")) or not phrase[0].isalnum():
        return [phrase]
    return [phrase, "#" + re.sub(r"[\s\-]+", "", phrase)]


CUE_TOKENS_KIND = "cue-tokens"  # cache entries: the cue phrases' tokens, as JSON
NOT_CUE = "not-cue"  # the matcher key of `not_cues` phrases


def _phrase_words(language: str, grouped: dict[str, list[str]],
                  pipeline: Callable[[], spacy.language.Language]) -> dict[str, list[list[str]]]:
    """Each cue key's phrase forms as token texts, as `language`'s blank pipeline (`pipeline()`)
    splits them. Tokenising the thousand forms costs about 0.07 s of every process start (a
    creator's `check`), so the tokens are kept in the cache folder, keyed by the forms and the
    spaCy version (the tokenizer's rules are spaCy's own data for the language); they are plain
    JSON and rebuilt when unreadable. The pipeline is asked for only then. The key holds the
    separators the analyzers add to spaCy's rules: changing them changes the tokens."""
    from complianceguard.cache import Cache, cache_key, sha256_bytes

    forms = json.dumps(grouped, ensure_ascii=False, sort_keys=True).encode("utf-8")
    key = cache_key(CUE_TOKENS_KIND, sha256_bytes(forms), {"language": language},
                    {"spacy": spacy.__version__, "format": 1, "separators": repr(lean_spacy.SEPARATORS)})
    cache = Cache()
    stored = cache.get(CUE_TOKENS_KIND, key)
    if stored is not None:
        try:
            words = json.loads(stored)
        except ValueError:
            words = None
        if isinstance(words, dict) and list(words) == list(grouped):
            return words
    nlp = pipeline()
    words = {cue: [[t.text for t in nlp.make_doc(f)] for f in dict.fromkeys(phrases)]
             for cue, phrases in grouped.items()}
    cache.put(CUE_TOKENS_KIND, key, json.dumps(words, ensure_ascii=False).encode("utf-8"))
    return words


def cue_forms(book: CueBook) -> dict[str, list[str]]:
    """Every phrase form of the cue book under its matcher key ("cue|preceded_by|followed_by"), the
    `not_cues` under `NOT_CUE`, in the order the matcher adds them."""
    grouped: dict[str, list[str]] = {}
    for cue_id, spec in book.cues.items():
        for phrase in spec.phrases:
            phrase = phrase if isinstance(phrase, Phrase) else Phrase(text=phrase)
            key = f"{cue_id}|{phrase.preceded_by or ''}|{phrase.followed_by or ''}"
            grouped.setdefault(key, []).extend(_forms(phrase.text))
    if book.not_cues:
        grouped[f"{NOT_CUE}||"] = [form for phrase in book.not_cues for form in _forms(phrase)]
    return grouped


class CommercialAnalyzer:
    """Compiles a cue book once; `assess` then costs one PhraseMatcher pass and a look at the
    neighbours of what it found (plus a tokenisation, unless the caller has the tokens already).

    Every cue is a phrase (spaCy's token Matcher costs about ten times more per caption here, and
    the caption pipeline has to run thousands of posts a second); conditions on a neighbouring
    token ("% off" after a number) are checked only where a phrase matched.
    """

    LANGUAGE = "en"  # the cue phrases' tokenizer (see __init__)

    def __init__(self, book: CueBook):
        self.book = book
        # Cue phrases are tokenised once, in English: they are Latin-script phrases, hashtags and
        # web addresses, which spaCy's Latin-language tokenizers split the same way. A matcher is
        # compiled per vocabulary, so the analyzer's own tokens (any language) can be matched.
        self._nlp: spacy.language.Language | None = None  # see `nlp`
        self.phrase_words = _phrase_words(self.LANGUAGE, cue_forms(book), lambda: self.nlp)
        self.matchers: dict[int, tuple[Vocab, PhraseMatcher]] = {}
        self.endings = tuple((cue_id, tuple(e.lower() for e in spec.hashtag_endings))
                             for cue_id, spec in book.cues.items() if spec.hashtag_endings)
        self.starts = tuple((cue_id, tuple(e.lower() for e in spec.hashtag_starts))
                            for cue_id, spec in book.cues.items() if spec.hashtag_starts)
        self.weights = {cue_id: spec.weight for cue_id, spec in book.cues.items()}
        self.negators = frozenset(n.lower() for n in book.negation.negators)
        self.fillers = frozenset(f.lower() for f in book.negation.fillers)
        self.affiliate_urls = [(programme, re.compile(p, re.IGNORECASE))
                               for programme, patterns in book.affiliate_urls.items() for p in patterns]
        self.any_affiliate_url = re.compile("|".join(p.pattern for _, p in self.affiliate_urls), re.IGNORECASE)
        self.any_shop_url = _any_of(book.shop_urls)
        self.any_shortener = _any_of(book.link_shorteners)

    @property
    def nlp(self) -> spacy.language.Language:
        """The blank English pipeline (`spacy.blank("en")`, separators split off), built on first use
        (0.09 s): a caption in another language is tokenised by its own language's pipeline and
        the cue tokens come from the cache, so a German `check` never needs it."""
        if self._nlp is None:
            self._nlp = lean_spacy.blank(self.LANGUAGE, separators=lean_spacy.SEPARATORS)
        return self._nlp

    def matcher(self, vocab: Vocab) -> PhraseMatcher:
        """The cue phrases compiled for a spaCy vocabulary (once per vocabulary)."""
        known = self.matchers.get(id(vocab))
        if known is None or known[0] is not vocab:
            matcher = PhraseMatcher(vocab, attr="LOWER")
            for key, phrases in self.phrase_words.items():
                matcher.add(key, [Doc(vocab, words=words) for words in phrases])
            known = self.matchers[id(vocab)] = (vocab, matcher)
        return known[1]

    def assess(self, text: str, doc: Doc | None = None) -> Assessment:
        """The assessment of `text`; `doc` is its tokens when the caller has them already."""
        doc = doc if doc is not None else self.nlp.make_doc(text)
        found = []
        for match, start, end in self.matcher(doc.vocab)(doc):
            cue_id, before, after = doc.vocab.strings[match].split("|")
            if (not before or _is(before, doc, start - 1)) and (not after or _is(after, doc, end)):
                # the neighbour is part of the evidence: "20 % off", "$ 10 off", "code GLOW20"
                start -= (2 if before == "price" else 1) if before else 0
                found.append((cue_id, start, end + (1 if after else 0)))
        found += self._token_cues(doc, text)
        cancelled = [(start, end) for cue_id, start, end in found if cue_id == NOT_CUE]
        found = [f for f in found if f[0] != NOT_CUE and not any(a < f[2] and f[1] < b for a, b in cancelled)]
        cues = []
        for cue_id, start, end in self._without_overlaps(found):
            spec = self.book.cues[cue_id]
            span = doc[start:end]
            name = spec.name
            if cue_id == "affiliate-url":
                name += f" ({self._programme(span.text)})"
            cues.append(Cue(cue_id, name, spec.weight, span.text, span.start_char, span.end_char,
                            negated=spec.negatable and self._negated(doc, start), own_brand=spec.own_brand))
        distinct = {c.id: c.weight for c in cues if not c.negated}
        return Assessment(round(sum(distinct.values()), 3), self.book.threshold, tuple(cues))

    def _without_overlaps(self, found: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
        """Overlapping matches of one cue become one ("use my code" + "code GLOW20"); where cues
        overlap, the heavier cue (then the longer match) keeps the words."""
        merged: list[tuple[str, int, int]] = []
        for cue_id, start, end in sorted(set(found), key=lambda f: (f[0], f[1])):
            if merged and merged[-1][0] == cue_id and start < merged[-1][2]:
                merged[-1] = (cue_id, merged[-1][1], max(end, merged[-1][2]))
            else:
                merged.append((cue_id, start, end))
        weight = self.weights
        kept: list[tuple[str, int, int]] = []
        taken: set[int] = set()
        for cue_id, start, end in sorted(merged, key=lambda f: (-weight[f[0]], f[1] - f[2], f[1])):
            if not taken.intersection(range(start, end)):
                kept.append((cue_id, start, end))
                taken.update(range(start, end))
        return sorted(kept, key=lambda f: f[1])

    def _negated(self, doc: Doc, start: int) -> bool:
        """A negator a few short words before the cue: "not sponsored", "not an affiliate link"."""
        negation = self.book.negation
        for index in range(start - 1, max(start - 1 - negation.window, -1), -1):
            token = doc[index]
            if token.lower_ in self.negators:
                return True
            if token.lower_ in self.fillers:
                continue
            if (token.is_punct and token.text != "-") or len(token.text) > negation.filler_chars:
                return False
        return False

    def _token_cues(self, doc: Doc, text: str) -> list[tuple[str, int, int]]:
        """The computed cues: web addresses (affiliate or not), tagged accounts, brand-partner
        hashtags (#GlowPartner, #SponsoredByGlow) and a brand handle with its campaign hashtag.

        Found with regular expressions on the text and mapped onto tokens: walking every token
        from Python costs more than the whole PhraseMatcher pass.
        """
        found: list[tuple[str, int, int]] = []

        def tokens(start: int, end: int) -> tuple[int, int] | None:
            span = doc.char_span(start, end, alignment_mode="expand")
            return (span.start, span.end) if span is not None and len(span) else None

        if "/" in text or "www." in text:
            for match in _WORD.finditer(text):
                word = match.group().strip("()[]<>.,;:!?\"'")
                if not (_SCHEME.match(word) or ("/" in word and "." in word.split("/", 1)[0])):
                    continue
                where = tokens(match.start(), match.end())
                if where:
                    found.append(("web-address", *where))
                    if self.any_affiliate_url.search(word):
                        found.append(("affiliate-url", *where))
                    elif self.any_shop_url.search(word):
                        found.append(("shop-url", *where))
                    elif self.any_shortener.search(word):
                        found.append(("link-shortener", *where))
        handles = [(m.start(), m.end(), re.sub(r"[^a-z0-9]", "", m.group(1).lower()))
                   for m in _HANDLE_IN_TEXT.finditer(text) if m.start() == 0 or not text[m.start() - 1].isalnum()]
        for start, end, _ in handles:
            where = tokens(start, end)
            if where:
                found.append(("account-tag", *where))
        if "#" not in text:
            return found
        hashtags = [(m.start(), m.end(), m.group(1).lower()) for m in _HASHTAG.finditer(text)]
        for start, end, tag in hashtags:
            for cue_id, endings in self.endings:
                if any(tag.endswith(e) and len(tag) >= len(e) + 3 for e in endings) and tokens(start, end):
                    found.append((cue_id, *tokens(start, end)))
            for cue_id, starts in self.starts:
                if any(tag.startswith(e) and len(tag) >= len(e) + 3 for e in starts) and tokens(start, end):
                    found.append((cue_id, *tokens(start, end)))
        for start, end, tag in hashtags:
            for h_start, h_end, name in handles:
                if len(name) >= 4 and (name in tag or (len(tag) >= 5 and tag in name)):
                    for where in (tokens(h_start, h_end), tokens(start, end)):
                        if where:
                            found.append(("brand-hashtag", *where))
                    break
        return found

    def _programme(self, url: str) -> str | None:
        return next((programme for programme, pattern in self.affiliate_urls if pattern.search(url)), None)


def _any_of(named_patterns: dict[str, list[str]]) -> re.Pattern[str]:
    """One case-blind regular expression for every pattern of a cue-book map (none: matches nothing)."""
    patterns = [p for group in named_patterns.values() for p in group]
    return re.compile("|".join(patterns) or r"(?!)", re.IGNORECASE)


_CURRENCY = frozenset("$£€¥₹")
_SCHEME = re.compile(r"(?:https?://|www\.)\S", re.IGNORECASE)
_WORD = re.compile(r"\S+")  # a web address is one whitespace-free word: with a scheme or www., or host.tld/path
_HASHTAG = re.compile(r"#([^\W_][\w]{3,})")
_HANDLE_IN_TEXT = re.compile(r"@([A-Za-z0-9_.]{2,})")
_CODE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9]{4,20}$|^[A-Z]{4,20}$")


def _is(kind: str, doc: Doc, index: int) -> bool:
    """Whether the token at `index` is of a neighbour kind (see the cue file's header)."""
    if index < 0 or index >= len(doc):
        return False
    token = doc[index]
    if kind == "number":
        return token.like_num
    if kind == "price":
        return token.like_num and index > 0 and doc[index - 1].text in _CURRENCY
    if kind == "code":
        return bool(_CODE.match(token.text))
    if kind == "handle":
        return bool(_HANDLE.match(token.text))
    return token.like_url  # "url"


@lru_cache(maxsize=1)
def default_analyzer() -> CommercialAnalyzer:
    text = resources.files("complianceguard").joinpath(CUES_FILE).read_text("utf-8")
    return CommercialAnalyzer(load_cues(text))


@lru_cache(maxsize=2048)  # the same segment is looked at once per region pack
def assess(text: str) -> Assessment:
    """The commercial assessment of one text (caption, transcript line or on-screen text)."""
    return default_analyzer().assess(normalize(text).text.translate(APOSTROPHES))


def prepare(vocab: Vocab) -> None:
    """Load the cue file and compile its matcher for a spaCy vocabulary now: batch scans do it
    before forking workers, which then share it instead of each building its own (transcript lines
    are tokenised by the cue analyzer's own pipeline: its matcher is built too)."""
    analyzer = default_analyzer()
    analyzer.matcher(vocab)
    analyzer.matcher(analyzer.nlp.vocab)


@lru_cache(maxsize=1024)  # a caption checked for several regions is assessed once (its Doc is cached too)
def _assess_tokens(text: str, doc: Doc) -> Assessment:
    return default_analyzer().assess(text, doc)


def signal_mentions(segments: list[Segment], already: list[Mention],
                    tokenize: Callable[[str], Doc] | None = None) -> list[Mention]:
    """The cues of commercial segments, as `signal` mentions carrying the assessment as their `why`.

    A cue the pack already reported as a signal (overlapping span, same segment) is not repeated.
    Negated cues and the cues of segments that do not reach the threshold give no mention.
    `tokenize` gives the tokens of a normalised text (the analyzer passes its cached ones).
    """
    taken = [(m.segment, m.span) for m in already if m.kind == "signal" and m.span]
    found: list[Mention] = []
    for segment, text, offset, assessment in _assessed(segments, tokenize):
        if not assessment.commercial:
            continue
        normalized = normalize(segment.text)
        line = segment.text if segment.channel in ("speech", "overlay") else None  # the caption is the item's own
        why = assessment.explain()
        for cue in assessment.counted:
            start, end = max(cue.start - offset, 0), min(cue.end - offset, len(normalized.text))
            if start >= end:
                continue  # a neighbouring transcript line's cue: that line reports it
            o_start, o_end = normalized.to_original(start, end)
            if any(s == segment.id and span.start < o_end and o_start < span.end for s, span in taken):
                continue
            found.append(Mention(
                kind="signal", term=f"commercial cue: {cue.name}", cue=cue.id, language="xx", matcher="cue",
                segment=segment.id,
                channel=segment.channel, text=segment.text[o_start:o_end], span=CharSpan(start=o_start, end=o_end),
                time=segment.time, confidence=segment.confidence, context=line, why=why,
                category="self-promotion" if assessment.self_promotion_only else None,
                media=segment.media, overlay=segment.overlay))
    return found


def _assessed(segments: list[Segment], tokenize: Callable[[str], Doc] | None
              ) -> Iterator[tuple[Segment, str, int, Assessment]]:
    """(segment, analysed text, offset of the segment in it, assessment) for each text segment.

    A transcript line is analysed together with the lines of the same media spoken within
    SPEECH_WINDOW_S of it, so a sponsor read split over lines is still one read.
    """
    speech = [s for s in segments if s.channel == "speech" and s.text.strip()]
    for segment in segments:
        if segment.channel in ("metadata", "speech") or not segment.text.strip():
            continue
        if tokenize is None:
            yield segment, segment.text, 0, assess(segment.text)
            continue
        text = normalize(segment.text).text
        yield segment, segment.text, 0, _assess_tokens(text, tokenize(text))
    texts = [normalize(s.text).text for s in speech]
    for index, (segment, window) in enumerate(zip(speech, _windows(speech))):
        before = [texts[i] for i in window if i < index]
        after = [texts[i] for i in window if i > index]
        offset = sum(len(t) + 1 for t in before)
        text = " ".join([*before, texts[index], *after])
        yield segment, text, offset, default_analyzer().assess(text)


def _windows(speech: list[Segment]) -> list[list[int]]:
    """For each transcript line, the indexes of the lines judged with it (`_near`, same media), in
    order. Timed lines are found by bisecting their start times, not by comparing every line with
    every other (an hour of transcript is a thousand lines)."""
    by_media: dict[str | None, list[int]] = {}
    for i, s in enumerate(speech):
        by_media.setdefault(s.media, []).append(i)
    windows: list[list[int]] = [[] for _ in speech]
    for lines in by_media.values():
        if not all(speech[i].time for i in lines):
            for i in lines:
                windows[i] = [j for j in lines if _near(speech[j], speech[i], j, i)]
            continue
        order = sorted(lines, key=lambda i: speech[i].time.start_s)
        starts = [speech[i].time.start_s for i in order]
        for i in lines:
            start = speech[i].time.start_s
            nearby = order[bisect_left(starts, start - SPEECH_WINDOW_S - 1e-6):
                           bisect_right(starts, start + SPEECH_WINDOW_S + 1e-6)]
            windows[i] = sorted(j for j in nearby if _near(speech[j], speech[i], j, i))
    return windows


def _near(other: Segment, segment: Segment, other_index: int, index: int) -> bool:
    if other.time and segment.time:
        return abs(other.time.start_s - segment.time.start_s) <= SPEECH_WINDOW_S
    return abs(other_index - index) <= 1
