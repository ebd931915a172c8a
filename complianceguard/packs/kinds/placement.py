"""Placement kinds: where a caption label sits (before the fold, first line, first hashtags, next to a
discount code or promo link) and how visible an on-screen label is."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from complianceguard.extract.caption import fold_for
from complianceguard.model import Evidence, Mention, OverlayInfo, TimeSpan
from complianceguard.packs.kinds.base import (CheckParams, Context, Count, Flag, Number, Outcome, check_kind,
                                              evidence_of, quoted, title_evidence)

if TYPE_CHECKING:
    from complianceguard.extract.caption import CaptionLayout
    from complianceguard.packs.schema import Rule


class LabelPlacementParams(CheckParams):
    before_fold: Flag = Field(False, description="the label ends before the platform's \"... more\" fold")
    fold_lines: dict[str, Count] = Field(default_factory=dict, description="with `before_fold`, platform -> the "
                                         "lines shown before its fold, where the pack's source gives its own figure "
                                         "(US: the FTC says Instagram on mobile shows \"the first three lines\")")
    max_words_before: Count | None = Field(None, description="at most N words of the caption before it")
    tags_count_as_words: Flag = Field(False, description="with `max_words_before`, @mentions and hashtags before the "
                                      "label count as words too (NO: \"first in the image description\": a row of "
                                      "tagged accounts before it is not the start)")
    first_line: Flag = Field(False, description="the label is on the caption's first line")
    max_hashtag_index: Count | None = Field(None, description="if a hashtag, it is among the first N hashtags")
    not_buried: Count | None = Field(None, description="not inside a run of N or more hashtags unless it leads "
                                     "the run")
    not_buried_among_links: Count | None = Field(
        None, description="not inside a run of N or more hashtags and web addresses, at least one of them an "
        "address, unless it leads the run (US: mixed into \"a group of hashtags or links\")")
    not_at_end: Flag = Field(False, description="not after all of the caption's words")
    at_run_edge: Flag = Field(False, description="if a hashtag in a run of hashtags, it is the first or the last "
                              "of the run, not in the middle (NL: \"at the front or back of the hashtag row\")")
    label_first: Flag = Field(False, description="no insufficient term (a deal type: \"Gifted\", \"PR trip\", "
                              "\"#aff\") comes before the label in the caption, or in its own on-screen text "
                              "(GB: where the type of deal is "
                              "added, \"Ad\" must come first)")
    any_of: Flag = Field(False, description="one of the given constraints is enough (\"first line *or* first "
                         "hashtag\")")
    platform_tool_counts: Flag = Field(False, description="the platform's paid-partnership flag, shown above the "
                                       "caption before any fold, places the disclosure (BR: the tool is accepted)")
    platform_tool_on: list[str] = Field(default_factory=list, description="with `platform_tool_counts`, only on these "
                                        "platforms (DE: the sources accept Instagram's tag; empty: every platform)")
    before_mentions: Flag = Field(False, description="if a hashtag, no @mention of an account comes before it in the "
                                  "caption (CA: hashtags placed \"before any other mentions in a caption\")")
    title_counts: Flag = Field(False, description="a label in the post's declared title places the disclosure: the "
                               "title is read before the caption (KR: \"in the title or the first part\")")


SEEN_AT_ONCE_S = 1.0  # an on-screen label starting this early is there as the video starts playing
SAID_AT_ONCE_S = 3.0  # a label said this early is the opening words (our reading: no research figure)


@check_kind("label-placement", LabelPlacementParams,
            usual={"not-applicable": "No accepted label in the caption to place."})
def label_placement(ctx: Context, rule: Rule, p: LabelPlacementParams) -> Outcome:
    """Passes when at least one accepted caption label meets every given constraint (or one of them,
    with `any_of`), or a label is printed on a still image or on a video from its first second
    (seen before the caption), said in its first three seconds where the rule reads speech, or,
    with `title_counts`, is in the declared title. A caption label
    that meets none is a fail, or inconclusive when the rule also looks on screen and the screen was
    not read.

    Not applicable when there is no accepted label in the caption (`label-present` reports that).

    Params: constraints, each optional; give at least one.
    """
    # A label printed on a still image, or on a video from its first second, is seen with the
    # picture, before any caption: a caption label buried further down does not undo it. In a
    # carousel or a story only the first picture is seen first.
    first = ctx.frames[0][0] if len(ctx.frames) > 1 else None
    # With `label_first`, the order inside the on-screen text counts as in the caption ("Gifted / Ad").
    deal_types = [m for m in ctx.of_kind("insufficient", ["caption", "overlay"]) if m.span] if p.label_first else []
    seen_first = [m for m in ctx.labels(rule.scopes) if m.channel == "overlay"
                  and (m.time is None or m.time.start_s <= SEEN_AT_ONCE_S)
                  and (first is None or m.media == first)]
    misordered = [m for m in seen_first if _deal_type_before(m, deal_types)]
    on_picture = [m for m in seen_first if m not in misordered]
    if on_picture:
        where = "the picture itself" if on_picture[0].time is None else "the video from its first second"
        return Outcome("pass", f"{quoted(on_picture[:1])} is on {where}, seen before the caption.",
                       [evidence_of(on_picture[0])])
    # Where the rule reads speech, a label said in the opening words is heard as the video or audio
    # starts, before its caption or show notes are read (a podcast that opens "Diese Folge enthält
    # Werbung" with the notes naming it late).
    said_first = [m for m in ctx.labels(rule.scopes) if m.channel == "speech" and m.time is not None
                  and m.time.start_s <= SAID_AT_ONCE_S]
    if said_first:
        return Outcome("pass", f"{quoted(said_first[:1])} is said in the opening words, heard before the caption.",
                       [evidence_of(said_first[0])])
    in_title = ctx.title_labels() if p.title_counts else []
    if in_title:
        return Outcome("pass", f"The title carries {quoted(in_title[:1])}, read before the caption.",
                       title_evidence(in_title[:1]))
    labels = [m for m in ctx.labels(rule.scopes) if m.channel == "caption" and m.span]
    if not labels and misordered:
        before = _deal_type_before(misordered[0], deal_types)
        return Outcome("fail", f"{quoted(misordered[:1])} is on screen after {quoted(before[:1])}; where the type of "
                       "deal is added, the label must come first.", [evidence_of(misordered[0])])
    if not labels:
        return Outcome("not-applicable", "No accepted label in the caption to place.")
    if p.platform_tool_counts and ctx.submission.paid_partnership_tag and (
            not p.platform_tool_on or ctx.submission.platform in p.platform_tool_on):
        return Outcome("pass", "The platform's paid-partnership label is set; the platform shows it above the "
                       "caption, before any fold.",
                       [Evidence(channel="metadata", kind="platform-tool", text="paid partnership tag")])
    layout = ctx.layout
    # Words of the caption other than the labels themselves ("Gifted - Ad" has one word before "Ad").
    marked = [m.span for m in labels]
    prose = [t for t in layout.tokens if t.kind == "word"
             and not any(s.start <= t.start < s.end for s in marked)]
    tags = [t for t in layout.tokens if t.kind != "word" and not any(s.start <= t.start < s.end for s in marked)]
    attempts: list[tuple[Mention, list[str]]] = []
    for label in labels:
        results = _placement_results(label, p, layout, prose, tags)
        if p.label_first:
            before = _deal_type_before(label, deal_types)
            results["label_first"] = (f"{quoted(before[:2])} comes before it; where the type of deal is added, the "
                                      "label must come first") if before else None
        problems = [problem for problem in results.values() if problem]
        if p.any_of:  # one constraint the label really meets is enough
            met = any(problem is None for problem in results.values())
            problems = [] if met else problems or ["it is not a hashtag in the required position"]
        if not problems:
            return Outcome("pass", f"{quoted([label])} is placed where it is seen first.", [evidence_of(label)])
        attempts.append((label, problems))
    label, problems = attempts[0]
    evidence = [evidence_of(m, "; ".join(why)) for m, why in attempts]
    # A label on the picture (or the video's first second) would be seen first: where the rule looks
    # on screen and the screen was not read, a late caption label does not show the post fails.
    screen = ctx.coverage.get("overlay") if "overlay" in rule.scopes else None
    if screen is not None and not screen.read:
        return Outcome("inconclusive", f"{quoted([label])}: " + "; ".join(problems) + ". A label on the picture "
                       f"itself would be seen first, and that was not read ({screen.detail}).",
                       [*evidence, Evidence(channel="overlay", kind="not-read", text="", reason=screen.detail)])
    return Outcome("fail", f"{quoted([label])}: " + "; ".join(problems) + ".", evidence)


def _is_statement(text: str) -> bool:
    """A label of three words or more ("sent me this serum for free"): a sentence, not a tag."""
    return len(text.split()) >= 3


def _sentence_start(text: str, offset: int) -> int:
    """Where the sentence holding `offset` starts: after the last ".", "!", "?" or line break before it."""
    return max(text.rfind(mark, 0, offset) for mark in ".!?\n") + 1


def _deal_type_before(label: Mention, deal_types: list[Mention]) -> list[Mention]:
    """The insufficient terms (deal types: "Gifted", "PR trip") written before `label` in its own
    text: the caption, or the same line of on-screen text."""
    return [m for m in deal_types if m.segment == label.segment and m.span.start < label.span.start]


def _placement_results(label: Mention, p: LabelPlacementParams, layout: CaptionLayout,
                       prose: list[Any], tags: list[Any]) -> dict[str, str | None | bool]:
    """Per constraint: None when met, a plain-words problem when not, False when it does not apply
    (a hashtag constraint on a label that is not a hashtag)."""
    span = label.span
    results: dict[str, str | None | bool] = {}
    if p.before_fold:
        lines = p.fold_lines.get(layout.fold.platform)
        fold = fold_for(layout.fold.platform, layout.text, lines) if lines else layout.fold
        results["before_fold"] = (f"it is hidden behind '... more' ({fold.platform} shows about the "
                                  f"first {fold.at} characters)") if span.end > fold.at else None
    if p.max_words_before is not None:
        before = [t for t in prose if t.end <= span.start]
        if p.tags_count_as_words:
            before += [t for t in tags if t.end <= span.start]
        n = len(before)
        counting = " (counting @mentions and hashtags)" if p.tags_count_as_words else ""
        results["max_words_before"] = (f"{n} word{'s' if n != 1 else ''} come{'' if n != 1 else 's'} before "
                                       f"it{counting}") if n > p.max_words_before else None
    if p.first_line:
        results["first_line"] = "it is not on the first line" if span.start > layout.first_line_end else None
    index = layout.token_index_at(span.start)
    is_hashtag = index is not None and layout.tokens[index].kind == "hashtag"
    if p.max_hashtag_index is not None:
        results["max_hashtag_index"] = False
        if is_hashtag:
            position = next(i for i, h in enumerate(layout.hashtags, 1) if h.start == layout.tokens[index].start)
            results["max_hashtag_index"] = (f"it is hashtag number {position}"
                                            if position > p.max_hashtag_index else None)
    if p.not_buried is not None:
        results["not_buried"] = False
        if is_hashtag:
            run = layout.hashtag_run(index)
            buried = len(run) >= p.not_buried and run[0] != index
            results["not_buried"] = f"it is buried in a block of {len(run)} hashtags" if buried else None
    if p.at_run_edge:
        results["at_run_edge"] = False
        if is_hashtag:
            run = layout.hashtag_run(index)
            inside = index not in (run[0], run[-1])
            results["at_run_edge"] = (f"it is hashtag {run.index(index) + 1} of a row of {len(run)}, neither at its "
                                      "front nor at its back") if inside else None
    if p.not_buried_among_links is not None:
        run, links = _run_with_links(layout.text, span.start)
        buried = links > 0 and len(run) >= p.not_buried_among_links and run[0] < span.start
        results["not_buried_among_links"] = (f"it is mixed into a group of {len(run)} hashtags and links "
                                             f"({links} link{'s' if links != 1 else ''})") if buried else None
    if p.not_at_end:
        # A statement label's own sentence is the label ("Glow sent me this serum for free!"): the
        # name before its matched words is its subject, not text the label comes after.
        sentence = _sentence_start(layout.text, span.start) if _is_statement(layout.text[span.start:span.end]) \
            else span.start
        others = [t for t in prose if not sentence <= t.start < span.start]
        at_end = bool(others) and all(t.end <= span.start for t in others)
        results["not_at_end"] = "it comes after all of the caption's text" if at_end else None
    if p.before_mentions:
        earlier = [t.text for t in layout.tokens if t.kind == "mention" and t.end <= span.start]
        results["before_mentions"] = (f"'{earlier[0]}' is mentioned before it" if earlier else None) if is_hashtag \
            else False
    return results


# A web address is one whitespace-free word: with a scheme or "www.", or host.tld with a path or not
# (as commercial.py reads them); trailing punctuation is not part of it.
_WEB_ADDRESS = re.compile(r"(?:https?://|www\.)\S+|[\w-]+(?:\.[\w-]+)*\.[a-z]{2,13}(?:/\S*)?", re.ASCII)
_TRAILING = ",.;:!?)\"'”’"


def _run_with_links(text: str, offset: int) -> tuple[list[int], int]:
    """The block of consecutive hashtags and web addresses (no other words between) around the
    whitespace-separated word at `offset`, as the words' start offsets, and how many are addresses."""
    words = [(m.start(), m.group().rstrip(_TRAILING)) for m in re.finditer(r"\S+", text)]
    kinds = ["hashtag" if w.startswith("#") else "link" if _WEB_ADDRESS.fullmatch(w) else "word" for _, w in words]
    here = next((i for i, (start, w) in enumerate(words) if start <= offset < start + max(len(w), 1)), None)
    if here is None or kinds[here] == "word":
        return [], 0
    first = last = here
    while first > 0 and kinds[first - 1] != "word":
        first -= 1
    while last + 1 < len(words) and kinds[last + 1] != "word":
        last += 1
    return [words[i][0] for i in range(first, last + 1)], kinds[first:last + 1].count("link")


