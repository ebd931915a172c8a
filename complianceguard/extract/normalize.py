"""Unicode normalisation that keeps a map back to the original text.

Matching runs on the normalised text; evidence always quotes the original. Look-alike letters
(Cyrillic `а` inside `#аd`) and invisible characters are folded so the label is *found*, and the
fold is remembered so the label is reported as disguised instead of silently accepted.

Styled letters are treated the same way, every Unicode compatibility form alike: fullwidth
`＃ａｄ` (except in Japanese, Chinese or Korean text, whose input methods type Latin letters full
width), mathematical bold `#𝐚𝐝`, circled `#ⓐⓓ`, superscript, small and squared letters, and
ligatures, i.e. any character whose NFKC form is different and contains a Latin letter, a digit
or `#`. They are folded by NFKC (so the label is found) and flagged, because platforms do not
search them as the plain label and screen readers spell them out letter by letter. A no-break or
other special space right after a `#` (`#\u00a0ad`, which breaks the hashtag) is dropped and flagged.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from confusable_homoglyphs import categories

# Typographic apostrophes as the straight one ("isn’t" is "isn't"), one character for one, so
# offsets are kept: vocabularies and negators are written with the straight one.
APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "\u2018": "'"})
HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_.]*[A-Za-z0-9_]")  # a tagged account in text: "@glowskincare"

# Zero-width and invisible formatting characters that split a word without showing anything.
INVISIBLE = frozenset("\u00ad\u180e\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff")
_WORD = re.compile(r"[^\W_]+(?:[\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff][^\W_]+)*")
# A hashtag sign (ASCII or a compatibility form), a space that is not a plain one, then a letter.
# Fullwidth ASCII forms (U+FF01-FF5E), and the kana, Han and Hangul letters of the texts they belong in.
_FULLWIDTH = re.compile(r"[\uff01-\uff5e]")
_EAST_ASIAN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_HASH_SPACE = re.compile(r"[#\uff03\ufe5f]([\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+)(?=[^\W_])")


@dataclass(frozen=True)
class NormalizedText:
    """`text` is the normalised form; `offsets[i]` is the original index of `text[i]`."""

    original: str
    text: str
    offsets: tuple[int, ...]
    disguised_at: frozenset[int] = field(default_factory=frozenset)  # original indices

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of `text` back onto `original`."""
        if not self.text:
            return (0, 0)
        o_start = self.offsets[start] if start < len(self.offsets) else len(self.original)
        if end <= start:
            return (o_start, o_start)
        last = self.offsets[min(end, len(self.offsets)) - 1]
        o_end = last + 1
        # Extend over the rest of a multi-char original cluster (base + combining marks).
        while o_end < len(self.original) and unicodedata.combining(self.original[o_end]):
            o_end += 1
        return (o_start, o_end)

    def disguise_notes(self, o_start: int, o_end: int) -> list[str]:
        """Describe each look-alike or invisible character in an original span."""
        notes = []
        for i in range(o_start, o_end):
            if i in self.disguised_at:
                char = self.original[i]
                notes.append(f"{describe_char(char)} at character {i}")
        return notes


