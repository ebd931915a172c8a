"""Check kinds: the few general requirements that rule packs configure (as in Vale).

Each check reads a `Context` (the post, its caption layout, the pack's mentions, what was read)
and returns an `Outcome`: a status, a plain-words detail and the evidence. Checks never decide
applicability or severity; the engine does, from the pack.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pycountry

from complianceguard.model import Coverage, Evidence, Mention, TimeSpan

if TYPE_CHECKING:
    from complianceguard.extract.caption import CaptionLayout
    from complianceguard.model import Submission
    from complianceguard.packs.schema import Rule


@dataclass(frozen=True)
class Context:
    submission: Submission
    layout: CaptionLayout
    mentions: list[Mention]
    language: str | None
    coverage: dict[str, Coverage]
    media_kinds: frozenset[str] = frozenset()
    duration_s: float | None = None
    channels_with_text: frozenset[str] = frozenset()  # channels where any text was found at all
    post_type: str = "feed"  # declared, or inferred from the media (model.post_type_of)
    frames: tuple[tuple[str, str], ...] = ()  # (media, kind) per image / video / audio file, in the post's order
    speech_times: tuple[TimeSpan, ...] = ()  # when something was said (reliable speech segments), in order

    def labels(self, scopes: list[str]) -> list[Mention]:
        """Accepted labels that count: not negated, not disguised, not tentative, in the given channels."""
        return [m for m in self.mentions if m.kind == "label" and m.channel in scopes and not m.negated
                and not m.disguise and not m.tentative]

    def tentative_labels(self, scopes: list[str]) -> list[Mention]:
        """Labels only possibly said (a reading verified by rescoring): they can neither pass nor fail a rule."""
        return [m for m in self.mentions if m.kind == "label" and m.channel in scopes and not m.negated
                and m.tentative]

    def of_kind(self, kind: str, scopes: list[str]) -> list[Mention]:
        return [m for m in self.mentions if m.kind == kind and m.channel in scopes and not m.negated]


@dataclass(frozen=True)
class Outcome:
    status: str  # pass | fail | inconclusive | not-applicable
    detail: str
    evidence: list[Evidence] = field(default_factory=list)


def evidence_of(mention: Mention, note: str | None = None) -> Evidence:
    return Evidence(channel=mention.channel, kind=mention.kind, text=mention.text, span=mention.span,
                    time=mention.time, term=mention.term, confidence=mention.confidence,
                    note=note or ("; ".join(mention.disguise) or None) or mention.context,
                    media=mention.media, overlay=mention.overlay)


def unless_possibly_said(ctx: Context, rule: Rule, outcome: Outcome) -> Outcome:
    """A label-seeking fail becomes inconclusive where a tentative label (a reading verified by
    rescoring, not what the transcriber wrote) is in the rule's channels: the report neither
    claims the disclosure nor its absence, and says where to listen."""
    if outcome.status != "fail" or not CHECKS[rule.check].seeks_label:
        return outcome
    possible = ctx.tentative_labels(rule.scopes)
    if not possible:
        return outcome
    where = ", ".join(f"'{m.text}'" + (f" at {m.time.start_s:.1f} s" if m.time else "") for m in possible[:2])
    evidence = [evidence_of(m).model_copy(update={"kind": "possible label"}) for m in possible[:2]]
    return Outcome("inconclusive", f"{outcome.detail} Possibly said: {where}, a reading the transcriber did not "
                   "write down but scores close to what it did; listen to confirm.", [*outcome.evidence, *evidence])


def quoted(mentions: list[Mention]) -> str:
    return ", ".join(f"'{m.text}'" for m in mentions)


def language_name(code: str | None) -> str:
    language = pycountry.languages.get(alpha_2=code) if code and len(code) == 2 else None
    return language.name if language else (code or "unknown")


def _searched(ctx: Context, scopes: list[str]) -> str:
    read = [ctx.coverage[s].detail for s in scopes if s in ctx.coverage and ctx.coverage[s].read]
    return "; ".join(read) or "nothing readable"


def _unread(ctx: Context, scopes: list[str]) -> list[Coverage]:
    return [ctx.coverage[s] for s in scopes if s in ctx.coverage and not ctx.coverage[s].read]


def label_present(ctx: Context, rule: Rule) -> Outcome:
    groups = rule.params.get("require_each")
    if groups:
        return _label_in_each(ctx, rule, groups)
    labels = ctx.labels(rule.scopes)
    if labels:
        return Outcome("pass", f"Found {quoted(labels[:3])}.", [evidence_of(m) for m in labels[:3]])
    if rule.params.get("platform_tool_counts") and ctx.submission.paid_partnership_tag:
        return Outcome("pass", "The platform's paid-partnership label is set, and counts here.",
                       [Evidence(channel="metadata", kind="platform-tool", text="paid partnership tag")])
    near_misses = [m for m in ctx.mentions if m.channel in rule.scopes
                   and not m.tentative and (m.kind == "label" or (m.kind == "insufficient" and m.disguise))]
    notes = [evidence_of(m, "negated" if m.negated else None) for m in near_misses]
    why_not = ""
    if any(m.disguise for m in near_misses):
        why_not = f" Only a disguised label was found: {quoted([m for m in near_misses if m.disguise])}."
    elif any(m.negated for m in near_misses):
        why_not = f" {quoted([m for m in near_misses if m.negated])} is negated, so it does not disclose."
    unread = _unread(ctx, rule.scopes)
    if unread:
        return Outcome("inconclusive", "No label in what was read; not read: "
                       + "; ".join(c.detail for c in unread) + "." + why_not, notes)
    return Outcome("fail", f"Searched {_searched(ctx, rule.scopes)}.{why_not}", notes)


CHANNEL_WORDS = {"caption": "caption", "overlay": "on-screen text", "speech": "speech", "metadata": "platform flag"}


def _label_in_each(ctx: Context, rule: Rule, groups: list[list[str]]) -> Outcome:
    """A label in every group of channels: "written (caption or on screen) and spoken"."""
    evidence, missing, unread = [], [], []
    for group in groups:
        found = ctx.labels(group)
        if found:
            evidence.append(evidence_of(found[0]))
            continue
        names = " or ".join(CHANNEL_WORDS[c] for c in group)
        (unread if _unread(ctx, group) else missing).append(names)
    if missing:
        return Outcome("fail", "No label in the " + "; none in the ".join(missing) + ".", evidence)
    if unread:
        return Outcome("inconclusive", "Not read: " + "; ".join(unread) + ".", evidence)
    return Outcome("pass", "Found a label in each of: " + "; ".join(
        " or ".join(CHANNEL_WORDS[c] for c in g) for g in groups) + ".", evidence)


def label_placement(ctx: Context, rule: Rule) -> Outcome:
    on_picture = [m for m in ctx.labels(rule.scopes) if m.channel == "overlay" and m.time is None]
    if on_picture:  # a label printed on a still image is seen with the picture, before any caption
        return Outcome("pass", f"{quoted(on_picture[:1])} is on the picture itself, seen before the caption.",
                       [evidence_of(on_picture[0])])
    labels = [m for m in ctx.labels(rule.scopes) if m.channel == "caption" and m.span]
    if not labels:
        return Outcome("not-applicable", "No accepted label in the caption to place.")
    p = rule.params
    layout = ctx.layout
    # Words of the caption other than the labels themselves ("Gifted - Ad" has one word before "Ad").
    marked = [m.span for m in labels]
    prose = [t for t in layout.tokens if t.kind == "word"
             and not any(s.start <= t.start < s.end for s in marked)]
    attempts: list[tuple[Mention, list[str]]] = []
    for label in labels:
        results = _placement_results(label, p, layout, prose)
        problems = [problem for problem in results.values() if problem]
        if p.get("any_of"):  # one constraint the label really meets is enough
            met = any(problem is None for problem in results.values())
            problems = [] if met else problems or ["it is not a hashtag in the required position"]
        if not problems:
            return Outcome("pass", f"{quoted([label])} is placed where it is seen first.", [evidence_of(label)])
        attempts.append((label, problems))
    label, problems = attempts[0]
    return Outcome("fail", f"{quoted([label])}: " + "; ".join(problems) + ".",
                   [evidence_of(m, "; ".join(why)) for m, why in attempts])


def _placement_results(label: Mention, p: dict[str, Any], layout: CaptionLayout,
                       prose: list[Any]) -> dict[str, str | None | bool]:
    """Per constraint: None when met, a plain-words problem when not, False when it does not apply
    (a hashtag constraint on a label that is not a hashtag)."""
    span = label.span
    results: dict[str, str | None | bool] = {}
    if p.get("before_fold"):
        results["before_fold"] = (f"it is hidden behind '... more' ({layout.fold.platform} shows about the "
                                  f"first {layout.fold.at} characters)") if span.end > layout.fold.at else None
    if "max_words_before" in p:
        before = sum(1 for t in prose if t.end <= span.start)
        results["max_words_before"] = (f"{before} word{'s' if before != 1 else ''} come"
                                       f"{'' if before != 1 else 's'} before it") if before > p["max_words_before"] else None
    if p.get("first_line"):
        results["first_line"] = "it is not on the first line" if span.start > layout.first_line_end else None
    index = layout.token_index_at(span.start)
    is_hashtag = index is not None and layout.tokens[index].kind == "hashtag"
    if "max_hashtag_index" in p:
        results["max_hashtag_index"] = False
        if is_hashtag:
            position = next(i for i, h in enumerate(layout.hashtags, 1) if h.start == layout.tokens[index].start)
            results["max_hashtag_index"] = (f"it is hashtag number {position}"
                                            if position > p["max_hashtag_index"] else None)
    if "not_buried" in p:
        results["not_buried"] = False
        if is_hashtag:
            run = layout.hashtag_run(index)
            buried = len(run) >= p["not_buried"] and run[0] != index
            results["not_buried"] = f"it is buried in a block of {len(run)} hashtags" if buried else None
    if p.get("not_at_end"):
        at_end = bool(prose) and all(t.end <= span.start for t in prose)
        results["not_at_end"] = "it comes after all of the caption's text" if at_end else None
    return results


def insufficient_label(ctx: Context, rule: Rule) -> Outcome:
    weak = ctx.of_kind("insufficient", rule.scopes)
    if not weak:
        return Outcome("pass", "No unclear labels used.")
    if ctx.labels(rule.scopes) and not rule.params.get("even_with_label"):
        return Outcome("pass", f"{quoted(weak)} appears next to an accepted label, which is enough.",
                       [evidence_of(m) for m in weak])
    return Outcome("fail", f"Found {quoted(weak)}, which does not tell readers it is an ad.",
                   [evidence_of(m) for m in weak])


def label_language(ctx: Context, rule: Rule) -> Outcome:
    wanted = rule.params["languages"]
    if wanted == "content":
        if not ctx.language:
            return Outcome("not-applicable", "The content language could not be told.")
        wanted = [ctx.language]
    candidates = [m for m in ctx.mentions if m.kind in ("label", "insufficient") and m.channel in rule.scopes
                  and not m.negated]
    if not candidates:
        return Outcome("not-applicable", "No label to check.")
    good = [m for m in ctx.labels(rule.scopes) if m.language in wanted]
    if good:
        return Outcome("pass", f"{quoted(good[:2])} is in {language_name(good[0].language)}.",
                       [evidence_of(m) for m in good[:2]])
    wrong = [m for m in candidates if m.language not in wanted]
    if not wrong:
        return Outcome("not-applicable", "Only unclear labels, in the right language.")
    names = " or ".join(language_name(code) for code in wanted)
    return Outcome("fail", f"{quoted(wrong)} is {language_name(wrong[0].language)}; the audience "
                   f"needs a label in {names}.", [evidence_of(m) for m in wrong])


def false_denial(ctx: Context, rule: Rule) -> Outcome:
    denials = ctx.of_kind("denial", rule.scopes)
    if not denials:
        return Outcome("pass", "No claim that the post is not an ad.")
    return Outcome("fail", f"It says {quoted(denials)}, but the post is "
                   f"{ctx.submission.relationship.replace('unknown', 'likely commercial')}.",
                   [evidence_of(m) for m in denials])


def platform_tool(ctx: Context, rule: Rule) -> Outcome:
    tagged = ctx.submission.paid_partnership_tag
    flag = [Evidence(channel="metadata", kind="platform-tool", text=f"paid partnership tag: {tagged}")]
    if tagged and not ctx.labels(rule.scopes):
        if rule.params.get("sufficient_alone"):
            return Outcome("pass", "The platform's paid-partnership label is set and counts on its own here.", flag)
        return Outcome("fail", "Only the platform's paid-partnership label is set; it is not enough alone.", flag)
    if not tagged and rule.params.get("preferred"):
        return Outcome("fail", "The platform's paid-partnership label is not set.", flag)
    return Outcome("pass", "The platform's label is used as this region expects.", flag)


def disguised_label(ctx: Context, rule: Rule) -> Outcome:
    disguised = [m for m in ctx.mentions if m.kind in ("label", "insufficient") and m.disguise
                 and m.channel in rule.scopes]
    if not disguised:
        return Outcome("pass", "No label written with look-alike or invisible characters.")
    return Outcome("fail", f"{quoted(disguised)} is disguised: " + "; ".join(disguised[0].disguise) + ".",
                   [evidence_of(m) for m in disguised])


def special_label(ctx: Context, rule: Rule) -> Outcome:
    flag = rule.params["flag"]
    what = {"retouched": "retouched", "ai_generated": "AI-generated or virtual"}[flag]
    if not getattr(ctx.submission, flag):
        return Outcome("not-applicable", f"The post does not declare {what} imagery.")
    found = [m for m in ctx.mentions if m.kind == "special" and m.category == flag
             and m.channel in rule.scopes and not m.disguise]
    if found:
        return Outcome("pass", f"Found {quoted(found[:2])} for the declared {what} imagery.",
                       [evidence_of(m) for m in found[:2]])
    unread = _unread(ctx, rule.scopes)
    if unread:
        return Outcome("inconclusive", "No label for the declared " + what + " imagery in what was read; not read: "
                       + "; ".join(c.detail for c in unread) + ".")
    return Outcome("fail", f"The post declares {what} imagery. Searched {_searched(ctx, rule.scopes)}.")


TIMING_TOLERANCE_S = 0.05  # sampling and rounding slack when comparing durations


def _merged(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1] + TIMING_TOLERANCE_S:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _required_visible(p: dict[str, Any], duration: float) -> tuple[float | None, str]:
    tier: dict[str, Any] = p
    if "tiers" in p:
        tier = next((t for t in p["tiers"] if t.get("max_duration_s") is None or duration <= t["max_duration_s"]),
                    p["tiers"][-1])
    scope = (f" (videos up to {tier['max_duration_s']:g} s)" if tier.get("max_duration_s") else
             " (longer videos)" if "tiers" in p else "")
    if "min_visible_s" in tier:
        return float(tier["min_visible_s"]), f"{tier['min_visible_s']:g} s{scope}"
    if "min_fraction" in tier:
        fraction = float(tier["min_fraction"])
        share = "the whole video" if fraction >= 1 else f"{fraction:.0%} of its length"
        return fraction * duration, f"{share}, {fraction * duration:.1f} s{scope}"
    return None, ""


def video_timing(ctx: Context, rule: Rule) -> Outcome:
    """When and how long labels are on screen or spoken, against the rule's window."""
    if not ctx.media_kinds & {"video", "audio"}:
        return Outcome("not-applicable", "The post has no video or audio.")
    unread = _unread(ctx, rule.scopes)
    labels = [m for m in ctx.labels(rule.scopes) if m.time is not None]
    where = " or ".join(CHANNEL_WORDS[s] for s in rule.scopes)
    if ctx.duration_s is None or (unread and not labels):
        why = "; ".join(c.detail for c in unread) or "the media's duration is unknown"
        return Outcome("inconclusive", f"Timing could not be checked: {why}.")
    if set(rule.scopes) == {"speech"} and "speech" not in ctx.channels_with_text and not unread:
        return Outcome("not-applicable", "Nothing is said in the media, so there is no spoken endorsement.")
    duration = ctx.duration_s
    intervals = _merged([(m.time.start_s, m.time.end_s) for m in labels])
    evidence = [evidence_of(m) for m in labels]
    if not intervals:
        return Outcome("fail", f"No label in the {where} at any time (searched {_searched(ctx, rule.scopes)}).")
    p = rule.params
    spans = ", ".join(f"{a:g}-{b:g} s" for a, b in intervals)
    problems = []
    if "start_within_s" in p and intervals[0][0] > p["start_within_s"] + TIMING_TOLERANCE_S:
        problems.append(f"the first label is at {intervals[0][0]:g} s; it must come within the first "
                        f"{p['start_within_s']:g} s")
    if "end_within_s" in p and intervals[-1][1] < duration - p["end_within_s"] - TIMING_TOLERANCE_S:
        problems.append(f"the last label ends at {intervals[-1][1]:g} s; one is needed in the last "
                        f"{p['end_within_s']:g} s (of {duration:g} s)")
    required, described = _required_visible(p, duration)
    total = sum(b - a for a, b in intervals)
    if required is not None and total + TIMING_TOLERANCE_S < required:
        problems.append(f"it is there for {total:.1f} s in total; needs {described}")
    if "repeat_every_s" in p:
        edges = [0.0, *[x for pair in intervals for x in pair], duration]
        gaps = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
        long_gaps = [(a, b) for a, b in gaps if b - a > p["repeat_every_s"] + TIMING_TOLERANCE_S]
        if long_gaps:
            a, b = long_gaps[0]
            problems.append(f"no label from {a:g} s to {b:g} s; it must repeat every {p['repeat_every_s']:g} s")
    if problems:
        return Outcome("fail", f"Label in the {where} at {spans}: " + "; ".join(problems) + ".", evidence)
    return Outcome("pass", f"Label in the {where} at {spans} of {duration:g} s meets the timing.", evidence)