class LabelProminenceParams(CheckParams):
    min_height_fraction: Number | None = Field(None, description="letter height at least this fraction of the "
                                               "frame height")
    min_contrast: Number | None = Field(None, description="WCAG contrast ratio against the pixels around it, at "
                                        "least this")
    min_relative_height: Number | None = Field(
        None, gt=0, description="letter height at least this fraction of the tallest other text measured on the "
        "same picture at the same time (JP: \"small text compared with the surrounding characters\"); a label "
        "alone on screen meets it")


@check_kind("label-prominence", LabelProminenceParams, usual={"not-applicable": "No label on screen to measure."})
def label_prominence(ctx: Context, rule: Rule, p: LabelProminenceParams) -> Outcome:
    """Passes when an accepted label on screen (measured by OCR: letter height and WCAG contrast
    against the pixels around it) meets `min_height_fraction`, `min_contrast` and
    `min_relative_height`; one label that meets all of them is enough.

    Not applicable when there is no label on screen to measure.

    Params: all optional.
    """
    shown = [m for m in ctx.labels(rule.scopes) if m.overlay is not None]
    if not shown:
        return Outcome("not-applicable", "No label on screen to measure.")

    def problems(m: Mention) -> list[str]:
        o = m.overlay
        found = []
        if p.min_height_fraction is not None and o.height_fraction + 1e-9 < p.min_height_fraction:
            found.append(f"its letters are {o.text_height_px} px high ({o.height_fraction:.1%} of the frame); "
                         f"needs at least {p.min_height_fraction:.1%}")
        if p.min_contrast is not None and o.contrast_ratio < p.min_contrast:
            found.append(f"its contrast against the background is {o.contrast_ratio:g}:1; needs at least "
                         f"{p.min_contrast:g}:1")
        tallest = _tallest_beside(ctx, m) if p.min_relative_height is not None else None
        if tallest is not None and o.height_fraction + 1e-9 < p.min_relative_height * tallest.height_fraction:
            found.append(f"its letters are {o.text_height_px} px high beside other text on screen "
                         f"{tallest.text_height_px} px high ({o.height_fraction / tallest.height_fraction:.0%}); "
                         f"needs at least {p.min_relative_height:.0%} of it")
        return found

    measured = [(m, problems(m)) for m in shown]
    clear = [m for m, why in measured if not why]
    if clear:
        o = clear[0].overlay
        return Outcome("pass", f"{quoted(clear[:1])} is {o.text_height_px} px high with contrast "
                       f"{o.contrast_ratio:g}:1 at the {o.position}.", [evidence_of(clear[0])])
    label, why = measured[0]
    return Outcome("fail", f"{quoted([label])} is not clearly visible: " + "; ".join(why) + ".",
                   [evidence_of(m, "; ".join(w)) for m, w in measured[:3]])


