"""Label kinds: is there an accepted label, is it clear, in the right language, not denied or disguised."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, ValidationError, ValidatorFunctionWrapHandler, field_validator

from complianceguard.model import Channel, Evidence, Mention, Relationship, SpecialFlag
from complianceguard.packs.kinds.base import (CHANNEL_WORDS, TIMING_TOLERANCE_S, CheckParams, Context, Flag,
                                              NoParams, Number, Outcome, check_kind, evidence_of, language_name,
                                              merged, quoted, searched, title_evidence, unread)

if TYPE_CHECKING:
    from complianceguard.packs.schema import Rule


class LabelPresentParams(CheckParams):
    platform_tool_counts: Flag = Field(False, description="the platform's paid-partnership flag counts as a label")
    require_each: list[Annotated[list[Channel], Field(min_length=1)]] | None = Field(
        None, description="a label must be found in each group of channels (\"written *and* spoken\"), "
        "e.g. `[[caption, overlay], [speech]]`")
    needs_advertiser: Literal["label", "post"] | None = Field(
        None, description="the label must name the advertiser: `label`, a label term with `{advertiser}` "
        "(\"Mainos {advertiser}\": a @handle, the declared brand or a capitalised name right after it); `post`, "
        "that or the brand (declared brand, brand handle or any @handle) anywhere in the scopes")
    counts_only_for: dict[str, list[Relationship]] = Field(
        default_factory=dict, description="label terms (as the vocabulary writes them) that count here only on "
        "posts of these declared relationships (CA: `\"#gifted\": [gifted]`, a gift with no obligation to post); "
        "on a post of another declared relationship they do not count, and the finding says why. An undeclared "
        "relationship keeps them: the label itself then says what the post is")
    counts_only_in_media: dict[str, list[Literal["video", "image", "audio"]]] = Field(
        default_factory=dict, description="label terms (as the vocabulary writes them) that count here only "
        "where found in a media file of these kinds, on screen or said (DE: `\"unterstützt durch "
        "{advertiser}\": [video]`, a video's wording for a product in a secondary role); found in the "
        "caption or in other media they do not count")
    title_counts: Flag = Field(False, description="a label in the post's declared title counts too (KR: "
                               "\"in the title\" of a blog post or video); a post that declares no title is "
                               "judged on the scopes alone")


@check_kind("label-present", LabelPresentParams, seeks_label=True, decides_presence=True, usual={})
def label_present(ctx: Context, rule: Rule, p: LabelPresentParams) -> Outcome:
    """Passes when an accepted label is found in one of the rule's `scopes` (or, with `require_each`,
    in each group of channels). Fails naming what was searched and any negated or disguised label
    found instead (or a label term limited to other relationships, `counts_only_for`, or to media of
    another kind, `counts_only_in_media`); inconclusive when a scope was not read.

    Not applicable when never (applicability comes from the pack: relationship, `when`).

    Params: all optional.
    """
    if p.require_each:
        return _label_in_each(ctx, p)
    labels, misplaced, not_counting = _counted(ctx, rule.scopes, p)
    if labels and p.needs_advertiser:
        return _names_advertiser(ctx, rule, p.needs_advertiser, labels)
    if labels:
        return Outcome("pass", f"Found {quoted(labels[:3])}.", [evidence_of(m) for m in labels[:3]])
    if p.platform_tool_counts and ctx.submission.paid_partnership_tag:
        return Outcome("pass", "The platform's paid-partnership label is set, and counts here.",
                       [Evidence(channel="metadata", kind="platform-tool", text="paid partnership tag")])
    in_title = ctx.title_labels() if p.title_counts else []
    if in_title:
        return Outcome("pass", f"The title carries {quoted(in_title[:2])}.", title_evidence(in_title[:2]))
    near_misses = [m for m in ctx.mentions if m.channel in rule.scopes
                   and not m.tentative and (m.kind == "label" or (m.kind == "insufficient" and m.disguise))]
    notes = [evidence_of(m, "negated" if m.negated else None) for m in near_misses if m not in not_counting]
    notes += [evidence_of(m, f"counts only for {_limits(p.counts_only_for, m.term)} posts") for m in not_counting]
    why_not = ""
    if not_counting:
        limited_to = _limits(p.counts_only_for, not_counting[0].term)
        why_not = (f" {quoted(not_counting[:2])} counts only for {limited_to} posts, not for this "
                   f"{ctx.submission.relationship} one.")
    elif misplaced:
        where = " or ".join(f"a {kind}" for kind in _only_in(p)[misplaced[0].term.casefold()])
        why_not = f" {quoted(misplaced[:2])} counts here only on screen or said in {where}."
    elif any(m.disguise for m in near_misses):
        why_not = f" Only a disguised label was found: {quoted([m for m in near_misses if m.disguise])}."
    elif any(m.negated for m in near_misses):
        why_not = f" {quoted([m for m in near_misses if m.negated])} is negated, so it does not disclose."
    not_read = unread(ctx, rule.scopes)
    if not_read:
        return Outcome("inconclusive", "No label in what was read; not read: "
                       + "; ".join(c.detail for c in not_read) + "." + why_not, notes)
    return Outcome("fail", f"Searched {searched(ctx, rule.scopes)}.{why_not}", notes)


def _only_in(p: LabelPresentParams) -> dict[str, list[str]]:
    return {term.casefold(): kinds for term, kinds in p.counts_only_in_media.items()}


def _counted(ctx: Context, scopes: list[str], p: LabelPresentParams) -> tuple[list[Mention], ...]:
    """(labels that count here, labels of media of another kind (`counts_only_in_media`), labels
    for other relationships (`counts_only_for`)) in the scopes."""
    only_in = _only_in(p)
    found = ctx.labels(scopes)
    misplaced = [m for m in found if m.term.casefold() in only_in
                 and _media_kind(ctx, m) not in only_in[m.term.casefold()]]
    labels, not_counting = _counting(ctx, [m for m in found if m not in misplaced], p.counts_only_for)
    return labels, misplaced, not_counting


def _media_kind(ctx: Context, mention: Mention) -> str | None:
    """The kind of media file a mention was read from (video, image, audio); None for the caption.
    A described text names no file: it is the post's media when all of one kind."""
    if mention.channel not in ("overlay", "speech"):
        return None
    kind = dict(ctx.frames).get(mention.media or "")
    if kind in (None, "unknown") and len(ctx.media_kinds) == 1:
        return next(iter(ctx.media_kinds))
    return kind