def label_prominence(ctx: Context, rule: Rule) -> Outcome:
    """An on-screen label must be big enough and stand out from what is behind it."""
    shown = [m for m in ctx.labels(rule.scopes) if m.overlay is not None]
    if not shown:
        return Outcome("not-applicable", "No label on screen to measure.")
    p = rule.params

    def problems(m: Mention) -> list[str]:
        o = m.overlay
        found = []
        if "min_height_fraction" in p and o.height_fraction + 1e-9 < p["min_height_fraction"]:
            found.append(f"its letters are {o.text_height_px} px high ({o.height_fraction:.1%} of the frame); "
                         f"needs at least {p['min_height_fraction']:.1%}")
        if "min_contrast" in p and o.contrast_ratio < p["min_contrast"]:
            found.append(f"its contrast against the background is {o.contrast_ratio:g}:1; needs at least "
                         f"{p['min_contrast']:g}:1")
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


def sponsor_read_disclosed(ctx: Context, rule: Rule) -> Outcome:
    """A spoken sponsor read (discount code, "link in the description", the brand) needs a label
    said or shown near it, not only somewhere else in the video."""
    within = float(rule.params.get("within_s", 30))
    heard = [m for m in ctx.mentions if m.kind in ("signal", "brand") and m.channel == "speech" and m.time]
    # The creator plugging their own merchandise or membership is no third party's read.
    reads = [m for m in heard if m.category != "self-promotion"]
    if not reads:
        unread = _unread(ctx, ["speech"])
        if unread:
            return Outcome("inconclusive", "Speech not read: " + "; ".join(c.detail for c in unread) + ".")
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