def _tallest_beside(ctx: Context, label: Mention) -> OverlayInfo | None:
    """The tallest other text measured on the label's picture while the label shows (None: none)."""
    def together(time: TimeSpan | None) -> bool:
        if time is None or label.time is None:
            return time is None and label.time is None
        return time.start_s < label.time.end_s and label.time.start_s < time.end_s

    others = [info for segment, media, time, info in ctx.screen_texts
              if segment != label.segment and media == label.media and together(time)]
    return max(others, key=lambda info: info.height_fraction, default=None)


class LabelNextToSignalParams(CheckParams):
    max_words_between: Count = Field(description="at most N caption words between the code or link and the nearest "
                                     "accepted label")
    cues: list[str] = Field(default_factory=list, description="commercial cue ids (complianceguard/data/"
                            "commercial.yaml) of the signals that need a label next to them: `web-address`, "
                            "`affiliate-url`, `vanity-url`, `discount-code` ...")
    signals: list[str] = Field(default_factory=list, description="vocabulary signal terms (as the vocabulary writes "
                               "them, e.g. `Rabattcode`, or `discount code` for a code word followed by a code) that "
                               "need one too")

    @model_validator(mode="after")
    def _something_to_find(self) -> LabelNextToSignalParams:
        if not self.cues and not self.signals:
            raise ValueError("check label-next-to-signal needs 'cues' or 'signals' (the codes and links to look at)")
        return self