def without_accents(text: str) -> str:
    """Lower case without diacritics: OCR and ASR drop them ("publicite" for "publicité")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def describe_char(char: str) -> str:
    name = unicodedata.name(char, "UNNAMED")
    if char in INVISIBLE:
        return f"invisible {name.title()} (U+{ord(char):04X})"
    if unicodedata.normalize("NFKC", char).isspace():
        return f"{name.title()} (U+{ord(char):04X}) after '#', which breaks the hashtag"
    latin = latin_lookalike(char)
    if latin is None and styled_form(char):
        return (f"{name.title()} '{char}' (U+{ord(char):04X}), a styled compatibility form of "
                f"'{unicodedata.normalize('NFKC', char)}'")
    return f"{name.title()} '{char}' (U+{ord(char):04X}) posing as Latin '{latin}'"


@lru_cache(maxsize=4096)
def styled_form(char: str) -> bool:
    """A compatibility form of Latin letters, digits or `#` (fullwidth, mathematical, circled,
    superscript, ligature ...): NFKC changes it and the result holds one of those."""
    if char.isascii():
        return False
    folded = unicodedata.normalize("NFKC", char)
    return folded != char and any(c.isascii() and (c.isalnum() or c == "#") for c in folded)


@lru_cache(maxsize=4096)
def latin_lookalike(char: str) -> str | None:
    """The Latin letter a non-Latin letter is confusable with (per Unicode TR39), if any."""
    if char.isascii() or not char.isalpha():
        return None
    if categories.alias(char) in ("LATIN", "COMMON"):
        return None
    from confusable_homoglyphs import confusables  # 35 ms of JSON at import: only for a non-Latin letter
    found = confusables.is_confusable(char, greedy=True, preferred_aliases=["latin"])
    if not found:
        return None
    for glyph in found[0]["homoglyphs"]:
        candidate = glyph["c"]
        if len(candidate) == 1 and candidate.isascii() and candidate.isalpha():
            return candidate
    return None


def _is_latin(char: str) -> bool:
    return char.isascii() and char.isalpha() or (char.isalpha() and categories.alias(char) == "LATIN")


def _disguised_positions(text: str) -> set[int]:
    """Indices of look-alike letters and invisible characters inside Latin-looking words.

    A word is Latin-looking when it mixes Latin letters with look-alikes, or when every letter of
    it has a Latin look-alike in a mostly Latin text: `#аd` (Cyrillic a) or `ѕр` (all Cyrillic).
    Whole words in Cyrillic, Greek and other scripts are left alone.
    """
    mostly_latin: bool | None = None  # worked out only for a word that needs it (most texts have none)
    positions: set[int] = {i for i, c in enumerate(text) if not c.isascii() and styled_form(c)}
    if positions and _EAST_ASIAN.search(text):
        # Japanese, Chinese and Korean input methods type Latin letters full width ("＃ＰＲ" in a
        # Japanese caption is how the label is written): folded so it is found, not flagged.
        positions = {i for i in positions if not _FULLWIDTH.match(text[i])}
    for match in _HASH_SPACE.finditer(text):
        positions.update(range(match.start(1), match.end(1)))
    for match in _WORD.finditer(text):
        word = match.group()
        if word.isascii():
            continue
        lookalikes = [i for i, c in enumerate(word) if latin_lookalike(c)]
        invisible = [i for i, c in enumerate(word) if c in INVISIBLE]
        if not lookalikes and not invisible:
            continue
        alpha = [c for c in word if c.isalpha()]
        has_latin = any(_is_latin(c) for c in alpha)
        all_lookalike = bool(alpha) and len(lookalikes) == len(alpha)
        if lookalikes and not has_latin and all_lookalike and mostly_latin is None:
            letters = [c for c in text if c.isalpha()]
            mostly_latin = sum(_is_latin(c) for c in letters) * 2 > len(letters)
        if lookalikes and (has_latin or (all_lookalike and mostly_latin)):
            positions.update(match.start() + i for i in lookalikes)
        positions.update(match.start() + i for i in invisible)
    return positions


@lru_cache(maxsize=4096)  # the same segment is matched once per region pack
def normalize(original: str) -> NormalizedText:
    """NFKC per character cluster, invisible characters dropped, look-alikes folded to Latin."""
    disguised = _disguised_positions(original) if not original.isascii() else set()
    if not disguised and unicodedata.is_normalized("NFKC", original) and not INVISIBLE.intersection(original):
        # Nothing to fold (most captions): the text maps onto itself, without the per-character loop.
        return NormalizedText(original, original, tuple(range(len(original))))
    return _fold(original, disguised)


def _fold(original: str, disguised: set[int]) -> NormalizedText:
    """The per-character fold: NFKC each character, skip invisible ones, map look-alikes."""
    out: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(original):
        if char in INVISIBLE:
            continue
        if index in disguised:
            folded = latin_lookalike(char) or unicodedata.normalize("NFKC", char)
            if folded.isspace():
                continue  # a special space inside a hashtag: dropped, so the label is found (and flagged)
        elif char.isascii():
            folded = char
        else:
            folded = unicodedata.normalize("NFKC", char)
        out.append(folded)
        offsets.extend([index] * len(folded))
    text = unicodedata.normalize("NFC", "".join(out))
    if len(text) != len(offsets):  # NFC merged a base and a combining mark: rebuild the map
        text, offsets = _recompose(out, offsets)
    return NormalizedText(original, text, tuple(offsets), frozenset(disguised))


def _recompose(pieces: list[str], offsets: list[int]) -> tuple[str, list[int]]:
    """NFC each base + combining cluster separately so every output char keeps an origin."""
    flat = "".join(pieces)
    text: list[str] = []
    mapped: list[int] = []
    start = 0
    while start < len(flat):
        end = start + 1
        while end < len(flat) and unicodedata.combining(flat[end]):
            end += 1
        cluster = unicodedata.normalize("NFC", flat[start:end])
        text.append(cluster)
        mapped.extend([offsets[start]] * len(cluster))
        start = end
    return "".join(text), mapped