FRAME_WORDS = {"carousel": "image", "story": "frame"}
FRAME_CHANNELS = {"image": ("overlay",), "video": ("overlay", "speech"), "audio": ("speech",)}


def _frame_names(ctx: Context, numbers: list[int]) -> str:
    word = FRAME_WORDS.get(ctx.post_type, "frame")
    if len(numbers) == 1:
        return f"{word} {numbers[0]}"
    return f"{word}s " + ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"


def label_on_every_frame(ctx: Context, rule: Rule) -> Outcome:
    """A label on every carousel image / story frame (or on the first and last), with per-frame
    evidence: which frames carry which label, which lack one, which could not be read."""
    frames = ctx.frames
    word = FRAME_WORDS.get(ctx.post_type, "frame")
    if not frames:
        return Outcome("not-applicable", "The post has no images or frames.")
    p = rule.params
    if p.get("caption_counts") and "caption" in rule.scopes and ctx.labels(["caption"]):
        found = ctx.labels(["caption"])
        return Outcome("pass", f"The caption label {quoted(found[:1])} goes with every {word} here.",
                       [evidence_of(found[0])])
    if p.get("platform_tool_counts") and ctx.submission.paid_partnership_tag:
        return Outcome("pass", f"The platform's paid-partnership label is set; the platform shows it on every {word}.",
                       [Evidence(channel="metadata", kind="platform-tool", text="paid partnership tag")])
    total = len(frames)
    wanted = range(1, total + 1)
    if p.get("which_frames") == "first-and-last":
        wanted = sorted({1, total})
    in_media = [s for s in rule.scopes if s in ("overlay", "speech")]
    labels = ctx.labels(in_media)
    evidence: list[Evidence] = []
    labelled, missing, unread = [], [], []
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
            unread.append(number)
            why = (f"{CHANNEL_WORDS[not_read[0]]} not read" if not_read
                   else f"a {kind} carries no {' or '.join(CHANNEL_WORDS[c] for c in in_media)}")
            evidence.append(Evidence(channel=(not_read or in_media)[0], kind="not-read", text="", media=media,
                                     frame=number, note=f"{where}: {why}"))
        else:
            missing.append(number)
            evidence.append(Evidence(channel=channels[0], kind="missing-label", text="", media=media,
                                     frame=number, note=f"{where}: no label"))
    needed = "on the first and the last" if p.get("which_frames") == "first-and-last" else "on every"
    shown = f"Labelled: {_frame_names(ctx, labelled)}." if labelled else "No frame carries a label."
    if missing:
        return Outcome("fail", f"No label on {_frame_names(ctx, missing)} of {total}; one is needed {needed} "
                       f"{word}. {shown}", evidence)
    if unread:
        return Outcome("inconclusive", f"{_frame_names(ctx, unread).capitalize()} of {total} could not be read. "
                       f"{shown}", evidence)
    return Outcome("pass", f"A label is {needed} {word} ({len(wanted)} of {total} required). {shown}", evidence)


