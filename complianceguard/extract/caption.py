"""Caption extraction: the caption's layout (words, hashtags, lines) and the platform's "more" fold.

Placement rules ask where a label sits: before the fold, among the first hashtags, buried in a
block of hashtags, after all the words. The layout answers those questions in original-text
character offsets, the same offsets the evidence quotes.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from complianceguard.model import Segment, Submission

HASHTAG = re.compile(r"#[^\W_][\w\u00ad\u200b-\u200d\u2060\ufeff]*")
MENTION = re.compile(r"@[\w.]+")
WORD = re.compile(r"[^\W_][\w'’\u00ad\u200b-\u200d\u2060\ufeff-]*")


@dataclass(frozen=True)
class Token:
    """A word, hashtag or @mention of the caption, in original offsets."""

    kind: str  # word | hashtag | mention
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Fold:
    """Where the platform cuts the caption with "... more", and why we think so."""

    platform: str
    at: int  # original-text index of the first hidden character (len(caption) if none hidden)
    chars: int
    lines: int | None
    confidence: str
    source: str


@dataclass(frozen=True)
class CaptionLayout:
    text: str
    tokens: tuple[Token, ...]
    fold: Fold
    first_line_end: int

    @property
    def hashtags(self) -> list[Token]:
        return [t for t in self.tokens if t.kind == "hashtag"]

    def token_index_at(self, offset: int) -> int | None:
        for i, token in enumerate(self.tokens):
            if token.start <= offset < token.end:
                return i
        return None

    def hashtag_run(self, index: int) -> list[int]:
        """Indices of the block of consecutive hashtags (no words between) around token `index`."""
        start = end = index
        while start > 0 and self.tokens[start - 1].kind == "hashtag":
            start -= 1
        while end + 1 < len(self.tokens) and self.tokens[end + 1].kind == "hashtag":
            end += 1
        return list(range(start, end + 1))


@lru_cache(maxsize=1)
def platform_folds() -> dict[str, Any]:
    text = resources.files("complianceguard").joinpath("data/platforms.yaml").read_text("utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml when available


def fold_for(platform: str, caption: str, lines: int | None = None) -> Fold:
    """The platform's fold for `caption`; `lines` counts that many lines before it instead of the
    platform's figure (a pack whose source gives its own: the FTC's "first three lines")."""
    table = platform_folds()
    entry = table.get(platform) or table["other"]
    chars = int(entry["fold_chars"])
    lines = lines or entry.get("fold_lines")
    at = _within_width(caption, chars)
    if lines:
        line_end = -1
        for _ in range(int(lines)):
            line_end = caption.find("\n", line_end + 1)
            if line_end < 0:
                break
        if line_end >= 0:
            at = min(at, line_end)
    source = entry.get("source") or {}
    cited = ", ".join(str(source[k]) for k in ("title", "publisher", "year", "url") if source.get(k))
    return Fold(platform, at, chars, lines, entry.get("confidence", "not-found"), cited or "no source found")


def _within_width(text: str, columns: int) -> int:
    """How many characters of `text` fit in `columns`: a wide character (Chinese, Japanese, Korean,
    fullwidth forms; Unicode East Asian Width W or F) takes two, as it does on screen, so a fold
    figure given in characters hides a Chinese caption about half as far in."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
        if used > columns:
            return index
    return len(text)


def tokenize_layout(caption: str) -> tuple[Token, ...]:
    """Hashtags, mentions, and the words outside them, in caption order."""
    tokens: list[Token] = []
    inside = bytearray(len(caption))  # 1 where a hashtag or mention covers the character
    for kind, pattern in (("hashtag", HASHTAG), ("mention", MENTION)):
        for m in pattern.finditer(caption):
            tokens.append(Token(kind, m.start(), m.end(), m.group()))
            inside[m.start():m.end()] = b"\x01" * (m.end() - m.start())
    for m in WORD.finditer(caption):
        if not inside[m.start()]:
            tokens.append(Token("word", m.start(), m.end(), m.group()))
    return tuple(sorted(tokens, key=lambda t: t.start))


def caption_layout(caption: str, platform: str) -> CaptionLayout:
    first_line_end = caption.find("\n")
    return CaptionLayout(
        text=caption,
        tokens=tokenize_layout(caption),
        fold=fold_for(platform, caption),
        first_line_end=len(caption) if first_line_end < 0 else first_line_end,
    )


def caption_segments(submission: Submission) -> list[Segment]:
    """The caption and the platform's paid-partnership flag, as segments."""
    segments = [Segment(id="caption", channel="caption", text=submission.caption)]
    if submission.paid_partnership_tag:
        segments.append(Segment(id="metadata:paid-partnership", channel="metadata", text="paid partnership tag"))
    return segments

