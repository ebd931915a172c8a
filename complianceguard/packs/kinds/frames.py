"""Frame kinds: a label on every carousel image or story frame, with evidence per frame."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from complianceguard.model import Evidence
from complianceguard.packs.kinds.base import (CHANNEL_WORDS, CheckParams, Context, Flag, Outcome, check_kind,
                                              evidence_of, quoted, unread)

if TYPE_CHECKING:
    from complianceguard.packs.schema import Rule

FRAME_WORDS = {"carousel": "image", "story": "frame"}
FRAME_CHANNELS = {"image": ("overlay",), "video": ("overlay", "speech"), "audio": ("speech",)}


def _frame_names(ctx: Context, numbers: list[int]) -> str:
    word = FRAME_WORDS.get(ctx.post_type, "frame")
    if len(numbers) == 1:
        return f"{word} {numbers[0]}"
    return f"{word}s " + ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"


class LabelOnEveryFrameParams(CheckParams):
    caption_counts: Flag = Field(False, description="a caption label (with `caption` in scopes) covers every image "
                                 "(KR: \"in the photo, on every photo, *or* in the first line\")")
    platform_tool_counts: Flag = Field(False, description="the platform's paid-partnership flag, which the "
                                       "platform shows on every frame, counts")
    which_frames: Literal["every", "first-and-last", "first"] = Field(
        "every", description="the frames that need a label: `first` for a carousel seen image by image, where a "
        "label only on a later image is not seen \"at the start\" / \"at first glance\"")


@check_kind("label-on-every-frame", LabelOnEveryFrameParams, seeks_label=True,
            usual={"not-applicable": "The post has no images or frames."})
def label_on_every_frame(ctx: Context, rule: Rule, p: LabelOnEveryFrameParams) -> Outcome:
    """Passes when every carousel image / story frame (the post's `media`, in order; or the first and
    the last; or the first) carries an accepted label in the rule's `overlay` (and, for video frames, `speech`)
    scopes. The evidence names each frame (`frame`, 1-based, and its media): the label it carries,
    or that it has none, or that it was not read (then inconclusive, never a pass).

    Not applicable when the post has no images or frames. A story or carousel declared without its
    files has frames that were not read: inconclusive, unless the caption or the platform's flag
    answers the rule without them.

    Params: all optional.
    """
    frames = ctx.frames
    word = FRAME_WORDS.get(ctx.post_type, "frame")
    not_read = [] if frames else unread(ctx, [s for s in rule.scopes if s in ("overlay", "speech")])
    if not frames and not not_read:
        return Outcome("not-applicable", "The post has no images or frames.")
    if p.caption_counts and "caption" in rule.scopes and ctx.labels(["caption"]):
        found = ctx.labels(["caption"])
        return Outcome("pass", f"The caption label {quoted(found[:1])} goes with every {word} here.",
                       [evidence_of(found[0])])
    if p.platform_tool_counts and ctx.submission.paid_partnership_tag:
        return Outcome("pass", f"The platform's paid-partnership label is set; the platform shows it on every {word}.",
                       [Evidence(channel="metadata", kind="platform-tool", text="paid partnership tag")])
    if not frames:  # declared, not given: whether each frame carries a label is not known
        return Outcome("inconclusive", f"The {ctx.post_type or 'post'}'s {word}s were not read ("
                       f"{'; '.join(c.detail for c in not_read)}); a label is needed on every {word} the rule names.",
                       [Evidence(channel=c.channel, kind="not-read", text="", reason=c.detail) for c in not_read])
    total = len(frames)
    wanted = range(1, total + 1)
    if p.which_frames != "every":
        wanted = sorted({1, total}) if p.which_frames == "first-and-last" else [1]
    in_media = [s for s in rule.scopes if s in ("overlay", "speech")]
    labels = ctx.labels(in_media)
    evidence: list[Evidence] = []
    labelled, missing, not_read_frames = [], [], []
    for number in range(1, total + 1):  # evidence for every frame; only the wanted ones decide
        media, kind = frames[number - 1]
        where = f"{word} {number} of {total}"
        here = [m for m in labels if m.media == media]
        if here:
            labelled.append(number)
            evidence.extend(evidence_of(m).model_copy(update={"frame": number}) for m in here[:2])
            continue
        if number not in wanted:
            continue
        channels = [c for c in FRAME_CHANNELS.get(kind, ()) if c in in_media]
        not_read = [c for c in channels if c in ctx.coverage and not ctx.coverage[c].read]
        if not channels or not_read:
            not_read_frames.append(number)
            why = (f"{CHANNEL_WORDS[not_read[0]]} not read" if not_read
                   else f"a {kind} carries no {' or '.join(CHANNEL_WORDS[c] for c in in_media)}")
            evidence.append(Evidence(channel=(not_read or in_media)[0], kind="not-read", text="", media=media,
                                     frame=number, reason=f"{where}: {why}"))
        else:
            missing.append(number)
            evidence.append(Evidence(channel=channels[0], kind="missing-label", text="", media=media,
                                     frame=number, reason=f"{where}: no label"))
    # A label described without the frame it is on (`overlay` with no `frame` on a post of several)
    # may be on any of them: the frames without one are not known to lack it.
    unplaced = [m for m in labels if m.media not in {media for media, _ in frames}]
    needed = {"every": "on every", "first-and-last": "on the first and the last", "first": "on the first"}[
        p.which_frames]
    shown = f"Labelled: {_frame_names(ctx, labelled)}." if labelled else "No frame carries a label."
    if unplaced and missing:
        unknown = f"{quoted(unplaced[:1])} is described on no {word}"
        evidence = [e.model_copy(update={"kind": "not-read", "reason": f"{e.reason} known, but {unknown}"})
                    if e.kind == "missing-label" else e for e in evidence]
        return Outcome("inconclusive", f"{_frame_names(ctx, missing).capitalize()} of {total}: {unknown}, so "
                       f"whether they carry it is not known; one is needed {needed} {word}. {shown}",
                       [*evidence, evidence_of(unplaced[0])])
    if missing:
        return Outcome("fail", f"No label on {_frame_names(ctx, missing)} of {total}; one is needed {needed} "
                       f"{word}. {shown}", evidence)
    if not_read_frames:
        return Outcome("inconclusive", f"{_frame_names(ctx, not_read_frames).capitalize()} of {total} could not be "
                       f"read. {shown}", evidence)
    return Outcome("pass", f"A label is {needed} {word} ({len(wanted)} of {total} required). {shown}", evidence)