CONTINUOUS_GAP_S = 2.0  # our reading of "continuous": on-screen text is sampled about once a second


def _gaps(intervals: list[tuple[float, float]], duration: float) -> list[tuple[float, float]]:
    """The stretches without a label, from the start to the end of the media."""
    edges = [0.0, *[x for pair in intervals for x in pair], duration]
    return [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2) if edges[i + 1] > edges[i]]


def _timed(ctx: Context, rule: Rule, what: str) -> tuple[Outcome | None, list[Mention]]:
    """The rule's timed labels, or an outcome when the timing cannot be checked."""
    unread = _unread(ctx, rule.scopes)
    labels = [m for m in ctx.labels(rule.scopes) if m.time is not None]
    if unread and not labels:
        return Outcome("inconclusive", f"The {what} could not be checked: "
                       + "; ".join(c.detail for c in unread) + "."), labels
    if ctx.duration_s is None:
        return Outcome("inconclusive", f"The {what} could not be checked: the media's duration is unknown."), labels
    return None, labels


def live_repeat(ctx: Context, rule: Rule) -> Outcome:
    """A live recording repeats its label: no stretch longer than `max_gap_s` without one (the
    start and the end count), or the label stays on the whole time (`continuous`)."""
    if not ctx.media_kinds & {"video", "audio"}:
        return Outcome("not-applicable", "The post has no video or audio recording.")
    stop, labels = _timed(ctx, rule, "repetition of the label")
    if stop:
        return stop
    p = rule.params
    duration = float(ctx.duration_s)
    continuous = bool(p.get("continuous"))
    allowed = CONTINUOUS_GAP_S if continuous else float(p["max_gap_s"])
    where = " or ".join(CHANNEL_WORDS[s] for s in rule.scopes)
    want = ("on screen the whole time" if continuous else
            f"repeated at least every {allowed:g} s ({allowed / 60:g} min)")
    if not labels:
        return Outcome("fail", f"No label in the {where} at any time of the {duration:g} s recording "
                       f"(searched {_searched(ctx, rule.scopes)}); it must be {want}.")
    intervals = _merged([(m.time.start_s, m.time.end_s) for m in labels])
    gaps = _gaps(intervals, duration)
    long_gaps = [(a, b) for a, b in gaps if b - a > allowed + TIMING_TOLERANCE_S]
    evidence = [evidence_of(m) for m in labels[:6]]
    spans = ", ".join(f"{a:g}-{b:g} s" for a, b in intervals[:8]) + (" ..." if len(intervals) > 8 else "")
    problems = []
    if "start_within_s" in p and intervals[0][0] > p["start_within_s"] + TIMING_TOLERANCE_S:
        problems.append(f"the first label is at {intervals[0][0]:g} s; it must come within the first "
                        f"{p['start_within_s']:g} s")
    if long_gaps:
        a, b = max(long_gaps, key=lambda g: g[1] - g[0])
        problems.append(f"no label from {a:g} s to {b:g} s (a gap of {b - a:g} s, {(b - a) / 60:.1f} min"
                        + (f"; {len(long_gaps)} such gaps" if len(long_gaps) > 1 else "") + f"); it must be {want}")
        evidence += [Evidence(channel=rule.scopes[0], kind="gap", text="", time=TimeSpan(start_s=x, end_s=y),
                              note=f"no label for {y - x:g} s") for x, y in long_gaps[:5]]
    if problems:
        detail = f"Label in the {where} at {spans} of {duration:g} s: " + "; ".join(problems) + "."
        unread = _unread(ctx, rule.scopes)
        if unread:  # what was not read may hold the missing repeats
            return Outcome("inconclusive", detail + " Not read, and may hold the label: "
                           + "; ".join(c.detail for c in unread) + ".", evidence)
        return Outcome("fail", detail, evidence)
    longest = max((b - a for a, b in gaps), default=0.0)
    return Outcome("pass", f"Label in the {where} at {spans} of {duration:g} s; the longest gap is {longest:g} s.",
                   evidence)