@check_kind("label-next-to-signal", LabelNextToSignalParams,
            usual={"not-applicable": "No discount code or promo link in the caption."})
def label_next_to_signal(ctx: Context, rule: Rule, p: LabelNextToSignalParams) -> Outcome:
    """Passes when every discount code or promo link in the caption (signals of the given `cues` or
    vocabulary `signals`) has an accepted caption label within `max_words_between` words of it
    (before or after), not only somewhere else in the caption.

    Not applicable when the caption has no such code or link, or no accepted label
    (`label-present` reports that).

    Params: `max_words_between` is required; give `cues`, `signals` or both.
    """
    terms = {t.casefold() for t in p.signals}
    codes = [m for m in ctx.of_kind("signal", ["caption"]) if m.span
             and (m.cue in p.cues or (m.cue is None and m.term.casefold() in terms))]
    if not codes:
        return Outcome("not-applicable", "No discount code or promo link in the caption.")
    labels = [m for m in ctx.labels(["caption"]) if m.span]
    if not labels:
        return Outcome("not-applicable", "No accepted label in the caption to place next to the code or link.")
    words = [t for t in ctx.layout.tokens if t.kind == "word"]

    def between(a: Mention, b: Mention) -> int:
        first, second = sorted((a, b), key=lambda m: m.span.start)
        return sum(1 for t in words if t.start >= first.span.end and t.end <= second.span.start)

    far = []
    for code in codes:
        gap, nearest = min(((between(code, label), label) for label in labels), key=lambda pair: pair[0])
        if gap > p.max_words_between:
            far.append((code, gap, nearest))
    if not far:
        return Outcome("pass", f"{quoted(codes[:2])}: a label stands next to each.",
                       [evidence_of(m) for m in codes[:2]])
    code, gap, nearest = far[0]
    evidence = [evidence_of(m, f"{g} words from the nearest label") for m, g, _ in far[:3]]
    return Outcome("fail", f"{quoted([code])} is {gap} words away from the nearest label {quoted([nearest])}; the "
                   f"label must stand right next to it (within {p.max_words_between} words).",
                   [*evidence, evidence_of(nearest)])
