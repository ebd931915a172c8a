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

from complianceguard.model import Coverage, Evidence, Mention

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

    def labels(self, scopes: list[str]) -> list[Mention]:
        """Accepted labels that count: not negated, not disguised, in the given channels."""
        return [m for m in self.mentions
                if m.kind == "label" and m.channel in scopes and not m.negated and not m.disguise]

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
                    note=note or ("; ".join(mention.disguise) or None))


def quoted(mentions: list[Mention]) -> str:
    return ", ".join(f"'{m.text}'" for m in mentions)


def language_name(code: str | None) -> str:
    language = pycountry.languages.get(alpha_2=code) if code and len(code) == 2 else None
    return language.name if language else (code or "unknown")


def _searched(ctx: Context, scopes: list[str]) -> str:
    read = [ctx.coverage[s].detail for s in scopes if s in ctx.coverage and ctx.coverage[s].read]
    return "; ".join(read) or "nothing readable"


def label_present(ctx: Context, rule: Rule) -> Outcome:
    labels = ctx.labels(rule.scopes)
    if labels:
        return Outcome("pass", f"Found {quoted(labels[:3])}.", [evidence_of(m) for m in labels[:3]])
    if rule.params.get("platform_tool_counts") and ctx.submission.paid_partnership_tag:
        return Outcome("pass", "The platform's paid-partnership label is set, and counts here.",
                       [Evidence(channel="metadata", kind="platform-tool", text="paid partnership tag")])
    near_misses = [m for m in ctx.mentions if m.channel in rule.scopes
                   and (m.kind == "label" or (m.kind == "insufficient" and m.disguise))]
    notes = [evidence_of(m, "negated" if m.negated else None) for m in near_misses]
    why_not = ""
    if any(m.disguise for m in near_misses):
        why_not = f" Only a disguised label was found: {quoted([m for m in near_misses if m.disguise])}."
    elif any(m.negated for m in near_misses):
        why_not = f" {quoted([m for m in near_misses if m.negated])} is negated, so it does not disclose."
    unread = [ctx.coverage[s] for s in rule.scopes if s in ctx.coverage and not ctx.coverage[s].read]
    if unread:
        return Outcome("inconclusive", "No label in what was read; not read: "
                       + "; ".join(c.detail for c in unread) + "." + why_not, notes)
    return Outcome("fail", f"Searched {_searched(ctx, rule.scopes)}.{why_not}", notes)


def label_placement(ctx: Context, rule: Rule) -> Outcome:
    labels = [m for m in ctx.labels(rule.scopes) if m.channel == "caption" and m.span]
    if not labels:
        return Outcome("not-applicable", "No accepted label in the caption to place.")
    p = rule.params
    layout = ctx.layout
    # Words of the caption other than the labels themselves ("Gifted - Ad" has one word before "Ad").
    marked = [m.span for m in labels]
    prose = [t for t in layout.tokens if t.kind == "word"
             and not any(s.start <= t.start < s.end for s in marked)]
    hashtags = layout.hashtags
    attempts: list[tuple[Mention, list[str]]] = []
    for label in labels:
        span = label.span
        problems = []
        if p.get("before_fold") and span.end > layout.fold.at:
            problems.append(f"it is hidden behind '... more' ({layout.fold.platform} shows about "
                            f"the first {layout.fold.at} characters)")
        if "max_words_before" in p:
            before = sum(1 for t in prose if t.end <= span.start)
            if before > p["max_words_before"]:
                problems.append(f"{before} word{'s' if before != 1 else ''} come{'' if before != 1 else 's'} before it")
        if p.get("first_line") and span.start > layout.first_line_end:
            problems.append("it is not on the first line")
        index = layout.token_index_at(span.start)
        token = layout.tokens[index] if index is not None else None
        if token is not None and token.kind == "hashtag":
            if "max_hashtag_index" in p:
                position = next(i for i, h in enumerate(hashtags, 1) if h.start == token.start)
                if position > p["max_hashtag_index"]:
                    problems.append(f"it is hashtag number {position}")
            if "not_buried" in p:
                run = layout.hashtag_run(index)
                if len(run) >= p["not_buried"] and run[0] != index:
                    problems.append(f"it is buried in a block of {len(run)} hashtags")
        if p.get("not_at_end") and prose and all(t.end <= span.start for t in prose):
            problems.append("it comes after all of the caption's text")
        if not problems:
            return Outcome("pass", f"{quoted([label])} is placed where it is seen first.", [evidence_of(label)])
        attempts.append((label, problems))
    label, problems = attempts[0]
    return Outcome("fail", f"{quoted([label])}: " + "; ".join(problems) + ".",
                   [evidence_of(m, "; ".join(why)) for m, why in attempts])


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


@dataclass(frozen=True)
class CheckKind:
    run: Callable[[Context, Rule], Outcome]
    params: dict[str, Any]  # name -> type or tuple of allowed types
    required: tuple[str, ...] = ()


CHECKS: dict[str, CheckKind] = {
    "label-present": CheckKind(label_present, {"platform_tool_counts": bool}),
    "label-placement": CheckKind(label_placement, {
        "before_fold": bool, "max_words_before": int, "first_line": bool,
        "max_hashtag_index": int, "not_buried": int, "not_at_end": bool}),
    "insufficient-label": CheckKind(insufficient_label, {"even_with_label": bool}),
    "label-language": CheckKind(label_language, {"languages": (list, str)}, required=("languages",)),
    "false-denial": CheckKind(false_denial, {}),
    "platform-tool": CheckKind(platform_tool, {"sufficient_alone": bool, "preferred": bool}),
    "disguised-label": CheckKind(disguised_label, {}),
}


def validate_params(rule: Rule) -> str | None:
    """A one-line problem with a rule's params, or None."""
    kind = CHECKS[rule.check]
    for name, value in rule.params.items():
        if name not in kind.params:
            allowed = ", ".join(kind.params) or "none"
            return f"unknown param {name!r} for check {rule.check} (allowed: {allowed})"
        expected = kind.params[name]
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            return f"param {name!r} has the wrong type ({type(value).__name__})"
    missing = [n for n in kind.required if n not in rule.params]
    if missing:
        return f"check {rule.check} needs param {missing[0]!r}"
    if rule.check == "label-language" and isinstance(rule.params["languages"], str) \
            and rule.params["languages"] != "content":
        return "param 'languages' must be a list of language codes or 'content'"
    return None