def audio_disclosure(ctx: Context, rule: Rule) -> Outcome:
    """An audio-only post (podcast, audio recording) says the disclosure: at all; within the first
    `start_within_s`; in the last `end_within_s`; before and after every break (a silence of at
    least `break_gap_s` between spoken lines) within `break_window_s` of it."""
    if ctx.post_type != "audio" or not ctx.media_kinds & {"audio", "video"}:
        return Outcome("not-applicable", "Not an audio-only post (podcast, audio recording).")
    unread = _unread(ctx, rule.scopes)
    labels = [m for m in ctx.labels(rule.scopes) if m.time is not None]
    if unread and not labels:
        return Outcome("inconclusive", "The spoken disclosure could not be checked: "
                       + "; ".join(c.detail for c in unread) + ".")
    if ctx.duration_s is None and rule.params.keys() & {"end_within_s"}:
        return Outcome("inconclusive", "The spoken disclosure could not be checked: the media's duration is unknown.")
    p = rule.params
    duration = ctx.duration_s
    if not labels:
        return Outcome("fail", f"Nothing in the recording says it is an ad (searched {_searched(ctx, rule.scopes)}).")
    intervals = _merged([(m.time.start_s, m.time.end_s) for m in labels])
    evidence = [evidence_of(m) for m in labels[:6]]
    spans = ", ".join(f"{a:g}-{b:g} s" for a, b in intervals[:8])
    problems = []
    if "start_within_s" in p and intervals[0][0] > p["start_within_s"] + TIMING_TOLERANCE_S:
        problems.append(f"it is first said at {intervals[0][0]:g} s; it must be said at the start (within the "
                        f"first {p['start_within_s']:g} s)")
    if "end_within_s" in p and duration is not None \
            and intervals[-1][1] < duration - p["end_within_s"] - TIMING_TOLERANCE_S:
        problems.append(f"it is last said at {intervals[-1][1]:g} s; it must be said again at the end (the last "
                        f"{p['end_within_s']:g} s of {duration:g} s)")
    if "break_gap_s" in p:
        window = float(p.get("break_window_s", 30))
        said = sorted(ctx.speech_times, key=lambda t: t.start_s)
        breaks = [(a.end_s, b.start_s) for a, b in zip(said, said[1:]) if b.start_s - a.end_s >= p["break_gap_s"]]
        for start, end in breaks:
            before = any(a <= start + TIMING_TOLERANCE_S and b >= start - window for a, b in intervals)
            after = any(a <= end + window and b >= end - TIMING_TOLERANCE_S for a, b in intervals)
            if not (before and after):
                side = "before and after" if not (before or after) else "before" if not before else "after"
                problems.append(f"no disclosure is said {side} the break at {start:g}-{end:g} s (within {window:g} s)")
                evidence.append(Evidence(channel="speech", kind="break", text="",
                                         time=TimeSpan(start_s=start, end_s=end), note=f"no disclosure {side} it"))
    if problems:
        status = "warn" if p.get("timing_is_advice") else "fail"
        return Outcome(status, f"Said at {spans}: " + "; ".join(problems) + ".", evidence)
    return Outcome("pass", f"Said at {spans}" + (f" of {duration:g} s" if duration else "") + ".", evidence)


