"""Sponsor reads as timed spans (issue #17): from the segue through the pitch to the return to content.

A read is anchored on transcript lines the cue analyzer (`commercial`) judges commercial, or on a
line with one strong hint ("link below") whose words, with their neighbours or with the 20 s said
before them, the trained signal (`signal_model`) scores as advertising copy. It runs back and
forward as far as the lines speak for the same read, summed: a cue of their own or the brand it
promotes count strongly (a read names its brand again and again: "skillshare is an online
community ... a premium membership to skillshare"), every other line counts by the trained
signal's score of its words - for the pitch when it reads like advertising copy, against when it
reads like the content - so the read ends where the talk turns back to the video, not at its last
cue word. Then to its segue ("today's sponsor", "but first") and never past a return to the
content ("back to the video"). The phrase lists, weights and durations are the `reads` section of
`data/commercial.yaml`. Timing rules use the spans ("disclosure at the start of the read"). The
trained signal only ever extends or seeds a read next to a cue; it never removes one.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from complianceguard import lean_spacy  # noqa: F401 - first: spaCy imported without torch and its command line
import spacy
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.matcher import PhraseMatcher

from complianceguard.commercial import Cue, Reads, _assessed, assess, default_analyzer
from complianceguard.extract.normalize import normalize
from complianceguard.model import Mention, Segment, TimeSpan
from complianceguard.signal_model import score as model_score

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


_JOINED_GAP_S = 2.0  # a line followed this closely by the next is read with it (a phrase broken over lines)
_WORD = re.compile(r"[^\W\d_]{4,}")  # four or more letters: brand names and content words ("today's" -> today)


class _Lines:
    """The phrase lists of the `reads` section, matched on lower-cased tokens of one line, and the
    words that can never be a brand name (stop words, the cue file's own words, `not_brands`)."""

    def __init__(self, reads: Reads, nlp: spacy.language.Language, cue_phrases: list[str]):
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for kind, phrases in (("segue", reads.segues), ("return", reads.returns)):
            self.matcher.add(kind, [nlp.make_doc(p) for p in phrases])
        self.nlp = nlp
        said = " ".join([*cue_phrases, *reads.segues, *reads.returns, *reads.not_brands]).lower()
        self.not_brands = frozenset(STOP_WORDS) | frozenset(_WORD.findall(said))

    def kinds(self, text: str) -> list[tuple[str, int, int]]:
        doc = self.nlp.make_doc(text)
        return [(doc.vocab.strings[m], doc[s:e].start_char, doc[s:e].end_char) for m, s, e in self.matcher(doc)]

    def words(self, text: str) -> frozenset[str]:
        """The words of a line that could name a brand."""
        return frozenset(w for w in _WORD.findall(text.lower()) if w not in self.not_brands)


def prepare() -> None:
    """Compile the segue and return phrases before forking workers (see `commercial.prepare`)."""
    _read_lines()


@lru_cache(maxsize=1)
def _read_lines() -> _Lines:
    analyzer = default_analyzer()
    phrases = [p if isinstance(p, str) else p.text for spec in analyzer.book.cues.values() for p in spec.phrases]
    return _Lines(analyzer.book.reads, analyzer.nlp, phrases)


def sponsor_reads(segments: list[Segment], brand: str | None = None) -> list[Read]:
    """The sponsor reads in the timed transcript lines of `segments`, one media at a time.

    Anchors are lines judged commercial with their neighbours (as `signal_mentions` does) that carry
    a cue of their own, not through self-promotion only. See the cue file's `reads` section for how a
    read is extended over the lines naming its brand or carrying a cue, to its segue and to the
    return to the content."""
    by_media: dict[str | None, list[Segment]] = {}
    for s in segments:
        if s.channel == "speech" and s.text.strip() and s.time:
            by_media.setdefault(s.media, []).append(s)
    reads: list[Read] = []
    for media, speech in by_media.items():
        speech.sort(key=lambda s: s.time.start_s)
        reads.extend(_Transcript(speech, brand).reads(media))
    return reads


class _Transcript:
    """One media's timed lines and what each carries: cues, segue and return phrases, words."""

    def __init__(self, speech: list[Segment], brand: str | None):
        self.book = default_analyzer().book.reads
        self.lines = _read_lines()
        self.speech = speech
        self.starts = [s.time.start_s for s in speech]  # sorted: the lines are in time order
        self.brand = brand
        assessed = {id(seg): a for seg, _, offset, a in _assessed(speech, None) if seg.channel == "speech"}
        texts = [normalize(s.text).text for s in speech]
        self.joined = joined = [self._with_next(texts, i) for i in range(len(speech))]
        self.own = [tuple(c for c in assess(t).counted if c.start < len(texts[i]))  # the cues that start on line i
                    for i, t in enumerate(joined)]
        self.marks = [[m for m in self.lines.kinds(t) if m[1] < len(texts[i])] for i, t in enumerate(joined)]
        self.words = [self.lines.words(t) for t in texts]
        self.has_cue = [bool(o) for o in self.own]
        self._pitch: dict[tuple[int, int], float] = {}  # the trained signal's score of lines i..j, once scored
        third = [{c.id: c.weight for c in o if not c.own_brand} for o in self.own]
        self.anchor = [bool(third[i]) and ((assessed[id(s)].commercial and not assessed[id(s)].self_promotion_only)
                                           or self._widely(i, third)
                                           or (max(third[i].values()) >= self.book.seed_weight
                                               and max(self.pitch(i), self._run(i)) >= self.book.seed_probability))
                       for i, s in enumerate(speech)]

    def _with_next(self, texts: list[str], i: int) -> str:
        """Line i read with the next one when that follows straight on: ASR breaks lines anywhere,
        also inside a phrase ("this video was made" | "possible by ..."), and the line where the
        phrase starts carries it."""
        nxt = i + 1
        if nxt < len(texts) and self.start(nxt) - self.end(i) <= _JOINED_GAP_S:
            return f"{texts[i]} {texts[nxt]}"
        return texts[i]

    def _widely(self, i: int, third: list[dict[str, float]]) -> bool:
        """Whether the third-party cues of the lines within `anchor_window_s` of line i reach the
        threshold together: a read spreads its cues over half a minute ("tell you about X" ... "check
        out the link below")."""
        window, here = self.book.anchor_window_s, self.start(i)
        seen: dict[str, float] = {}
        for j in range(bisect_left(self.starts, here - window), bisect_right(self.starts, here + window)):
            seen.update(third[j])
        return sum(seen.values()) >= default_analyzer().book.threshold

    def _run(self, i: int) -> float:
        """The trained signal's score for the lines said within `run_s` before line i, with it: a
        cue heard at the end of half a minute of advertising copy ("... and right now it is twenty
        percent off") is a read's call to action, whatever the words of its own line."""
        low = bisect_left(self.starts, self.start(i) - self.book.run_s)
        return self._score(max(low, 0), i)

    def _score(self, low: int, high: int) -> float:
        """The trained signal's score for the words of lines low..high, scored once."""
        known = self._pitch.get((low, high))
        if known is None:
            text = " ".join(s.text for s in self.speech[low:high + 1])
            known = self._pitch[(low, high)] = model_score(text).probability
        return known

    def start(self, i: int) -> float:
        return self.speech[i].time.start_s

    def end(self, i: int) -> float:
        return self.speech[i].time.end_s

    def is_(self, kind: str, i: int) -> bool:
        return any(k == kind for k, _, _ in self.marks[i])

    def reads(self, media: str | None) -> list[Read]:
        book, found = self.book, []
        groups: list[list[int]] = []
        for i in (i for i, a in enumerate(self.anchor) if a):
            if groups and self.start(i) - self.end(groups[-1][-1]) <= book.max_gap_s:
                groups[-1].append(i)
            else:
                groups.append([i])
        taken = -1  # the last line of the previous read: reads never overlap
        for group in groups:
            first, last = max(group[0], taken + 1), group[-1]
            if first > last:
                continue
            names = self.names(first, last, taken)
            first, how = self.opening(first, taken, names)
            end, ends = self.closing(last, names)
            cues = list(dict.fromkeys(c.name for o in self.own[first:end + 1] for c in o))
            heard = self.brand or _brand(self.speech[first:end + 1]) or (min(names, key=self._first_said(first))
                                                                           if names else None)
            found.append(Read(media, self.start(first), self.end(end), first, end, heard,
                              f"sponsor read {self.start(first):g}-{self.end(end):g} s: {how}, {ends}; "
                              f"cues: {', '.join(cues[:5])}" + (f"; brand: {heard}" if heard else "")))
            taken = end
        return found

    def _first_said(self, first: int):
        """Sort key: the brand word said first in the read (then alphabetical: sets have no order)."""
        return lambda name: (next((j for j in range(first, len(self.speech)) if name in self.words[j]),
                                  len(self.speech)), name)

    def names(self, first: int, last: int, taken: int) -> frozenset[str]:
        """The brand of the read, as words: those of the brand given, else the words said on or next
        to an anchor line that come back on at least `brand_repeats` lines near the anchors, and
        those said within `brand_window_s` of one that come back on `far_brand_extra` lines more
        (a read names its brand near its call to action, not always on the line next to it: "you
        choose your platecrate meals online ... sign up at the link in the description")."""
        if self.brand:
            return self.lines.words(normalize(self.brand).text)
        book = self.book
        near = [j for j in range(max(taken + 1, 0), len(self.speech))
                if self.start(first) - book.reach_s <= self.start(j) <= self.end(last) + book.reach_s]
        said = Counter(w for j in near for w in self.words[j])
        anchors = [i for i in range(first, last + 1) if self.anchor[i]]
        beside = {w for i in anchors for j in (i - 1, i, i + 1) if taken < j < len(self.speech) for w in self.words[j]}
        around = {w for i in anchors for j in self._around(i, taken) for w in self.words[j]}
        heard = _brand(self.speech[max(first - 1, taken + 1):last + 2])
        return frozenset(w for w in beside if said[w] >= book.brand_repeats) | frozenset(
            w for w in around if said[w] >= book.brand_repeats + book.far_brand_extra) | (
            self.lines.words(heard) if heard else frozenset())

    def _around(self, i: int, taken: int) -> range:
        """The lines said within `brand_window_s` of line i (at least its neighbours), after the previous read."""
        low = bisect_left(self.starts, self.start(i) - self.book.brand_window_s)
        high = bisect_right(self.starts, self.end(i) + self.book.brand_window_s)
        return range(max(min(low, i - 1), taken + 1, 0), min(max(high, i + 2), len(self.speech)))

    def evidence(self, i: int, names: frozenset[str]) -> bool:
        return self.has_cue[i] or bool(names & self.words[i])

    def pitch(self, i: int, away: int = 0) -> float:
        """The trained signal's score for the words of line i with a neighbour on each side, or,
        walking `away` from a read (-1 back, +1 on), with the next line that way only: a line at
        the edge of a read is judged with what lies beyond it, not with the pitch it borders."""
        low, high = (i - 1, i + 1) if away == 0 else sorted((i, i + away))
        return self._score(max(low, 0), high)

    def gain(self, j: int, names: frozenset[str], away: int) -> float:
        """How much line j speaks for being inside the read: a cue or the brand strongly; else the
        trained signal's score of its words, as log-odds above or below `pitch_probability` (a line that reads
        like the content counts against)."""
        if self.evidence(j, names):
            return self.book.evidence_gain
        p, at = min(max(self.pitch(j, away), 1e-4), 1 - 1e-4), self.book.pitch_probability
        return math.log(p / (1 - p)) - math.log(at / (1 - at))

    def _best(self, lines: range, names: frozenset[str], stop) -> int | None:
        """The farthest line of `lines` (walked away from the anchors) up to which the gains add up
        best, or None where every extension loses; `stop(j)` ends the walk (a return, the reach).
        Past a line that reads like the content, only a line with a cue or the brand takes the read
        further: the trained signal carries a read over its pitch, never across the content to
        other words it happens to like ("order a new bearing")."""
        total, best, at, broken = 0.0, 0.0, None, False
        for j in lines:
            if stop(j):
                break
            gain = self.gain(j, names, lines.step)
            total += gain
            broken = broken or gain < 0
            if total > best and (not broken or self.evidence(j, names)):
                best, at, broken = total, j, False
        return at

    def opening(self, first: int, taken: int, names: frozenset[str]) -> tuple[int, str]:
        """The first line of the read: back over the lines that speak for it, to its segue, else
        with the lead-in before the earliest of them."""
        book, anchor_start = self.book, self.start(first)
        best = self._best(range(first - 1, taken, -1), names,
                          lambda j: anchor_start - self.start(j) > book.reach_s or self.is_("return", j))
        start = first if best is None else best
        opening = self.start(start)
        segue = next((j for j in range(start, taken, -1) if opening - self.start(j) <= book.lookback_s
                      and (self.is_("segue", j) or any(c.id == "segue" for c in self.own[j]))), None)
        if segue is not None:
            return segue, f"starts at the segue '{_said(self.joined[segue], self.marks[segue], self.own[segue])}'"
        how = "starts with its lead-in before " + ("the first line with a cue" if start == first else
                                                   "the lines that read as its pitch (brand, cues, trained signal)")
        while start - 1 > taken and opening - self.start(start - 1) <= book.lead_s \
                and not self.is_("return", start - 1):
            start -= 1
        return start, how

    def _opens(self, i: int) -> bool:
        """Whether line i opens a read: a segue or a sponsor statement ("brought to you by")."""
        return self.is_("segue", i) or any(c.id in ("segue", "sponsor") for c in self.own[i])

    def closing(self, last: int, names: frozenset[str]) -> tuple[int, str]:
        """The last line of the read: on over the lines that speak for it, to the return to the
        content, else with the lines just after the last of them. A read that would end on the
        line opening it ("this video is brought to you by X") takes the lines starting within
        `lead_s` after it: what follows the statement is X's pitch, whatever the trained signal says."""
        book, last_end = self.book, self.end(last)
        back = next((j for j in range(last + 1, len(self.speech)) if self.start(j) - last_end <= book.reach_s
                     and self.is_("return", j)), None)
        best = self._best(range(last + 1, len(self.speech)), names,
                          lambda j: self.start(j) - last_end > book.reach_s or j == back)
        end = last if best is None else best
        if back is not None and (back == end + 1 or self.evidence(back, names)) and back - end <= 2:
            return back if self.evidence(back, names) else end, \
                f"ends at the return to the content '{self.speech[back].text.strip()[:40]}'"
        stop = self.end(end)
        if end == last and self._opens(last):
            while end + 1 < len(self.speech) and self.start(end + 1) - stop < book.lead_s \
                    and not self.is_("return", end + 1):
                end += 1  # "this video is brought to you by X": what follows is X's pitch
            if end > last:
                return end, "ends with the pitch after its sponsor statement"
        while end + 1 < len(self.speech) and self.start(end + 1) - stop < book.tail_s:
            end += 1  # the pitch goes on a little after its last cue
        return end, ("ends after the last line with a cue" if end == last else
                     "ends after the last line that reads as its pitch (brand, cues, trained signal)")


def _said(text: str, marks: list[tuple[str, int, int]], own: tuple[Cue, ...]) -> str:
    for kind, start, end in marks:
        if kind == "segue":
            return text[start:end]
    cue = next((c for c in own if c.id in ("segue", "sponsor")), None)
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
            if token.is_alpha and not token.is_stop and token.lower_ not in _read_lines().not_brands:
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
                             confidence=first.confidence, why=read.why, brand=read.brand, media=read.media))
    return found