def _counting(ctx: Context, labels: list[Mention], only_for: dict[str, list[str]]) -> tuple[list[Mention],
                                                                                          list[Mention]]:
    """(labels that count, labels that do not) under `counts_only_for`: a relationship-limited term
    counts on posts of its relationships, and on posts whose relationship is not declared."""
    relationship = ctx.submission.relationship
    if not only_for or relationship == "unknown":
        return labels, []
    allowed = {term.casefold(): relationships for term, relationships in only_for.items()}
    limited = [m for m in labels if relationship not in allowed.get(m.term.casefold(), [relationship])]
    return [m for m in labels if m not in limited], limited


def _limits(only_for: dict[str, list[str]], term: str) -> str:
    """The relationships a limited term counts for, in words: "'gifted'" or "'paid' or 'gifted'"."""
    names = next(r for t, r in only_for.items() if t.casefold() == term.casefold())
    return " or ".join(f"'{name}'" for name in names)


def _names_advertiser(ctx: Context, rule: Rule, mode: str, labels: list) -> Outcome:
    """`needs_advertiser`: a label that names the advertiser ("Mainos Glow"), or (`post`) the brand
    named anywhere in the scopes."""
    named = [m for m in labels if "{advertiser}" in m.term]
    if named:
        return Outcome("pass", f"Found {quoted(named[:2])}, which names the advertiser.",
                       [evidence_of(m) for m in named[:2]])
    if mode == "post":
        brands = ctx.of_kind("brand", rule.scopes)
        if brands:
            return Outcome("pass", f"Found {quoted(labels[:2])}, and the advertiser {quoted(brands[:1])} is named.",
                           [evidence_of(m) for m in (*labels[:2], *brands[:1])])
        handle = next((h for channel, h in ctx.handles if channel in rule.scopes), None)
        if handle:
            return Outcome("pass", f"Found {quoted(labels[:2])}, and the advertiser '{handle}' is tagged.",
                           [evidence_of(m) for m in labels[:2]])
    where = "with the advertiser's name after it" if mode == "label" else "or anywhere in the post"
    return Outcome("fail", f"Found {quoted(labels[:2])}, but it does not say who the advertiser is: name the "
                   f"company {where} (\"{labels[0].text} Brand\" or \"{labels[0].text} @brand\").",
                   [evidence_of(m) for m in labels[:2]])