@dataclass(frozen=True)
class CheckKind:
    run: Callable[[Context, Rule], Outcome]
    params: dict[str, Any]  # name -> type or tuple of allowed types
    required: tuple[str, ...] = ()
    seeks_label: bool = False  # fails for want of a label: a label only possibly said makes it inconclusive


CHECKS: dict[str, CheckKind] = {
    "label-present": CheckKind(label_present, {"platform_tool_counts": bool, "require_each": list},
                               seeks_label=True),
    "label-placement": CheckKind(label_placement, {
        "before_fold": bool, "max_words_before": int, "first_line": bool,
        "max_hashtag_index": int, "not_buried": int, "not_at_end": bool, "any_of": bool}),
    "insufficient-label": CheckKind(insufficient_label, {"even_with_label": bool}),
    "label-language": CheckKind(label_language, {"languages": (list, str)}, required=("languages",)),
    "false-denial": CheckKind(false_denial, {}),
    "platform-tool": CheckKind(platform_tool, {"sufficient_alone": bool, "preferred": bool}),
    "disguised-label": CheckKind(disguised_label, {}),
    "special-label": CheckKind(special_label, {"flag": str}, required=("flag",)),
    "video-timing": CheckKind(video_timing, {
        "start_within_s": (int, float), "end_within_s": (int, float), "min_visible_s": (int, float),
        "min_fraction": (int, float), "tiers": list, "repeat_every_s": (int, float)}, seeks_label=True),
    "sponsor-read-disclosed": CheckKind(sponsor_read_disclosed, {"within_s": (int, float)}, seeks_label=True),
    "label-prominence": CheckKind(label_prominence, {"min_height_fraction": (int, float),
                                                     "min_contrast": (int, float)}),
    "label-on-every-frame": CheckKind(label_on_every_frame, {
        "caption_counts": bool, "platform_tool_counts": bool, "which_frames": str}, seeks_label=True),
    "live-repeat": CheckKind(live_repeat, {"max_gap_s": (int, float), "continuous": bool,
                                           "start_within_s": (int, float)}, seeks_label=True),
    "audio-disclosure": CheckKind(audio_disclosure, {
        "start_within_s": (int, float), "end_within_s": (int, float), "break_gap_s": (int, float),
        "break_window_s": (int, float), "timing_is_advice": bool}, seeks_label=True),
}


