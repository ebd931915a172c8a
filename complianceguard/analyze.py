"""Segments -> mentions: spaCy blank pipelines with matchers compiled from pack vocabularies.

One blank pipeline per content language (rule matching needs no statistical model, and the
official model wheels are not on PyPI); one PhraseMatcher (attr LOWER) and one Matcher per pack
and language, compiled once and cached. Matching is per pack because the same word is a label in
one region and an insufficient label in another (`#ad`: GB vs DE).

One pass per post (issue #16): what no pack changes is worked out once however many regions a
post is checked for (`_Shared`: normalised texts, brand names, commercial cues, sponsor reads,
the trained signal), and a text is tokenised and run through a shared token Matcher once (`_doc`,
`_pattern_matches`); only the PhraseMatcher pass and the pack's own choices (homonyms, denials,
negation, weights) run per pack, about a tenth of a caption's check. Profiling put the rest of
the cost elsewhere (language identification, the report record, the rules): a single matcher for
all packs would save little and would change which of two equal matches wins.
Each mention says how it was found (`matcher`: phrase, pattern, fuzzy, cue, model, brand, read;
issue #20) and a speech segment is matched in its own language when Whisper told it (issue #15).

Vocabulary per language (issue #17): a pack's signals, denials and negators for a language apply to
text in that language (declared, or detected by py3langid), plus the words its vocabulary marks
`cross_language` ("swipe up", "not sponsored", written in posts in any language); so the German
signal "Code" no longer fires on English "writing code". Labels and insufficient labels apply to
text in any language: packs list labels of other languages precisely so that a label in the wrong
language ("#ad" in a German post) is found and judged by the label-language rules. When the
language cannot be told, every language's words apply (a missed label costs more than a stray
signal). Each mention records the vocabulary language and the pack it came from.
"""

from __future__ import annotations

import json
import lzma
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from complianceguard import lean_spacy  # noqa: F401 - first: spaCy imported without torch and its command line
import numpy as np
import spacy
from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier
from rapidfuzz import fuzz, process
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from complianceguard.cache import cache_root, tool_version
from complianceguard.commercial import default_analyzer as default_cue_analyzer
from complianceguard.commercial import prepare as prepare_cues
from complianceguard.commercial import signal_mentions
from complianceguard.extract.normalize import APOSTROPHES, HANDLE, NormalizedText, normalize, without_accents
from complianceguard.model import CharSpan, Mention, Segment, Submission
from complianceguard.packs.loader import ResolvedPack
from complianceguard.packs.schema import GAP_MAX_WORDS, is_gap_term
from complianceguard.report import atomic_writer
from complianceguard.signal_model import model_mentions
from complianceguard.signal_model import prepare as prepare_model
from complianceguard.sponsor_reads import prepare as prepare_reads
from complianceguard.sponsor_reads import read_mentions

# Blank spaCy tokenizers that need nothing beyond spaCy itself (environment-spike.md §6).
# Korean needs the rule-based tokenizer; Japanese uses Chinese character segmentation (spaCy's "ja"
# needs SudachiPy), so 広告 matches inside a sentence; other languages fall back to "xx".
SPACY_LANGUAGES = {"en", "de", "fr", "es", "it", "nl", "pt", "da", "sv", "nb", "fi", "pl", "cs", "zh"}
_BLANK_CONFIG = {"ko": {"nlp": {"tokenizer": {"@tokenizers": "spacy.Tokenizer.v1"}}}}
_ALIASES = {"ja": "zh", "no": "nb"}
MIN_LANGUAGE_PROBABILITY = 0.70  # py3langid normalised probability; below it the language is "unknown"
NEGATION_WINDOW_FILLER = 3  # a negator may be separated from a label by one short word ("not an ad")
# Speech and on-screen text are matched fuzzily too: ASR misspells ("Paint partnership" for "paid
# partnership"), OCR misreads a letter ("Werbunq") and drops accents ("publicite").
# A word window scoring at least this (rapidfuzz ratio, 0-100) against a term of at least
# FUZZY_MIN_CHARS letters counts, with the score as the match confidence. Shorter terms ("ad")
# would match ordinary words ("and") and are matched exactly only.
TERM_CONFIDENCE = {"medium": 0.8, "low": 0.6}  # `term_confidence` marks -> factor on a match's confidence
FUZZY_MIN_SCORE = 85
FUZZY_MIN_CHARS = 6
# A denial heard approximately must be heard word for word: each word close to the denial's word
# and starting with the same letter. By letters alone "é patrocinado" is 93 % of "não patrocinado"
# and "patrocinado" 88 % of "#naopatrocinado": the negation, the point of a denial, was not heard.
FUZZY_DENIAL_WORD_SCORE = 70
_CODE = re.compile(r"^(?=.*\d)[A-Z0-9]{4,}$")  # GLOW20, RUN15: a discount code after a signal phrase
_URL_OR_TAG = re.compile(r"(https?://\S+|www\.\S+|@[A-Za-z0-9_.]+|#[^\s#]+)")  # handles are ASCII
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")  # kana and Han: no spaces between words
_HANGUL = re.compile(r"[\uac00-\ud7af]")
# `{advertiser}` in a label term ("Mainos {advertiser}", "Reklam för {advertiser}"): the words before
# it, then the advertiser: a @handle, the post's declared brand, or a capitalised name. Between them
# at most three of these connectors ("Mainos: Glow", "Mainos / @glow", "Reklame for #Glow"), emoji
# among them ("✨MAINOS✨ @glow": creators decorate a heading, R-E:354; "‼️MAINOS‼️ Glow" is "!", "!"
# and the emoji selector U+FE0F once normalised).
ADVERTISER = "{advertiser}"
_ADVERTISER_CONNECTORS = [":", "/", "|", "-", "–", "—", "(", "[", "]", "#", ",", "!"]
_EMOJI = r"^[\u2190-\u21ff\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff\ufe0f\u200d]+$"
_CONNECTOR = {"TEXT": {"REGEX": "^(?:" + "|".join(map(re.escape, _ADVERTISER_CONNECTORS)) + ")$|" + _EMOJI}}
_CONNECTOR_TEXT = re.compile(_CONNECTOR["TEXT"]["REGEX"])
# Placeholders (packs/schema.py, TOKEN_PLACEHOLDERS): one token of a kind, as a term or a word of one.
_PLACEHOLDER_TOKENS = {"{handle}": ({"TEXT": {"REGEX": r"^@\w"}}, ("@",)),
                       "{web-address}": ({"LIKE_URL": True}, (".", "://")),
                       "{number}": ({"IS_DIGIT": True}, tuple("0123456789"))}


