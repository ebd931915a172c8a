"""Sponsor reads as timed spans (issue #17): from the segue through the pitch to the return to content.

A read is anchored on transcript lines the cue analyzer (`commercial`) judges commercial, extended
back to its segue ("today's sponsor", "but first") and forward to the return to the content; the
phrase lists and gaps are the `reads` section of `data/commercial.yaml`. Timing rules use the spans
("disclosure at the start of the read").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import spacy
from spacy.matcher import PhraseMatcher

from complianceguard.commercial import Assessment, Reads, _assessed, assess, default_analyzer
from complianceguard.extract.normalize import normalize
from complianceguard.model import Mention, Segment, TimeSpan

@dataclass(frozen=True)
class Read:
    """One spoken sponsor read: where it starts and ends, the brand heard, and why."""

    media: str | None
    start_s: float
    end_s: float
    first: int  # index of its first and last transcript line (in the media's lines, by time)
    last: int
    brand: str | None
    why: str


class _Lines:
    """The phrase lists of the `reads` section, matched on lower-cased tokens of one line."""

    def __init__(self, reads: Reads, nlp: spacy.language.Language):
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for kind, phrases in (("segue", reads.segues), ("return", reads.returns)):
            self.matcher.add(kind, [nlp.make_doc(p) for p in phrases])
        self.nlp = nlp

    def kinds(self, text: str) -> list[tuple[str, int, int]]:
        doc = self.nlp.make_doc(text)
        return [(doc.vocab.strings[m], doc[s:e].start_char, doc[s:e].end_char) for m, s, e in self.matcher(doc)]


def prepare() -> None:
    """Compile the segue and return phrases before forking workers (see `commercial.prepare`)."""
    _read_lines()


@lru_cache(maxsize=1)
def _read_lines() -> _Lines:
    analyzer = default_analyzer()
    return _Lines(analyzer.book.reads, analyzer.nlp)


def sponsor_reads(segments: list[Segment], brand: str | None = None) -> list[Read]:
    """The sponsor reads in the timed transcript lines of `segments`, one media at a time.

    Anchors are lines judged commercial with their neighbours (as `signal_mentions` does) that carry
    a cue of their own, not through self-promotion only. See the cue file's `reads` section for how a
    read is extended to its segue and to the return to the content."""
    book = default_analyzer().book.reads
    lines = _read_lines()
    by_media: dict[str | None, list[Segment]] = {}
    for s in segments:
        if s.channel == "speech" and s.text.strip() and s.time:
            by_media.setdefault(s.media, []).append(s)
    reads: list[Read] = []
    for media, speech in by_media.items():
        speech.sort(key=lambda s: s.time.start_s)
        assessed = {id(seg): a for seg, _, offset, a in _assessed(speech, None) if seg.channel == "speech"}
        own = [assess(s.text) for s in speech]  # each line alone: which lines carry a cue
        marks = [lines.kinds(normalize(s.text).text) for s in speech]
        has_cue = [bool(o.counted) for o in own]
        anchor = [assessed[id(s)].commercial and not assessed[id(s)].self_promotion_only
                  and any(not c.own_brand for c in own[i].counted) for i, s in enumerate(speech)]
        groups: list[list[int]] = []
        for i in (i for i, a in enumerate(anchor) if a):
            if groups and speech[i].time.start_s - speech[groups[-1][-1]].time.end_s <= book.max_gap_s:
                groups[-1].append(i)
            else:
                groups.append([i])
        taken = -1  # the last line of the previous read: reads never overlap
        for group in groups:
            first, last = group[0], group[-1]
            if first <= taken:
                first = taken + 1
                if first > last:
                    continue
            start_s = speech[first].time.start_s
            segue = next((j for j in range(first, taken, -1)
                          if start_s - speech[j].time.start_s <= book.lookback_s
                          and (any(k == "segue" for k, _, _ in marks[j])
                               or any(c.id == "segue" for c in own[j].counted))), None)
            how = "starts at the first commercial line"
            if segue is not None:
                first, how = segue, f"starts at the segue '{_said(speech[segue], marks[segue], own[segue])}'"
            else:  # back over lines with a cue, then over the lead-in before the first of them
                while first - 1 > taken and has_cue[first - 1] and \
                        speech[first].time.start_s - speech[first - 1].time.end_s <= book.max_gap_s:
                    first -= 1
                opening = speech[first].time.start_s
                while first - 1 > taken and opening - speech[first - 1].time.start_s <= book.lead_s \
                        and not any(k == "return" for k, _, _ in marks[first - 1]):
                    first -= 1
            end, ends = last, "ends after the last line with a cue"
            last_cue_end = speech[last].time.end_s
            for j in range(last + 1, len(speech)):
                if any(k == "return" for k, _, _ in marks[j]):
                    if has_cue[j]:
                        end = j
                    ends = f"ends at the return to the content '{speech[j].text.strip()[:40]}'"
                    break
                if has_cue[j] and speech[j].time.start_s - last_cue_end <= book.max_gap_s:
                    end, last_cue_end = j, speech[j].time.end_s
                elif speech[j].time.start_s - last_cue_end <= book.tail_s:
                    end = j  # the pitch goes on a little after its last cue
                else:
                    break
            window = speech[first:end + 1]
            cues = list(dict.fromkeys(c.name for o in own[first:end + 1] for c in o.counted))
            heard = brand or _brand(window)
            reads.append(Read(media, speech[first].time.start_s, speech[end].time.end_s, first, end, heard,
                              f"sponsor read {speech[first].time.start_s:g}-{speech[end].time.end_s:g} s: {how}, "
                              f"{ends}; cues: {', '.join(cues[:5])}" + (f"; brand: {heard}" if heard else "")))
            taken = end
    return reads


def _said(segment: Segment, marks: list[tuple[str, int, int]], own: Assessment) -> str:
    text = normalize(segment.text).text
    for kind, start, end in marks:
        if kind == "segue":
            return text[start:end]
    cue = next((c for c in own.counted if c.id in ("segue", "sponsor")), None)
    return cue.text if cue else text[:30]


_ADDRESS = re.compile(r"\b([a-z][a-z0-9-]{2,})(?:\s*(?:\.|dot)\s*)(?:com|co|io|net|org|tv|gg|app|me|ly|ca)\b",
                      re.IGNORECASE)


def _brand(lines: list[Segment]) -> str | None:
    """The brand a read promotes, as heard: the name in a web address read out ("squarespace dot
    com"), else the word after a sponsor statement ("brought to you by nordvpn"), if any."""
    text = " ".join(normalize(s.text).text for s in lines)
    address = _ADDRESS.search(text)
    if address:
        return address.group(1).lower()
    analyzer = default_analyzer()
    doc = analyzer.nlp.make_doc(text)
    for match, start, end in analyzer.matcher(doc.vocab)(doc):
        if doc.vocab.strings[match].split("|")[0] != "sponsor":
            continue
        for token in doc[end:end + 3]:
            if token.is_alpha and not token.is_stop:
                return token.text
    return None


def read_mentions(segments: list[Segment], brand: str | None = None) -> list[Mention]:
    """A `signal` mention per sponsor read, timed from its start to its end (for timing rules)."""
    found = []
    for read in sponsor_reads(segments, brand):
        speech = sorted((s for s in segments if s.channel == "speech" and s.media == read.media and s.time),
                        key=lambda s: s.time.start_s)
        first = speech[read.first]
        said = " ".join(s.text for s in speech[read.first:read.last + 1])
        found.append(Mention(kind="signal", term="sponsor read", language="xx", segment=first.id, channel="speech",
                             text=said[:200], time=TimeSpan(start_s=read.start_s, end_s=read.end_s),
                             confidence=first.confidence, context=read.why, brand=read.brand, media=read.media))
    return found