def _label_in_each(ctx: Context, p: LabelPresentParams) -> Outcome:
    """A label in every group of channels (`require_each`): "written (caption or on screen) and
    spoken", each counted as `counts_only_for` and `counts_only_in_media` say. With `title_counts`, a
    label in the declared title is a written one: it counts for a group that holds the caption (BE:
    "oral ... and written in the video, in the title or in the description")."""
    groups = p.require_each
    evidence, missing, not_read = [], [], []
    for group in groups:
        found = _counted(ctx, group, p)[0]
        if found:
            evidence.append(evidence_of(found[0]))
            continue
        in_title = ctx.title_labels() if p.title_counts and "caption" in group else []
        if in_title:
            evidence.extend(title_evidence(in_title[:1]))
            continue
        names = " or ".join(CHANNEL_WORDS[c] for c in group)
        (not_read if unread(ctx, group) else missing).append(names)
    if missing:
        return Outcome("fail", "No label in the " + "; none in the ".join(missing) + ".", evidence)
    if not_read:
        return Outcome("inconclusive", "Not read: " + "; ".join(not_read) + ".", evidence)
    return Outcome("pass", "Found a label in each of: " + "; ".join(
        " or ".join(CHANNEL_WORDS[c] for c in g) for g in groups) + ".", evidence)


class InsufficientLabelParams(CheckParams):
    even_with_label: Flag = Field(False, description="also fail when an accepted label is present too")


@check_kind("insufficient-label", InsufficientLabelParams, usual={"pass": "No unclear labels used."})
def insufficient_label(ctx: Context, rule: Rule, p: InsufficientLabelParams) -> Outcome:
    """Passes when no insufficient term (`vocabulary.*.insufficient`, e.g. "sp", "collab") is used in
    place of an accepted label: none in the scopes, or one next to an accepted label.

    Not applicable when never.

    Params: optional.
    """
    weak = ctx.of_kind("insufficient", rule.scopes)
    if not weak:
        return Outcome("pass", "No unclear labels used.")
    if ctx.labels(rule.scopes) and not p.even_with_label:
        return Outcome("pass", f"{quoted(weak)} appears next to an accepted label, which is enough.",
                       [evidence_of(m) for m in weak])
    return Outcome("fail", f"Found {quoted(weak)}, which does not tell readers it is an ad.",
                   [evidence_of(m) for m in weak])


class LabelLanguageParams(CheckParams):
    languages: list[str] | Literal["content"] = Field(
        description="language codes (`[de]`), or `content` for the language of the post itself; a list may "
        "name `content` beside codes (`[en, content]`: English or the post's own language)")

    @field_validator("languages", mode="wrap")
    @classmethod
    def _list_or_content(cls, value: object, handler: ValidatorFunctionWrapHandler) -> object:
        try:
            return handler(value)
        except ValidationError:
            raise ValueError("must be a list of language codes or 'content'") from None


@check_kind("label-language", LabelLanguageParams, usual={"not-applicable": "No label to check."})
def label_language(ctx: Context, rule: Rule, p: LabelLanguageParams) -> Outcome:
    """Passes when an accepted label in the scopes is in one of the `languages`; fails naming the
    labels in another language.

    Not applicable when there is no label (or only unclear ones in the right language) to check,
    or the labels are in none of the named languages and `content` is among them while the post's
    language could not be told.

    Params: `languages` is required.
    """
    named = [p.languages] if p.languages == "content" else p.languages
    wanted = [code for code in named if code != "content"]
    content_unknown = "content" in named and not ctx.language
    if "content" in named and ctx.language:
        wanted.append(ctx.language)
    if content_unknown and not wanted:
        return Outcome("not-applicable", "The content language could not be told.")
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
    if content_unknown:
        return Outcome("not-applicable", f"{quoted(wrong)} may be in the post's own language, which could not "
                       "be told.", [evidence_of(m) for m in wrong])
    names = " or ".join(language_name(code) for code in wanted)
    return Outcome("fail", f"{quoted(wrong)} is {language_name(wrong[0].language)}; the audience "
                   f"needs a label in {names}.", [evidence_of(m) for m in wrong])