@lru_cache(maxsize=None)
def pipeline(language: str) -> spacy.language.Language:
    language = _ALIASES.get(language, language)
    code = language if language in SPACY_LANGUAGES or language in _BLANK_CONFIG else "xx"
    if code == "en":  # the cue analyzer's blank English pipeline is this one: built once (0.2 s), one vocabulary
        return default_cue_analyzer().nlp
    # spacy.blank's vocabulary and tokenizer, separators split off ("Werbung|Neue")
    return lean_spacy.blank(code, _BLANK_CONFIG.get(code), separators=lean_spacy.SEPARATORS)


_LANGID_ARRAYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")


@lru_cache(maxsize=1)
def _langid_model() -> tuple:
    """py3langid's model arrays, from a copy unpacked once into the cache folder, one .npy file
    per array, memory-mapped: its LZMA file takes about 0.8 s to decompress and the 68 MB of
    arrays about 0.1 s to read back from an .npz (zip CRC and copies), at every process start
    (every `check` a creator runs); mapped, the arrays are read only where a text's walk goes.
    Falls back to py3langid's own loader if its layout ever changes."""
    from py3langid import modelio

    source = MODEL_DIR / MODEL_FILE
    folder = cache_root() / "models" / f"py3langid-{tool_version('py3langid')}-{source.stat().st_size}"
    try:
        if not all((folder / f"{name}.npy").is_file() for name in _LANGID_ARRAYS):
            _unpack_langid(source, folder)
        data = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in _LANGID_ARRAYS}
        # The DFA tables as memoryviews of the mapped files: its walk indexes them once per byte of
        # text, as fast as py3langid's stdlib arrays, and nothing copies their 39 MB (30 ms a process).
        return (data["ptc"], np.array(data["pc"]), data["classes"].tolist(), memoryview(data["nextmove"]),
                memoryview(data["nextmove_row"]), data["out_feat"].tolist())
    except (OSError, KeyError, ValueError, AttributeError):
        return modelio.load_model(source)