def validate_params(rule: Rule) -> tuple[str | None, str] | None:
    """(param name or None, one-line problem) for a rule's params, or None when they are fine."""
    kind = CHECKS[rule.check]
    for name, value in rule.params.items():
        if name not in kind.params:
            allowed = ", ".join(kind.params) or "none"
            return name, f"unknown param {name!r} for check {rule.check} (allowed: {allowed})"
        expected = kind.params[name]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            return name, f"param {name!r} has the wrong type ({type(value).__name__})"
    missing = [n for n in kind.required if n not in rule.params]
    if missing:
        return None, f"check {rule.check} needs param {missing[0]!r}"
    if rule.check == "special-label" and rule.params["flag"] not in ("retouched", "ai_generated"):
        return "flag", "param 'flag' must be 'retouched' or 'ai_generated'"
    if rule.check == "video-timing":
        problem = _validate_timing(rule.params)
        return ("tiers", problem) if problem else None
    if rule.check == "label-present" and "require_each" in rule.params:
        groups = rule.params["require_each"]
        if not all(isinstance(g, list) and g and set(g) <= set(CHANNEL_WORDS) for g in groups):
            return "require_each", "param 'require_each' must be a list of channel lists, e.g. [[caption, overlay], [speech]]"
    if rule.check == "label-on-every-frame" and rule.params.get("which_frames", "every") not in (
            "every", "first-and-last"):
        return "which_frames", "param 'which_frames' must be 'every' or 'first-and-last'"
    if rule.check == "live-repeat" and ("max_gap_s" in rule.params) == bool(rule.params.get("continuous")):
        return None, "check live-repeat needs exactly one of 'max_gap_s' or 'continuous: true'"
    if rule.check in ("live-repeat", "audio-disclosure") and any(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v < 0 for v in rule.params.values()):
        return None, f"check {rule.check}: seconds must not be negative"
    if rule.check == "label-language" and isinstance(rule.params["languages"], str) \
            and rule.params["languages"] != "content":
        return "languages", "param 'languages' must be a list of language codes or 'content'"
    return None


def _validate_timing(params: dict[str, Any]) -> str | None:
    if not params:
        return "check video-timing needs at least one of its params"
    for tier in params.get("tiers", []):
        if not isinstance(tier, dict) or not set(tier) <= {"max_duration_s", "min_visible_s", "min_fraction"} \
                or not ({"min_visible_s", "min_fraction"} & set(tier)):
            return "each tier needs min_visible_s or min_fraction (and max_duration_s, except the last)"
    return None