class FalseDenialParams(CheckParams):
    true_for: dict[str, list[Relationship]] = Field(
        default_factory=dict, description="denial terms (as the vocabulary writes them) that are true, so no false "
        "denial, on posts of these declared relationships (`\"not paid\": [gifted]`: a gift was not paid for); "
        "on other posts, and on posts that declare no relationship, they are denials as usual")


@check_kind("false-denial", FalseDenialParams, usual={"pass": "No claim that the post is not an ad."})
def false_denial(ctx: Context, rule: Rule, p: FalseDenialParams) -> Outcome:
    """Passes when no denial ("not sponsored", `vocabulary.*.denials`) is in the scopes while the
    relationship needs a disclosure, or only denials that `true_for` says are true of this post.

    Not applicable when never.

    Params: all optional.
    """
    true_for = {term.casefold(): relationships for term, relationships in p.true_for.items()}
    relationship = ctx.submission.relationship
    denials = [m for m in ctx.of_kind("denial", rule.scopes)
               if relationship not in true_for.get(m.term.casefold(), ())]
    if not denials:
        return Outcome("pass", "No claim that the post is not an ad.")
    return Outcome("fail", f"It says {quoted(denials)}, but the post is "
                   f"{ctx.submission.relationship.replace('unknown', 'likely commercial')}.",
                   [evidence_of(m) for m in denials])


@check_kind("disguised-label", usual={"pass": "No label written with look-alike or invisible characters."})
def disguised_label(ctx: Context, rule: Rule, p: NoParams) -> Outcome:
    """Passes when no label or insufficient term in the scopes is written with look-alike or
    invisible characters.

    Not applicable when never.

    Params: none.
    """
    disguised = [m for m in ctx.mentions if m.kind in ("label", "insufficient") and m.disguise
                 and m.channel in rule.scopes]
    if not disguised:
        return Outcome("pass", "No label written with look-alike or invisible characters.")
    return Outcome("fail", f"{quoted(disguised)} is disguised: " + "; ".join(disguised[0].disguise) + ".",
                   [evidence_of(m) for m in disguised])


class SpecialLabelParams(CheckParams):
    flag: SpecialFlag = Field(description="the declared imagery this rule is about")
    min_fraction: Number | None = Field(
        None, gt=0, le=1, description="in a video, the term is on screen (or said, per the scopes) for at least "
        "this fraction of its duration: KR's '가상인물' stays 'for the whole time' the figure is shown, a time the "
        "post does not give, so the video's length stands in for it")
    title_counts: Flag = Field(False, description="the notice in the post's declared title counts too (KR: the AI "
                               "notice goes \"in the title or at the beginning\" of a text post)")
    before_fold: Flag = Field(False, description="a notice in the caption counts only before the platform's "
                              "\"... more\" fold (KR: \"in the title or beginning\" of a text post)")


SPECIAL_WHAT = {"retouched": "retouched", "ai_generated": "AI-generated or virtual"}


