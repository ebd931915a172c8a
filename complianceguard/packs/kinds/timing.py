"""Timing kinds: when and for how long a label is on screen or said in a video, and how often a live
recording repeats it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field, model_validator

from complianceguard.model import Evidence, Mention, TimeSpan
from complianceguard.packs.kinds.base import (CHANNEL_WORDS, TIMING_TOLERANCE_S, CheckParams, Context, Flag,
                                              Number, Outcome, ParamsModel, Seconds, check_kind, evidence_of,
                                              merged, quoted, searched, title_evidence, unread)

if TYPE_CHECKING:
    from complianceguard.packs.schema import Rule


class Tier(ParamsModel):
    """How long a label must show in videos up to `max_duration_s` (the last tier may leave it out)."""

    max_duration_s: Seconds | None = Field(None, description="videos up to this length; left out: longer ones")
    min_visible_s: Seconds | None = Field(None, description="visible (or spoken) for at least this long in total")
    min_fraction: Number | None = Field(None, description="for at least this fraction of the duration")
    brand_section: Flag = Field(False, description="the label covers the section from the first to the last time "
                                "the brand is named on screen or said (IN: \"the entire section where the brand ... is "
                                "mentioned\"); where the media names no brand at a known time, the minimum "
                                "above applies")

    @model_validator(mode="after")
    def _needs_a_minimum(self) -> Tier:
        if self.min_visible_s is None and self.min_fraction is None:
            raise ValueError("each tier needs min_visible_s or min_fraction (and max_duration_s, except the last)")
        return self


class VideoTimingParams(CheckParams):
    start_within_s: Seconds | None = Field(None, description="a label begins within the first S seconds")
    not_only_in_last_fraction: Number | None = Field(
        None, gt=0, lt=1, description="the first label begins before the last F of the duration: a label only at "
        "the end fails (0.25: it must begin within the first 75 %), for sources that say \"not at the end\" "
        "without a seconds figure; not asked where a `brand_section` tier finds the section: its place decides")
    end_within_s: Seconds | None = Field(None, description="a label is present in the last S seconds")
    min_visible_s: Seconds | None = Field(None, description="visible (or spoken) for at least D seconds in total")
    min_fraction: Number | None = Field(None, description="visible for at least this fraction of the duration")
    tiers: list[Tier] | None = Field(None, min_length=1, description="`[{max_duration_s, min_visible_s or "
                                     "min_fraction}, ...]`: the first tier whose `max_duration_s` is at least the "
                                     "duration applies (the last tier may leave `max_duration_s` out)")
    repeat_every_s: Seconds | None = Field(None, description="no gap longer than N seconds without the label")
    caption_before_fold_counts: Flag = Field(False, description="a caption label shown before the platform's "
                                             "\"... more\" fold meets `start_within_s` and `not_only_in_last_fraction` "
                                             "(the viewer reads it before or while watching), and with "
                                             "`only_when_labelled` `min_visible_s` too (a flash in the video of a "
                                             "post disclosed upfront)")
    title_counts: Flag = Field(False, description="a label in the post's declared title counts as a caption label "
                               "before the fold does (the title shows above or with the video: BR, a YouTube "
                               "video titled \"#publi ...\")")
    platform_tool_counts: Flag = Field(False, description="the platform's paid-partnership label, shown with the "
                                       "post from its first second, meets `start_within_s` and "
                                       "`not_only_in_last_fraction` (where the pack accepts the tool as a label)")
    only_when_labelled: Flag = Field(False, description="not applicable when the scopes carry no label at all: "
                                     "the rule only times a label that is there (another rule, or none, asks for "
                                     "one), e.g. JP: a label shown \"so briefly\" it cannot be recognised")

    @model_validator(mode="after")
    def _not_empty(self) -> VideoTimingParams:
        if not self.model_fields_set:
            raise ValueError("check video-timing needs at least one of its params")
        return self


def _tier(p: VideoTimingParams, duration: float) -> VideoTimingParams | Tier:
    if p.tiers is None:
        return p
    return next((t for t in p.tiers if t.max_duration_s is None or duration <= t.max_duration_s), p.tiers[-1])


def _brand_section(ctx: Context) -> tuple[float, float] | None:
    """From the first to the last time the brand is named on screen or said; None when it never is."""
    times = [(m.time.start_s, m.time.end_s) for m in ctx.mentions
             if m.kind == "brand" and m.time is not None and not m.negated]
    return (min(a for a, _ in times), max(b for _, b in times)) if times else None


CONTINUOUS_GAP_S = 2.0  # our reading of "continuous": on-screen text is sampled about once a second


def _shown_through(intervals: list[tuple[float, float]], start: float, end: float) -> float:
    """Seconds of `start`-`end` with the label there, counting a frame-sampling gap (no longer than
    CONTINUOUS_GAP_S, as live-repeat's `continuous` allows) as shown: what "the whole time" and
    "the whole brand section" are measured on. `intervals` are merged and in order."""
    inside = [(max(a, start) - start, min(b, end) - start) for a, b in intervals if b > start and a < end]
    missing = sum(b - a for a, b in _gaps(inside, end - start) if b - a > CONTINUOUS_GAP_S)
    return end - start - missing


def _required_visible(p: VideoTimingParams, duration: float) -> tuple[float | None, str]:
    tier = _tier(p, duration)
    max_duration = getattr(tier, "max_duration_s", None)
    scope = (f" (videos up to {max_duration:g} s)" if max_duration else
             " (longer videos)" if p.tiers is not None else "")
    if tier.min_visible_s is not None:
        return float(tier.min_visible_s), f"{tier.min_visible_s:g} s{scope}"
    if tier.min_fraction is not None:
        fraction = float(tier.min_fraction)
        share = "the whole video" if fraction >= 1 else f"{fraction:.0%} of its length"
        return fraction * duration, f"{share}, {fraction * duration:.1f} s{scope}"
    return None, ""


def _caption_label_before_fold(ctx: Context) -> Mention | None:
    """The first accepted caption label that ends before the platform's "... more" fold."""
    return next((m for m in ctx.labels(["caption"]) if m.span is not None and m.span.end <= ctx.layout.fold.at), None)


_FLAGS = {"caption_before_fold_counts", "title_counts", "platform_tool_counts", "only_when_labelled"}


def _only_start_asked(p: VideoTimingParams) -> bool:
    """Only *when the first label comes* is asked (a start window, or "not only at the end"): a
    caption label before the fold answers that, as the viewer reads it as the video starts. With
    `only_when_labelled`, so does it `min_visible_s`: the rule then only asks that a label in the
    video is not a flash, and the post is disclosed upfront already."""
    asked = p.model_fields_set - _FLAGS
    answered = {"start_within_s", "not_only_in_last_fraction"} | ({"min_visible_s"} if p.only_when_labelled else set())
    return bool(asked) and asked <= answered


@check_kind("video-timing", VideoTimingParams, seeks_label=True,
            usual={"not-applicable": "The post has no video or audio."})
def video_timing(ctx: Context, rule: Rule, p: VideoTimingParams) -> Outcome:
    """Passes when accepted labels in the rule's scopes (`overlay` or `speech`) are timed as
    required: early enough, late enough, long enough in total, repeated often enough. No label at
    all: fail; scopes not read or no duration: inconclusive.

    Not applicable when the post has no video or audio, or the rule reads only `speech` and nothing
    is said, or (`only_when_labelled`) the scopes carry no label to time, or were not read while the
    caption carries an accepted label.

    Params: at least one; all that are given must hold.
    """
    if not ctx.media_kinds & {"video", "audio"}:
        return Outcome("not-applicable", "The post has no video or audio.")
    upfront_caption = _caption_label_before_fold(ctx) if p.caption_before_fold_counts else None
    in_title = ctx.title_labels()[:1] if p.title_counts and upfront_caption is None else []
    upfront_caption = upfront_caption or (in_title[0] if in_title else None)
    if upfront_caption is not None and _only_start_asked(p):
        if in_title:
            return Outcome("pass", f"The title carries {quoted(in_title)}, shown with the video as it starts.",
                           title_evidence(in_title))
        return Outcome("pass", f"The caption's label {quoted([upfront_caption])} shows before the fold, so it is seen "
                       "as the video starts.", [evidence_of(upfront_caption)])
    if p.platform_tool_counts and ctx.submission.paid_partnership_tag and _only_start_asked(p):
        return Outcome("pass", "The platform's paid-partnership label is shown with the post from its first second.")
    not_read = unread(ctx, rule.scopes)
    labels = [m for m in ctx.labels(rule.scopes) if m.time is not None]
    where = " or ".join(CHANNEL_WORDS[s] for s in rule.scopes)
    # What makes the rule not apply is known without the media's duration.
    if set(rule.scopes) == {"speech"} and "speech" not in ctx.channels_with_text and not not_read:
        return Outcome("not-applicable", "Nothing is said in the media, so there is no spoken endorsement.")
    if not ctx.labels(rule.scopes) and not not_read and p.only_when_labelled:  # timed or not
        return Outcome("not-applicable", f"No label in the {where} to time (searched {searched(ctx, rule.scopes)}).")
    elsewhere = [] if not p.only_when_labelled or ctx.labels(rule.scopes) else [*ctx.labels(["caption"]),
                                                                                *ctx.title_labels()]
    if not_read and elsewhere:
        # The rule only times a label that is there (a rule that asks for one in the video reports
        # the unread video itself); the post's disclosure is in its caption or title, so how long an
        # unread video might show one more label does not decide it.
        return Outcome("not-applicable", f"The post is labelled in its {elsewhere[0].segment} "
                       f"({quoted(elsewhere[:1])}); this rule only times a label in the {where}, which was not read ("
                       + "; ".join(c.detail for c in not_read) + ").", [evidence_of(elsewhere[0])])
    if ctx.duration_s is None or (not_read and not labels):
        why = "; ".join(c.detail for c in not_read) or "the media's duration is unknown"
        return Outcome("inconclusive", f"Timing could not be checked: {why}.")
    duration = ctx.duration_s
    intervals = merged([(m.time.start_s, m.time.end_s) for m in labels])
    evidence = [evidence_of(m) for m in labels]
    if not intervals:
        return Outcome("fail", f"No label in the {where} at any time (searched {searched(ctx, rule.scopes)}).")
    spans = ", ".join(f"{a:g}-{b:g} s" for a, b in intervals)
    problems = []
    if upfront_caption is not None:
        evidence.append(evidence_of(upfront_caption))
    if (p.start_within_s is not None and upfront_caption is None
            and intervals[0][0] > p.start_within_s + TIMING_TOLERANCE_S):
        problems.append(f"the first label is at {intervals[0][0]:g} s; it must come within the first "
                        f"{p.start_within_s:g} s")
    # Where the label must cover the brand's section (IN's long videos), that section says when it
    # comes: a section at the end is labelled at the end.
    section = _brand_section(ctx) if getattr(_tier(p, duration), "brand_section", False) else None
    if (p.not_only_in_last_fraction is not None and upfront_caption is None and section is None
            and intervals[0][0] > duration * (1 - p.not_only_in_last_fraction) + TIMING_TOLERANCE_S):
        problems.append(f"the first label is at {intervals[0][0]:g} s of {duration:g} s, in the last "
                        f"{p.not_only_in_last_fraction:.0%}; it must not come only at the end")
    if p.end_within_s is not None and intervals[-1][1] < duration - p.end_within_s - TIMING_TOLERANCE_S:
        problems.append(f"the last label ends at {intervals[-1][1]:g} s; one is needed in the last "
                        f"{p.end_within_s:g} s (of {duration:g} s)")
    required, described = _required_visible(p, duration)
    whole = required is not None and required >= duration
    total = _shown_through(intervals, 0.0, duration) if whole else sum(b - a for a, b in intervals)
    if section is not None:
        shown = _shown_through(intervals, *section)
        if shown + TIMING_TOLERANCE_S < section[1] - section[0]:
            problems.append(f"the brand is named from {section[0]:g} s to {section[1]:g} s; the label is there for "
                            f"{shown:.1f} s of that section, and must stay through all of it")
    elif required is not None and total + TIMING_TOLERANCE_S < required:
        problems.append(f"it is there for {total:.1f} s in total; needs {described}")
    if p.repeat_every_s is not None:
        edges = [0.0, *[x for pair in intervals for x in pair], duration]
        gaps = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
        long_gaps = [(a, b) for a, b in gaps if b - a > p.repeat_every_s + TIMING_TOLERANCE_S]
        if long_gaps:
            a, b = long_gaps[0]
            problems.append(f"no label from {a:g} s to {b:g} s; it must repeat every {p.repeat_every_s:g} s")
    evidence += _windows(p, duration, rule.scopes[0])
    if problems:
        return Outcome("fail", f"Label in the {where} at {spans}: " + "; ".join(problems) + ".", evidence)
    return Outcome("pass", f"Label in the {where} at {spans} of {duration:g} s meets the timing.", evidence)


def _windows(p: VideoTimingParams, duration: float, channel: str) -> list[Evidence]:
    """The stretches of the media the rule wants a label in, as evidence: what a timeline draws
    (report/html.py), so no reader has to find them in the message."""
    windows = []
    if p.start_within_s is not None:
        windows.append(Evidence(channel=channel, kind="window", text="", duration_s=duration,
                                time=TimeSpan(start_s=0.0, end_s=min(float(p.start_within_s), duration)),
                                reason=f"a label must begin within the first {p.start_within_s:g} s"))
    if p.end_within_s is not None:
        windows.append(Evidence(channel=channel, kind="window", text="", duration_s=duration,
                                time=TimeSpan(start_s=max(0.0, duration - float(p.end_within_s)), end_s=duration),
                                reason=f"a label must be there in the last {p.end_within_s:g} s"))
    return windows


def _gaps(intervals: list[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """The stretches without a label, from the start to the end of the media."""
    edges = [0.0, *[x for pair in intervals for x in pair], duration]
    return [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2) if edges[i + 1] > edges[i]]


def _timed(ctx: Context, rule: Rule, what: str) -> tuple[Outcome | None, list[Mention]]:
    """The rule's timed labels, or an outcome when the timing cannot be checked."""
    not_read = unread(ctx, rule.scopes)
    labels = [m for m in ctx.labels(rule.scopes) if m.time is not None]
    if not_read and not labels:
        return Outcome("inconclusive", f"The {what} could not be checked: "
                       + "; ".join(c.detail for c in not_read) + "."), labels
    if ctx.duration_s is None:
        return Outcome("inconclusive", f"The {what} could not be checked: the media's duration is unknown."), labels
    return None, labels


class LiveRepeatParams(CheckParams):
    max_gap_s: Seconds | None = Field(None, description="no stretch longer than this without a label (the start "
                                      "to the first label and the last label to the end count)")
    continuous: Flag = Field(False, description="the label stays on the whole time (gaps up to 2 s are allowed "
                             "for frame sampling, our reading)")
    start_within_s: Seconds | None = Field(None, description="the first label within the first S seconds")

    @model_validator(mode="after")
    def _one_of(self) -> LiveRepeatParams:
        if (self.max_gap_s is not None) == self.continuous:
            raise ValueError("check live-repeat needs exactly one of 'max_gap_s' or 'continuous: true'")
        return self


@check_kind("live-repeat", LiveRepeatParams, seeks_label=True,
            usual={"not-applicable": "The post has no video or audio recording."})
def live_repeat(ctx: Context, rule: Rule, p: LiveRepeatParams) -> Outcome:
    """Passes when a live recording repeats its label: no stretch without an accepted label in the
    scopes longer than `max_gap_s` (or the label stays on the whole time, `continuous`); fails naming
    the longest gap; scopes not read or no duration: inconclusive.

    Not applicable when the post has no video or audio recording.

    Params: `max_gap_s` **or** `continuous: true` (exactly one); `start_within_s` optional.
    """
    if not ctx.media_kinds & {"video", "audio"}:
        return Outcome("not-applicable", "The post has no video or audio recording.")
    stop, labels = _timed(ctx, rule, "repetition of the label")
    if stop:
        return stop
    duration = float(ctx.duration_s)
    continuous = p.continuous
    allowed = CONTINUOUS_GAP_S if continuous else float(p.max_gap_s)
    where = " or ".join(CHANNEL_WORDS[s] for s in rule.scopes)
    want = ("on screen the whole time" if continuous else
            f"repeated at least every {allowed:g} s ({allowed / 60:g} min)")
    if not labels:
        return Outcome("fail", f"No label in the {where} at any time of the {duration:g} s recording "
                       f"(searched {searched(ctx, rule.scopes)}); it must be {want}.")
    intervals = merged([(m.time.start_s, m.time.end_s) for m in labels])
    gaps = _gaps(intervals, duration)
    long_gaps = [(a, b) for a, b in gaps if b - a > allowed + TIMING_TOLERANCE_S]
    evidence = [evidence_of(m) for m in labels[:6]]
    spans = ", ".join(f"{a:g}-{b:g} s" for a, b in intervals[:8]) + (" ..." if len(intervals) > 8 else "")
    problems = []
    if p.start_within_s is not None and intervals[0][0] > p.start_within_s + TIMING_TOLERANCE_S:
        problems.append(f"the first label is at {intervals[0][0]:g} s; it must come within the first "
                        f"{p.start_within_s:g} s")
    if long_gaps:
        a, b = max(long_gaps, key=lambda g: g[1] - g[0])
        problems.append(f"no label from {a:g} s to {b:g} s (a gap of {b - a:g} s, {(b - a) / 60:.1f} min"
                        + (f"; {len(long_gaps)} such gaps" if len(long_gaps) > 1 else "") + f"); it must be {want}")
        evidence += [Evidence(channel=rule.scopes[0], kind="gap", text="", time=TimeSpan(start_s=x, end_s=y),
                              reason=f"no label for {y - x:g} s", duration_s=duration) for x, y in long_gaps[:5]]
    if problems:
        detail = f"Label in the {where} at {spans} of {duration:g} s: " + "; ".join(problems) + "."
        not_read = unread(ctx, rule.scopes)
        if not_read:  # what was not read may hold the missing repeats
            return Outcome("inconclusive", detail + " Not read, and may hold the label: "
                           + "; ".join(c.detail for c in not_read) + ".", evidence)
        return Outcome("fail", detail, evidence)
    longest = max((b - a for a, b in gaps), default=0.0)
    return Outcome("pass", f"Label in the {where} at {spans} of {duration:g} s; the longest gap is {longest:g} s.",
                   evidence)
