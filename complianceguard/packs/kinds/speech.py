"""Speech kinds: a spoken sponsor read is disclosed near it; an audio-only post says its disclosure
at the right times."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from complianceguard.model import Evidence, TimeSpan
from complianceguard.packs.kinds.base import (TIMING_TOLERANCE_S, CheckParams, Context, Flag, Outcome, Seconds,
                                              check_kind, evidence_of, merged, searched, unread)

if TYPE_CHECKING:
    from complianceguard.packs.schema import Rule


class SponsorReadParams(CheckParams):
    within_s: Seconds = Field(30, description="how near the read a label must be, in seconds")


@check_kind("sponsor-read-disclosed", SponsorReadParams, seeks_label=True,
            usual={"not-applicable": "No sponsor read heard (no code, link or brand call to action)."})
def sponsor_read_disclosed(ctx: Context, rule: Rule, p: SponsorReadParams) -> Outcome:
    """Passes when every spoken sponsor read (a commercial signal or the brand heard in `speech`: a
    discount code, "link in the description") has an accepted label in the rule's scopes within
    `within_s` seconds of it, not only somewhere else in the video.

    Not applicable when no sponsor read is heard (or only self-promotion: the creator's own shop or
    membership); inconclusive when speech was not read.

    Params: optional.
    """
    within = float(p.within_s)
    heard = [m for m in ctx.mentions if m.kind in ("signal", "brand") and m.channel == "speech" and m.time]
    # The creator plugging their own merchandise or membership is no third party's read.
    reads = [m for m in heard if m.category != "self-promotion"]
    if not reads:
        not_read = unread(ctx, ["speech"])
        if not_read:
            return Outcome("inconclusive", "Speech not read: " + "; ".join(c.detail for c in not_read) + ".")
        if heard:
            return Outcome("not-applicable", "Only self-promotion heard (the creator's own merchandise, shop or "
                           "membership): no third-party sponsor read to disclose.", [evidence_of(heard[0])])
        return Outcome("not-applicable", "No sponsor read heard (no code, link or brand call to action).")
    labels = [m for m in ctx.labels(rule.scopes) if m.time]
    for read in reads:
        near = [m for m in labels if m.time.start_s <= read.time.end_s + within
                and m.time.end_s >= read.time.start_s - within]
        if not near:
            return Outcome("fail", f"Sponsor read at {read.time.start_s:g}-{read.time.end_s:g} s "
                           f"('{read.text}') has no disclosure within {within:g} s of it.",
                           [evidence_of(read), *[evidence_of(m) for m in labels[:2]]])
    return Outcome("pass", f"Each sponsor read has a disclosure within {within:g} s.",
                   [evidence_of(m) for m in reads[:2]])


class AudioDisclosureParams(CheckParams):
    start_within_s: Seconds | None = Field(None, description="first said within the first S seconds")
    end_within_s: Seconds | None = Field(None, description="said again in the last S seconds")
    break_gap_s: Seconds | None = Field(None, description="a silence of at least this long between spoken lines "
                                        "is a break; a label must be said within `break_window_s` before **and** "
                                        "after it")
    break_window_s: Seconds = Field(30, description="how near a break the label must be said")
    timing_is_advice: Flag = Field(False, description="a late, missing-at-end or missing-around-a-break label "
                                   "gives WARN (the seconds are our reading); a recording that never says it "
                                   "still FAILs")


@check_kind("audio-disclosure", AudioDisclosureParams, seeks_label=True,
            usual={"not-applicable": "Not an audio-only post (podcast, audio recording)."})
def audio_disclosure(ctx: Context, rule: Rule, p: AudioDisclosureParams) -> Outcome:
    """Passes when an audio-only post (podcast, audio recording) says an accepted label (in `speech`)
    and, where given, at the right times: within the first `start_within_s`, in the last
    `end_within_s`, before and after every break. Nothing said: fail.

    Not applicable when the post is not audio-only (`post_type: audio`, declared or inferred: audio
    files only).

    Params: all optional.
    """
    if ctx.post_type != "audio" or not ctx.media_kinds & {"audio", "video"}:
        return Outcome("not-applicable", "Not an audio-only post (podcast, audio recording).")
    not_read = unread(ctx, rule.scopes)
    labels = [m for m in ctx.labels(rule.scopes) if m.time is not None]
    if not_read and not labels:
        return Outcome("inconclusive", "The spoken disclosure could not be checked: "
                       + "; ".join(c.detail for c in not_read) + ".")
    if ctx.duration_s is None and p.end_within_s is not None:
        return Outcome("inconclusive", "The spoken disclosure could not be checked: the media's duration is unknown.")
    duration = ctx.duration_s
    if not labels:
        return Outcome("fail", f"Nothing in the recording says it is an ad (searched {searched(ctx, rule.scopes)}).")
    intervals = merged([(m.time.start_s, m.time.end_s) for m in labels])
    evidence = [evidence_of(m) for m in labels[:6]]
    spans = ", ".join(f"{a:g}-{b:g} s" for a, b in intervals[:8])
    problems = []
    if p.start_within_s is not None and intervals[0][0] > p.start_within_s + TIMING_TOLERANCE_S:
        problems.append(f"it is first said at {intervals[0][0]:g} s; it must be said at the start (within the "
                        f"first {p.start_within_s:g} s)")
    if p.end_within_s is not None and duration is not None \
            and intervals[-1][1] < duration - p.end_within_s - TIMING_TOLERANCE_S:
        problems.append(f"it is last said at {intervals[-1][1]:g} s; it must be said again at the end (the last "
                        f"{p.end_within_s:g} s of {duration:g} s)")
    if p.break_gap_s is not None:
        window = float(p.break_window_s)
        said = sorted(ctx.speech_times, key=lambda t: t.start_s)
        breaks = [(a.end_s, b.start_s) for a, b in zip(said, said[1:]) if b.start_s - a.end_s >= p.break_gap_s]
        for start, end in breaks:
            before = any(a <= start + TIMING_TOLERANCE_S and b >= start - window for a, b in intervals)
            after = any(a <= end + window and b >= end - TIMING_TOLERANCE_S for a, b in intervals)
            if not (before and after):
                side = "before and after" if not (before or after) else "before" if not before else "after"
                problems.append(f"no disclosure is said {side} the break at {start:g}-{end:g} s (within {window:g} s)")
                evidence.append(Evidence(channel="speech", kind="break", text="",
                                         time=TimeSpan(start_s=start, end_s=end), reason=f"no disclosure {side} it",
                                         duration_s=duration))
    if problems:
        status = "warn" if p.timing_is_advice else "fail"
        return Outcome(status, f"Said at {spans}: " + "; ".join(problems) + ".", evidence)
    return Outcome("pass", f"Said at {spans}" + (f" of {duration:g} s" if duration else "") + ".", evidence)