@check_kind("special-label", SpecialLabelParams, usual={})
def special_label(ctx: Context, rule: Rule, p: SpecialLabelParams) -> Outcome:
    """Passes when the post declares `flag` (`retouched` or `ai_generated`) and a term from
    `vocabulary.*.special[flag]` appears in one of the scopes (or, with `title_counts`, in the
    declared title; with `before_fold`, a caption's only before the fold); inconclusive when a
    scope was not read.

    Not applicable when the post does not declare the flag.

    Params: `flag` is required.
    """
    flag = p.flag
    what = SPECIAL_WHAT[flag]
    if not getattr(ctx.submission, flag):
        return Outcome("not-applicable", f"The post does not declare {what} imagery.")
    found = [m for m in ctx.mentions if m.kind == "special" and m.category == flag
             and m.channel in rule.scopes and not m.disguise]
    late = [m for m in found if m.channel == "caption" and m.span and m.span.end > ctx.layout.fold.at] \
        if p.before_fold else []
    found = [m for m in found if m not in late]
    in_title = [m for m in ctx.title_mentions or () if m.kind == "special" and m.category == flag
                and not m.disguise] if p.title_counts else []
    if in_title and not found:
        return Outcome("pass", f"The title carries {quoted(in_title[:1])} for the declared {what} imagery.",
                       title_evidence(in_title[:1]))
    if found and p.min_fraction is not None and "video" in ctx.media_kinds and ctx.duration_s:
        shown = sum(b - a for a, b in merged([(m.time.start_s, m.time.end_s) for m in found if m.time is not None]))
        needed = p.min_fraction * ctx.duration_s
        if shown + TIMING_TOLERANCE_S < needed:
            return Outcome("fail", f"Found {quoted(found[:2])} for the declared {what} imagery, but in the video for "
                           f"{shown:.1f} s of {ctx.duration_s:g} s; it must stay for {needed:.1f} s.",
                           [evidence_of(m) for m in found[:2]])
    if found:
        return Outcome("pass", f"Found {quoted(found[:2])} for the declared {what} imagery.",
                       [evidence_of(m) for m in found[:2]])
    hidden = (f" {quoted(late[:1])} is in the caption, but behind '... more' ({ctx.layout.fold.platform} shows about "
              f"the first {ctx.layout.fold.at} characters): the notice goes at the beginning.") if late else ""
    not_read = unread(ctx, rule.scopes)
    if not_read:
        return Outcome("inconclusive", "No label for the declared " + what + " imagery in what was read; not read: "
                       + "; ".join(c.detail for c in not_read) + "." + hidden, [evidence_of(m) for m in late[:1]])
    return Outcome("fail", f"The post declares {what} imagery. Searched {searched(ctx, rule.scopes)}." + hidden,
                   [evidence_of(m) for m in late[:1]])


class LabelInTitleParams(CheckParams):
    thumbnail_counts: Flag = Field(False, description="a label on the thumbnail counts instead (\"in the title "
                                   "or thumbnail\"): a declared thumbnail is not read yet, so a title without a "
                                   "label is then inconclusive, not a fail")


@check_kind("label-in-title", LabelInTitleParams, seeks_label=True,
            usual={"not-applicable": "No title declared for this post."})
def label_in_title(ctx: Context, rule: Rule, p: LabelInTitleParams) -> Outcome:
    """Passes when the post's declared title carries an accepted label (not negated or disguised).
    Fails when it has none; with `thumbnail_counts`, inconclusive instead when a thumbnail is
    declared (its text is not read), and the finding says so.

    Not applicable when the submission declares no title (most feed posts, stories and reels have
    none; a post whose platform shows one should declare it: manifest `title`).

    Params: optional.
    """
    if ctx.title_mentions is None:
        return Outcome("not-applicable", "No title declared for this post.")
    title = ctx.submission.title or ""
    labels = ctx.title_labels()
    if labels:
        return Outcome("pass", f"The title carries {quoted(labels[:2])}.", title_evidence(labels[:2]))
    weak = [m for m in ctx.title_mentions if m.kind in ("label", "insufficient")]
    why = f" It has only {quoted(weak[:2])}." if weak else ""
    shown = Evidence(channel="metadata", kind="title", text=title, reason="the title, as declared")
    if p.thumbnail_counts and ctx.submission.thumbnail:
        return Outcome("inconclusive", f"No label in the title '{title}'.{why} A label on the thumbnail would also "
                       f"do, but the thumbnail ({ctx.submission.thumbnail}) is not read.", [shown])
    where = " (and no thumbnail is declared that could carry one)" if p.thumbnail_counts else ""
    return Outcome("fail", f"No label in the title '{title}'{where}.{why}", [shown])