def _unpack_langid(source, folder) -> None:
    """py3langid's LZMA-packed .npz as one .npy file per array, each written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(suffix=".npz", dir=folder) as unpacked:
        with lzma.open(source) as packed:
            shutil.copyfileobj(packed, unpacked, length=1 << 20)
        unpacked.seek(0)
        with np.load(unpacked, allow_pickle=False) as data:
            for name in _LANGID_ARRAYS:
                with atomic_writer(folder / f"{name}.npy") as out:
                    np.save(out, data[name], allow_pickle=False)


class _Columns:
    """py3langid's feature x language table, cut to the candidate languages only where it is read:
    `set_languages` copies those columns of the whole 28 MB table (30 ms of a creator's check),
    while scoring a text reads the rows of its few hundred features (`table[features]`). After
    COPY_AFTER texts (a batch) the columns are copied once, as py3langid does: a text then costs
    one gather again. The same numbers either way: rows then columns, or columns then rows."""

    COPY_AFTER = 256

    def __init__(self, table: np.ndarray, columns: list[int] | None = None):
        self.table, self.columns = table, columns
        self._reads, self._copy = 0, None

    def __getitem__(self, key):
        if isinstance(key, tuple):  # set_languages: table[:, languages]
            rows, columns = key
            if rows != slice(None) or self.columns is not None:
                raise TypeError("only table[:, columns] of the whole table is deferred")
            return _Columns(self.table, list(columns))
        if self.columns is None:
            return self.table[key]
        if self._copy is None:
            self._reads += 1
            if self._reads <= self.COPY_AFTER:
                return self.table[key][:, self.columns]
            self._copy = self.table[:, self.columns]
        return self._copy[key]


@lru_cache(maxsize=8)
def _identifier(candidates: tuple[str, ...]) -> LanguageIdentifier:
    """One identifier per candidate set: `set_languages` rebuilds the model (about 7 ms)."""
    ptc, pc, classes, nextmove, row, output = _langid_model()
    identifier = LanguageIdentifier(_Columns(np.asarray(ptc)), np.asarray(pc), classes, nextmove, output,
                                    norm_probs=True, tk_row=row)
    known = [code for code in candidates if code in identifier.nb_classes]  # e.g. "nb" is not a py3langid class
    identifier.set_languages(known or None)
    return identifier


def detect_language(text: str, candidates: tuple[str, ...]) -> tuple[str | None, float]:
    """The content language of `text` (hashtags, handles and links removed), or None when unsure."""
    return _classify(_URL_OR_TAG.sub(" ", text), candidates)


@lru_cache(maxsize=8192)
def _classify(prose: str, candidates: tuple[str, ...]) -> tuple[str | None, float]:
    """py3langid on one prose text, once: it walks the text byte by byte in Python (about a third of
    a caption's check), and captions of one campaign or template share their prose once hashtags,
    handles and links are gone."""
    if len(re.findall(r"\w+", prose)) < 2 and len(_CJK.findall(prose)) < 4:
        return None, 0.0
    language, probability = _identifier(candidates).classify(prose)
    return (language, probability) if probability >= MIN_LANGUAGE_PROBABILITY else (None, probability)


@dataclass(frozen=True)
class _Compiled:
    phrases: PhraseMatcher
    patterns: Matcher  # shared by every pack with the same token patterns (see _shared_matcher)
    negators: frozenset[str]
    patterns_id: str = ""
    # span label -> confidence factor (`term_confidence`): a mapping, read per span (a pack lists
    # a thousand marked terms; rebuilding it per segment cost a tenth of a caption's check)
    weights: Mapping[str, float] = field(default_factory=dict)
    negation_fillers: frozenset[str] = frozenset()
    not_names: frozenset[str] = frozenset()  # never an advertiser's name (`Vocabulary.not_names`)


class _PatternSpecs:
    """Collects Matcher patterns so that packs with the same ones share one Matcher."""

    def __init__(self) -> None:
        self.specs: list[tuple[str, list[list[dict]]]] = []
        self.needles: set[str] | None = set()  # see `add`; None: some pattern has none

    def add(self, key: str, patterns: list[list[dict]], needles: tuple[str, ...] = ()) -> None:
        """`needles`: lower-case strings one of which any text the patterns match contains (a
        literal the pattern's words must have), so texts with none skip the Matcher; () if unknown."""
        self.specs.append((key, patterns))
        if self.needles is not None and all(needles):
            self.needles.update(needles)
        if not needles or not all(needles):
            self.needles = None


_MATCHERS: dict[tuple[str, str], Matcher] = {}
_NEEDLES: dict[tuple[str, str], frozenset[str] | None] = {}  # a matcher's needles (see _PatternSpecs.add)


def _shared_matcher(language: str, patterns: _PatternSpecs) -> tuple[Matcher, str]:
    """One Matcher per distinct pattern list: most packs only have the discount-code pattern, so a
    caption checked for several regions runs it once (results are cached by `_pattern_matches`)."""
    signature = json.dumps(patterns.specs, sort_keys=True, ensure_ascii=False)
    matcher = _MATCHERS.get((language, signature))
    if matcher is None:
        matcher = Matcher(pipeline(language).vocab)
        for key, specs in patterns.specs:
            matcher.add(key, specs)
        _MATCHERS[(language, signature)] = matcher
        _NEEDLES[(language, signature)] = None if patterns.needles is None else frozenset(patterns.needles)
    return matcher, signature


@lru_cache(maxsize=256)  # the same segment is tokenised once, not once per region pack
def _doc(language: str, text: str) -> Doc:
    return pipeline(language).make_doc(text)


@lru_cache(maxsize=1024)
def _pattern_matches(language: str, signature: str, text: str) -> tuple[tuple[int, int, int], ...]:
    # The token Matcher runs its REGEX predicates in Python on every token (a tenth of a caption's
    # check); a text without any of the patterns' literal words cannot match and skips it.
    needles = _NEEDLES.get((language, signature))
    if needles is not None:
        lowered = text.lower()
        if not any(needle in lowered for needle in needles):
            return ()
    return tuple(_MATCHERS[(language, signature)](_doc(language, text)))


def _hashtag_forms(term: str) -> list[str]:
    """#paidpartnership and #paid_partnership for "paid partnership"."""
    return ["#" + re.sub(r"[\s\-]+", "", term), "#" + re.sub(r"[\s\-]+", "_", term)]


_SAME_LANGUAGE = {"nb": "no", "nn": "no"}  # py3langid says nb/nn; packs write Norwegian as "no"


def vocabulary_language(language: str | None) -> str | None:
    """The pack-vocabulary code of a content language ("en-GB" -> "en", "nb" -> "no")."""
    if not language:
        return None
    code = language.replace("_", "-").split("-")[0].lower()
    return _SAME_LANGUAGE.get(code, code)


LANGUAGE_BOUND_KINDS = ("signal", "denial", "negator")  # labels are matched in every language


def _applies(vocab_language: str, term: str, cross: frozenset[str], content: str | None, kind: str) -> bool:
    """Whether a vocabulary term of `kind` applies to text in `content` (None: unknown language).

    Signals, denials and negators apply to text in their own language, or when it is unknown, or
    when marked `cross_language`. Labels, insufficient and special labels apply to every text: the
    packs list labels of other languages so that a label in the wrong language is found."""
    return (kind not in LANGUAGE_BOUND_KINDS or content is None or vocabulary_language(vocab_language) == content
            or term in cross)


def tokenizer_language(language: str | None, text: str) -> str:
    """The pipeline to tokenise with: the content language, or the script when it is unknown."""
    if language:
        return language
    if _CJK.search(text):
        return "zh"
    if _HANGUL.search(text):
        return "ko"
    return "xx"


@lru_cache(maxsize=None)
def _compile(pack: ResolvedPack, language: str, content: str | None = None) -> _Compiled:
    """The matchers for text tokenised as `language`, with the vocabulary that applies to text in
    the content language `content` (see `_applies`; None: every language's words)."""
    nlp = pipeline(language)
    phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
    patterns = _PatternSpecs()
    negators: set[str] = set()
    fillers: set[str] = set()
    not_names: set[str] = set()
    weights: dict[str, float] = {}
    for vocab_language, vocabulary in pack.pack.vocabulary.items():
        cross = frozenset(vocabulary.cross_language)
        for term, mark in vocabulary.term_confidence.items():
            for kind in ("label", "insufficient", "denial", "signal"):
                weights[f"{kind}|{vocab_language}|{term}"] = TERM_CONFIDENCE[mark]
        negators.update(n.lower().translate(APOSTROPHES) for n in vocabulary.negators
                        if _applies(vocab_language, n, cross, content, "negator"))
        fillers.update(f.lower() for f in vocabulary.negation_fillers
                       if _applies(vocab_language, f, cross, content, "negator"))
        not_names.update(w.casefold() for w in vocabulary.not_names
                         if _applies(vocab_language, w, cross, content, "negator"))
        for kind, terms in (
            ("not_label", vocabulary.not_labels),
            ("label", vocabulary.labels),
            ("insufficient", vocabulary.insufficient),
            ("denial", vocabulary.denials),
            ("signal", vocabulary.signals),
            *((f"special:{flag}", terms) for flag, terms in vocabulary.special.items()),
        ):
            for term in terms:
                if not (_applies(vocab_language, term, cross, content, kind)
                        and vocabulary.applies_in(term, vocab_language, pack.pack.languages)):
                    continue
                key = f"{kind}|{vocab_language}|{term}"
                if _is_advertiser_hashtag(key):  # "#{advertiser}partner": one hashtag
                    prefix, suffix = _around_advertiser(key)
                    regex = f"^{re.escape(prefix)}[^\\W_]+{re.escape(suffix)}$"
                    patterns.add(key, [[{"ORTH": "#"}, {"LOWER": {"REGEX": regex}}]],
                                 (max((prefix, suffix), key=len),))
                    continue
                if ADVERTISER in term:
                    pattern = _advertiser_pattern(nlp, term)
                    patterns.add(key, [pattern], tuple(t["LOWER"] for t in pattern if "LOWER" in t)[:1])
                    continue
                patterned = is_gap_term(term) or any(w in _PLACEHOLDER_TOKENS for w in term.split())
                if kind == "not_label" and not patterned:  # a homonym cancels what it overlaps: as written only
                    phrases.add(key, [nlp.make_doc(term.translate(APOSTROPHES))])
                    continue
                if patterned:
                    # "sent me * for free": a few words between the two parts; "{handle}": any
                    # @handle, "{web-address}": any web address, alone or inside a term
                    patterns.add(key, [_word_pattern(nlp, term)], _needles(term))
                    continue
                if term.startswith("#") and "*" in term:
                    regex = "^" + ".*".join(re.escape(p) for p in term[1:].lower().split("*")) + "$"
                    patterns.add(key, [[{"ORTH": "#"}, {"LOWER": {"REGEX": regex.replace(".*", "[^\\W_]+")}}]],
                                 (max(term[1:].lower().split("*"), key=len),))
                    continue
                forms = [term] if term.startswith("#") else [term, *_hashtag_forms(term)]
                phrases.add(key, [nlp.make_doc(form.translate(APOSTROPHES)) for form in dict.fromkeys(forms)])
                if _HANGUL.search(term) and len(nlp.make_doc(term.lstrip("#"))) == 1:
                    # Korean attaches particles and endings to words: 광고를, 협찬받아 still say 광고, 협찬.
                    stem = {"LOWER": {"REGEX": "^" + re.escape(term.lstrip("#").lower())}}
                    patterns.add(key, [[{"ORTH": "#"}, stem]] if term.startswith("#") else [[stem]],
                                 (term.lstrip("#").lower(),))
    # A discount code right after a signal word ("code GLOW20") is a commercial signal on its own.
    patterns.add("signal|xx|discount code", [[{"LOWER": {"REGEX": "code[sn]?$|^código$|^codice$|^kod$"}},
                                              {"TEXT": {"REGEX": _CODE.pattern}}]], ("code", "código", "codice", "kod"))
    matcher, signature = _shared_matcher(language, patterns)
    return _Compiled(phrases, matcher, frozenset(negators), signature, MappingProxyType(weights),
                     negation_fillers=frozenset(fillers), not_names=frozenset(not_names))


def _word_pattern(nlp: spacy.language.Language, term: str) -> list[dict]:
    """Matcher tokens for a term with a gap or a placeholder: "sent me * for free" -> sent, me, 1 to
    GAP_MAX_WORDS words that are not punctuation (the gap stays inside one clause), for, free;
    "ganhei da {handle}" -> ganhei, da, an @handle."""
    pattern: list[dict] = []
    for word in term.split():
        if word == "*":
            pattern.append({"IS_PUNCT": False, "IS_SPACE": False, "OP": f"{{1,{GAP_MAX_WORDS}}}"})
        elif word == "{handle}" and len(nlp.make_doc("@ab")) > 1:
            # Character-segmenting tokenizers (zh, ja) split "@glowskin" into "@", "g", "l", ...
            pattern += [{"ORTH": "@"}, {"TEXT": {"REGEX": r"^[A-Za-z0-9_.]$"}, "OP": "+"}]
        elif word in _PLACEHOLDER_TOKENS:
            pattern.append(_PLACEHOLDER_TOKENS[word][0])
        else:
            pattern += [{"LOWER": t.lower_} for t in nlp.make_doc(word.translate(APOSTROPHES))]
    return pattern


def _needles(term: str) -> tuple[str, ...]:
    """What a text must contain for the term's pattern to be worth running: its longest word, or
    the placeholder's marks ("@") where it has no word of its own."""
    words = [w for w in term.lower().split() if w != "*" and w not in _PLACEHOLDER_TOKENS]
    if words:
        return (max(words, key=len),)
    return _PLACEHOLDER_TOKENS[term.strip()][1]


def _advertiser_pattern(nlp: spacy.language.Language, term: str) -> list[dict]:
    """Matcher tokens for a label that names the advertiser: "Mainos {advertiser}" -> (#) mainos,
    up to three connectors, one word (checked by `_names_advertiser`)."""
    prefix = term.split(ADVERTISER, 1)[0].strip()
    pattern: list[dict] = [{"ORTH": "#", "OP": "?"}] if not prefix.startswith("#") else []
    pattern += [{"LOWER": t.lower_} for t in nlp.make_doc(prefix.translate(APOSTROPHES))]
    pattern += [{**_CONNECTOR, "OP": "?"}] * 3
    pattern.append({"IS_SPACE": False, "IS_PUNCT": False})
    return pattern


def _names_advertiser(token, brands: tuple[str, ...], tagged: frozenset[str] = frozenset(),
                      not_names: frozenset[str] = frozenset()) -> bool:
    """The word after "Mainos", "Reklam för"...: a @handle, the declared brand (or a handle of it),
    the start of a name the post shows ("Mainos: Glow" beside @glowskincare, or with the declared
    brand "Glow Skincare"), or a capitalised name that is not an ordinary (stop) word and follows
    the label directly or as a hashtag ("Mainos Glow", "Mainos #Glow"; not "Mainos | Uusi").
    `tagged`: the handles (lower case, no @) tagged anywhere in the post; `not_names`: ordinary words
    the stop-word list lacks ("Mitt": a Norwegian possessive starts a sentence). Some tokenizers keep a
    hashtag in one token (Norwegian: "#glowskincare"), others split off the "#": both read the same."""
    text = token.text.removeprefix("#")
    # "Fjällkaffe" names @fjallkaffe; "Glow'n" (Finnish genitive after an apostrophe) names Glow
    lowered = _CASE_ENDING.sub("", without_accents(text).lstrip("@"))
    if any(lowered and lowered == without_accents(b).lstrip("@").split()[0] for b in brands if b.strip()):
        return True
    # "#ad #glowskincare": the brand written as one lower-case word, or a handle the post tags
    names, handles = _names_shown(brands, tagged, token.doc.text)
    if lowered and lowered in names | handles:
        return True
    if text.startswith("@") and len(text) > 1:
        return True
    # "MAINOS: Glow" where the post tags @glowskincare: the name the post shows, shortened. A word
    # that starts nothing the post shows ("Mainos: Tänään uusi") is a sentence after the label.
    # A name with a case ending ("Fazerin kanssa" beside @fazerfinland: Finnish genitive) is read
    # without its last one or two letters, where four or more remain.
    stems = {lowered} | {lowered[:-cut] for cut in (1, 2) if len(lowered) - cut >= 4}
    if len(lowered) >= 2 and lowered.isalnum() and not token.is_stop and any(
            n.startswith(stem) for n in names | handles for stem in stems):
        return True
    before = token.doc[token.i - 1] if token.i else None
    if before is not None and _is_connector(before) and before.text != "#":
        # "Reklame | Elsker ...", "Mainos: Tänään testasin": after a separator a capitalised word
        # starts a sentence, unless the name stands alone as a heading's second part
        # ("Kaupallinen yhteistyö: Glow Skincare | ...", R-E:354 "Kaupallinen yhteistyö [Yritys]").
        return not (names | handles) and _heading_name(token, not_names)
    # A capitalised word stands for the advertiser only where the post shows no name of its own:
    # beside @glowskincare, "Adoro" in "#ad Adoro ..." and "Rakastan" in "Mainos Rakastan ..." start
    # a sentence (verdict matrix, Dec 2026); "Mainos Lumene" in a post that tags nobody names one.
    return not (names | handles) and _capitalised_name(token, not_names)


_CASE_ENDING = re.compile(r"(?<=[^\W\d_])'[^\W\d_]{1,3}$")  # "Glow'n", "Glow's": the name is before it


def _is_connector(token) -> bool:
    return bool(_CONNECTOR_TEXT.match(token.text))


def _capitalised_name(token, not_names: frozenset[str] = frozenset()) -> bool:
    text = token.text.removeprefix("#")
    return text[:1].isupper() and text[:1].isalpha() and not token.is_stop and text.casefold() not in not_names


def _heading_name(token, not_names: frozenset[str] = frozenset()) -> bool:
    """One or two capitalised words that end their line or their part of a heading ("Glow Skincare"
    before "|", a line break or the end): a name, where a sentence would go on in lower case."""
    doc, end = token.doc, token.i + 1
    if end < len(doc) and _capitalised_name(doc[end], not_names):
        end += 1
    return _capitalised_name(token, not_names) and (end == len(doc) or "\n" in doc[end].text or _is_connector(doc[end]))


def _names_shown(brands: tuple[str, ...], tagged: frozenset[str], text: str) -> tuple[set[str], set[str]]:
    """(the declared brands as one word, the handles the post tags or shows), without "@", case or
    accents: the names an advertiser in a label is compared with."""
    names = {without_accents(b).lstrip("@").replace(" ", "") for b in brands if b.strip()}
    return names, {without_accents(h).lstrip("@") for h in (*tagged, *HANDLE.findall(text))}


def _is_advertiser_hashtag(key: str) -> bool:
    """A vocabulary key whose term is one hashtag with the advertiser inside ("#{advertiser}partner");
    "#ad {advertiser}" is a hashtag and then the advertiser, as any `{advertiser}` term."""
    term = key.split("|", 2)[2]
    return ADVERTISER in term and term.startswith("#") and not any(c.isspace() for c in term)


def _around_advertiser(key: str) -> tuple[str, str]:
    """What an advertiser hashtag's term has before and after the name ("#{advertiser}partner":
    "", "partner"), lower case and without the "#"."""
    prefix, suffix = key.split("|", 2)[2][1:].lower().split(ADVERTISER, 1)
    return prefix, suffix


def _hashtag_names_advertiser(span: Span, brands: tuple[str, ...], tagged: frozenset[str]) -> bool:
    """"#GlowPartner" for "#{advertiser}partner": the name inside the hashtag is the declared brand
    or a handle the post shows, or the start of one ("#GlowPartner" beside @glowskincare); a name
    the post shows nowhere ("#JessSkisPartner" beside @northpeak: the creator's own name) is not
    the advertiser's. A post that names no brand and tags no one cannot tell: the hashtag counts."""
    prefix, suffix = _around_advertiser(span.label_)
    word = without_accents(span[-1].text)
    stem = word[len(prefix):len(word) - len(suffix)]
    names = set().union(*_names_shown(brands, tagged, span.doc.text))
    return not names or (len(stem) >= 2 and any(n.startswith(stem) or stem.startswith(n) for n in names if n))


def _inside_hashtag(span: Span) -> bool:
    """A match of a term written without "#" that starts right after a "#" ("#إعلان مهم")."""
    return bool(span.start) and span.doc[span.start - 1].text == "#" and not span.label_.split("|", 2)[2].startswith("#")


def _whole_word(text: str, start: int, end: int) -> bool:
    """False for a match inside a longer Latin word: character-segmenting tokenizers (Chinese,
    Japanese) split "SPRING" into letters, where "PR" must not match."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not ((text[start].isascii() and text[start].isalnum() and before.isascii() and before.isalnum())
                or (text[end - 1].isascii() and text[end - 1].isalnum() and after.isascii() and after.isalnum()))


def _is_negated(span: Span, negators: frozenset[str], fillers: frozenset[str] = frozenset()) -> bool:
    """A negator right before the label, or one short word before it ("not an ad", "kein #ad"); the
    vocabulary's `negation_fillers` are stepped over too ("not *being* sponsored"), up to 4 words."""
    doc = span.doc
    short_words = 0
    for index in range(span.start - 1, max(span.start - 5, -1), -1):
        token = doc[index]
        if token.lower_ in negators:
            return True
        if token.lower_ in fillers:
            continue
        short_words += 1
        if short_words > 1 or not _negation_filler(token):
            return False
    return False


def _negation_filler(token) -> bool:
    """A word a negator may scope over to reach the label: an article or other function word ("not
    *an* ad", "kein *echter* ..." is not: only short stop words). "No BS #ad": "BS" is no stop word,
    so "no" negates "BS", not the label. Pipelines without stop words ("xx") take any short
    lower-case word."""
    if token.is_punct or len(token.text) > NEGATION_WINDOW_FILLER:
        return False
    if pipeline_stop_words(token.doc.vocab.lang):
        return token.is_stop
    return not (token.text.isupper() and len(token.text) > 1)  # "BS", "OK": an acronym, not an article


@lru_cache(maxsize=None)
def pipeline_stop_words(language: str) -> bool:
    return bool(pipeline(language).Defaults.stop_words)


class Analyzer:
    """Finds a pack's vocabulary in segments; one instance serves a whole batch."""

    def __init__(self, packs: list[ResolvedPack], candidate_languages: tuple[str, ...] | None = None):
        """`candidate_languages`: what language detection chooses among (the library's, which knows
        the packs it did not load); by default the languages of `packs`."""
        self.packs = packs
        languages = {lang for p in packs for lang in (*p.pack.languages, *p.pack.vocabulary)}
        self.candidate_languages = candidate_languages or tuple(sorted(languages | {"en"}))
        self._memo: list[tuple[list[Segment], str | None, Submission, _Shared]] = []

    def prepare(self, pack: ResolvedPack, language: str, content: str | None | tuple[()] = ()) -> None:
        """Build a pack's matchers (and the language's pipeline) now: batch scans do it before
        forking worker processes, which then inherit them instead of each building its own.
        `language` is the tokenizer's; `content` the text's language the matchers are for (None:
        not told, every language's words), both when not given."""
        for words_of in ((vocabulary_language(language), None) if content == () else (content,)):
            _compile(pack, language, words_of)
        prepare_cues(pipeline(language).vocab)
        prepare_reads()
        prepare_model()

    def content_language(self, submission: Submission, texts: list[str]) -> tuple[str | None, str]:
        if submission.language:
            return submission.language, "declared"
        language, probability = detect_language(" ".join(texts), self.candidate_languages)
        if language:
            return language, f"detected (py3langid, p={probability:.2f})"
        return None, "unknown (too little text to tell)"

    def mentions(self, segments: list[Segment], pack: ResolvedPack, language: str | None,
                 submission: Submission) -> list[Mention]:
        """The mentions of one pack's vocabulary in the segments, with the pack-free ones (brand
        names, commercial cues, sponsor reads, the trained signal). The engine asks once per region
        for the same segments: what no pack changes is worked out once per post (`_shared`)."""
        shared = self._shared(segments, language, submission)
        found: list[Mention] = []
        for segment, normalized, tokens, content, brand_found in shared.texts:
            found.extend(self._segment_mentions(segment, normalized, pack, tokens, content, shared.brands,
                                                shared.tagged))
            found.extend(brand_found)
        # Commercial cues (commercial.py): sponsor reads and sponsored captions, as signals with why.
        # A cue the pack reports as a signal already (same segment, overlapping) is not repeated, and
        # a cue inside a denial is the denial's words ("Sponsored by nobody"), not a commercial signal.
        taken = [m for m in found if m.kind in ("signal", "denial") and m.span]
        found.extend(c for c in shared.cues if not (c.span and any(
            t.segment == c.segment and t.span.start < c.span.end and c.span.start < t.span.end for t in taken)))
        # Sponsor reads as timed spans: segue, pitch, return to content (sponsor_reads.py).
        found.extend(shared.reads)
        # The trained likely-commercial signal (signal_model.py), for posts that nothing above marks
        # as commercial (no label, signal or brand): it can only add a signal, never remove one.
        if not any(m.kind in ("signal", "brand", "label", "insufficient") and not m.negated for m in found):
            found.extend(shared.model())
        return found

    def _shared(self, segments: list[Segment], language: str | None, submission: Submission) -> _Shared:
        """What every region's pack shares for these segments, kept for the post being checked."""
        for memo in self._memo:  # held, so no other list can take these ids while they are compared
            if memo[0] is segments and memo[1] == language and memo[2] is submission:
                return memo[3]
        shared = _Shared.of(segments, language, submission)
        self._memo = [(segments, language, submission, shared), *self._memo[:1]]  # the post's texts and its title
        return shared

    def _segment_mentions(self, segment: Segment, normalized: NormalizedText, pack: ResolvedPack,
                          language: str, content: str | None = None,
                          brands: tuple[str, ...] = (), tagged: frozenset[str] = frozenset()) -> list[Mention]:
        nlp = pipeline(language)
        compiled = _compile(pack, language, content)
        text = normalized.text.translate(APOSTROPHES)  # same length: spans map back unchanged
        doc: Doc = _doc(language, text)
        phrase_matches = compiled.phrases(doc)
        pattern_matches = _pattern_matches(language, compiled.patterns_id, text)
        strings = nlp.vocab.strings
        # How each span was found (provenance, issue #20): a phrase match wins over the same span
        # found by a token pattern (a Korean stem matches both ways).
        how: dict[tuple[int, int, str], str] = {}
        for matcher, found in (("phrase", phrase_matches), ("pattern", pattern_matches)):
            for m, s, e in found:
                how.setdefault((s, e, strings[m]), matcher)
        spans = [Span(doc, s, e, label=key) for key, s, e in ((strings[m], s, e)
                                                              for m, s, e in (*phrase_matches, *pattern_matches))]
        spans = [s for s in spans if _whole_word(text, s.start_char, s.end_char)]
        # A label naming the advertiser counts only with a name after it ("Mainos Glow", not "Mainos ja").
        spans = [s for s in spans if ADVERTISER not in s.label_ or (
            _hashtag_names_advertiser(s, brands, tagged) if _is_advertiser_hashtag(s.label_)
            else _names_advertiser(s[-1], brands, tagged, compiled.not_names))]
        # Homonyms (`not_labels`: "ad hoc", "Ad Astra", "pub cachée") cancel every match they overlap.
        # A hashtag is written on purpose: "#إعلان مهم" is the label "#إعلان", whatever the homonym
        # "إعلان مهم" (an important announcement) says of the bare words.
        homonyms = [s for s in spans if s.label_.startswith("not_label|") and not _inside_hashtag(s)]
        spans = [s for s in spans if not s.label_.startswith("not_label|")
                 and not any(h.start < s.end and s.start < h.end for h in homonyms)]
        denials = [s for s in spans if s.label_.startswith("denial|")]
        others = [s for s in spans if not s.label_.startswith("denial|")
                  and not any(d.start <= s.start < d.end for d in denials)]
        scores: dict[tuple[int, int, str], float] = {}  # fuzzy matches: (start, end, key) -> rapidfuzz ratio
        if segment.channel in ("speech", "overlay"):  # ASR misspells, OCR misreads and drops accents
            for span, score in _fuzzy_spans(doc, pack, [*denials, *others, *homonyms], content):
                if span.label_.startswith("denial|") and not _heard_word_for_word(span):
                    continue
                scores[(span.start, span.end, span.label_)] = score
                how.setdefault((span.start, span.end, span.label_), "fuzzy")
                (denials if span.label_.startswith("denial|") else others).append(span)
        # Special labels ("Image retouchée", Norway's REKLAME mark) may share words with labels: keep both.
        specials = [s for s in others if s.label_.startswith("special:")]
        others = [s for s in others if not s.label_.startswith("special:")]
        mentions = []
        weights = compiled.weights
        # The same words as a label (or insufficient label) and as a signal are reported as the label;
        # a term several languages list ("#reklama": pl, cs) is reported in the content's language.
        def foreign(span: Span) -> bool:
            return content is not None and span.label_.split("|", 2)[1] != content

        denials.sort(key=foreign)
        others.sort(key=lambda s: (s.label_.startswith("signal|"), foreign(s)))
        speech_or_screen = segment.channel in ("speech", "overlay")
        # A label wins over a longer signal that contains it ("gekregen van" inside the signal
        # "gekregen van {handle}"): filter_spans alone would keep the longer span.
        labels = filter_spans([s for s in others if not s.label_.startswith("signal|")])
        signals = [s for s in filter_spans([s for s in others if s.label_.startswith("signal|")])
                   if not any(k.start < s.end and s.start < k.end for k in labels)]
        for span in (*filter_spans(denials), *labels, *signals, *filter_spans(specials)):
            kind, vocab_language, term = span.label_.split("|", 2)
            kind, _, category = kind.partition(":")
            o_start, o_end = normalized.to_original(span.start_char, span.end_char)
            where = (span.start, span.end, span.label_)
            score = scores.get(where)
            mentions.append(Mention(
                kind=kind, term=term, language=vocab_language, pack=pack.ref, matcher=how[where],
                score=None if score is None else round(score, 2), segment=segment.id, channel=segment.channel,
                text=normalized.original[o_start:o_end], span=CharSpan(start=o_start, end=o_end),
                time=segment.time, confidence=round(segment.confidence * (1.0 if score is None else score / 100)
                                                * weights.get(span.label_, 1.0), 3),
                negated=kind in ("label", "insufficient")
                and _is_negated(span, compiled.negators, compiled.negation_fillers),
                category=category or None,
                context=segment.text if speech_or_screen else None, why=segment.tentative,
                disguise=normalized.disguise_notes(o_start, o_end)
                + ([] if speech_or_screen else _spaced_out(normalized.original[o_start:o_end], term)),
                media=segment.media, overlay=segment.overlay, tentative=segment.tentative is not None,
            ))
        return sorted(mentions, key=lambda m: (m.span.start if m.span else 0, m.kind))


class _Shared:
    """One post's analysis that no region pack changes, done once however many regions it is
    checked for: each segment normalised and its language settled (a speech segment's own,
    Whisper's, else the post's), the declared brand found, the handles tagged, the commercial
    cues, the sponsor reads, and (only when asked) the trained signal."""

    def __init__(self, texts: list[tuple[Segment, NormalizedText, str, str | None, list[Mention]]],
                 brands: tuple[str, ...], cues: list[Mention], reads: list[Mention],
                 segments: list[Segment], content: str | None, tagged: frozenset[str] = frozenset()):
        self.texts, self.brands, self.cues, self.reads, self.tagged = texts, brands, cues, reads, tagged
        self._segments, self._content = segments, content
        self._model: list[Mention] | None = None

    @classmethod
    def of(cls, segments: list[Segment], language: str | None, submission: Submission) -> _Shared:
        texts = []
        for segment in segments:
            if segment.channel == "metadata" or not segment.text:
                continue
            own = segment.language or language  # #15: speech in another language than the caption
            normalized = normalize(segment.text)
            texts.append((segment, normalized, tokenizer_language(own, normalized.text), vocabulary_language(own),
                          _brand_mentions(segment, submission)))
        # Cue tokens come from the caption language's pipeline, as the packs' matching uses.
        cues = signal_mentions(segments, [], lambda text: _doc(tokenizer_language(language, text), text))
        reads = [r.model_copy(update={"matcher": "read"}) for r in read_mentions(segments, submission.brand)]
        # Handles tagged in the caption or on screen: a shortened name after a label may be one's start.
        tagged = frozenset(h.lower().lstrip("@") for s in segments if s.channel in ("caption", "overlay")
                           for h in HANDLE.findall(s.text))
        return cls(texts, _brand_names(submission), cues, reads, segments, vocabulary_language(language), tagged)

    def model(self) -> list[Mention]:
        if self._model is None:
            self._model = model_mentions(self._segments, self._content)
        return self._model


_LETTERS_APART = re.compile(r"[^\W_]\s+[^\W_]")


def _spaced_out(text: str, term: str) -> list[str]:
    """'#P R' read as 'PR' (audit JP-4): character-segmenting tokenizers (zh, ja) join letters a
    space splits, so the match is reported as a disguise instead of being taken as the label.
    Typed text only: OCR and ASR split words by mistake, not to hide them."""
    if _LETTERS_APART.search(text) and not any(c.isspace() for c in term):
        return [f"letters spaced apart ('{text}' for '{term.lstrip('#')}'), which is not read as the label"]
    return []


@lru_cache(maxsize=None)
def _fuzzy_terms(pack: ResolvedPack, content: str | None = None) -> tuple[tuple[str, str, int], ...]:
    """(span label, accent-free target, word count) of each pack phrase long enough to match
    fuzzily and applying to text in `content`, in vocabulary order (the first phrase to claim
    words keeps them)."""
    terms = []
    for vocab_language, vocabulary in pack.pack.vocabulary.items():
        cross = frozenset(vocabulary.cross_language)
        for kind, phrases in (("label", vocabulary.labels), ("denial", vocabulary.denials),
                              ("insufficient", vocabulary.insufficient)):
            for term in phrases:
                if not (_applies(vocab_language, term, cross, content, kind)
                        and vocabulary.applies_in(term, vocab_language, pack.pack.languages)):
                    continue
                target = without_accents(term.lstrip("#"))
                if "*" not in target and "{" not in term and len(target.replace(" ", "")) >= FUZZY_MIN_CHARS:
                    terms.append((f"{kind}|{vocab_language}|{term}", target, len(target.split())))
    return tuple(terms)


def _heard_word_for_word(span: Span) -> bool:
    """Each word of a fuzzily matched span against the term's word in its place (same count):
    close (FUZZY_DENIAL_WORD_SCORE) and with the same first letter, so no word, such as the
    negation, was swapped for another or dropped."""
    term = span.label_.split("|", 2)[2]
    wanted = without_accents(term.lstrip("#").casefold()).split()
    heard = [without_accents(t.text.casefold()) for t in span if not t.is_punct and not t.is_space]
    return len(wanted) == len(heard) and all(
        w[:1] == h[:1] and fuzz.ratio(w, h) >= FUZZY_DENIAL_WORD_SCORE for w, h in zip(wanted, heard))


def _fuzzy_spans(doc: Doc, pack: ResolvedPack, exact: list[Span],
                 content: str | None = None) -> list[tuple[Span, float]]:
    """Pack phrases found approximately in a transcript, over word windows of the phrase's length;
    each with its rapidfuzz ratio (0-100). Every phrase is scored against every window of its length in one
    rapidfuzz `cdist` call per length; only the windows that reach FUZZY_MIN_SCORE are looked at."""
    words = [t for t in doc if not t.is_punct and not t.is_space]
    terms = _fuzzy_terms(pack, content)
    folded = [without_accents(w.text) for w in words]
    hits: dict[int, list[int]] = {}  # term index -> window starts reaching the score, in order
    for size in {size for _, _, size in terms}:
        windows = [" ".join(folded[i:i + size]) for i in range(len(words) - size + 1)]
        chosen = [k for k, (_, _, n) in enumerate(terms) if n == size]
        if not windows:
            continue
        matrix = process.cdist([terms[k][1] for k in chosen], windows, scorer=fuzz.ratio,
                               score_cutoff=FUZZY_MIN_SCORE - 0.5, workers=1)
        for row, k in enumerate(chosen):
            starts = matrix[row].nonzero()[0]
            if len(starts):
                hits[k] = [int(i) for i in starts]
    found: list[tuple[Span, float]] = []
    for k in sorted(hits):
        label, target, size = terms[k]
        for i in hits[k]:
            start, end = words[i].i, words[i + size - 1].i + 1
            if any(s.start < end and start < s.end for s in (*exact, *(f for f, _ in found))):
                continue
            score = fuzz.ratio(" ".join(folded[i:i + size]), target)  # exact, as the threshold sees it
            if score >= FUZZY_MIN_SCORE:
                found.append((Span(doc, start, end, label=label), score))
    return found


def _brand_names(submission: Submission) -> tuple[str, ...]:
    return tuple(h for h in (*submission.brand_handles, submission.brand or "") if h)


def _brand_mentions(segment: Segment, submission: Submission) -> list[Mention]:
    """The declared brand's handles and name: tagging a brand is a commercial signal. A name of
    several words is also found written as one, as hashtags write it ("Glow Skincare": #glowskincare)."""
    names = [h for h in submission.brand_handles if h] + ([submission.brand] if submission.brand else [])
    names += [joined for name in names if " " in name.strip() and (joined := name.replace(" ", "")) not in names]
    found = []
    lowered = segment.text.lower()
    for name in names:
        for match in re.finditer(re.escape(name.lower()), lowered):
            found.append(Mention(kind="brand", term=name, language="xx", matcher="brand", segment=segment.id,
                                 channel=segment.channel, text=segment.text[match.start():match.end()],
                                 span=CharSpan(start=match.start(), end=match.end()), time=segment.time))
    return found
