"""Submission -> verdicts. Pure: no I/O beyond the extractors it calls.

For each region: decide whether disclosure applies (declared relationship, or commercial signals
when it is unknown), run every rule of the region's pack, turn outcomes into findings with their
citation and fix, and take the worst status as the region's verdict.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from complianceguard.analyze import Analyzer
from complianceguard.extract import Extraction, extract, media_kind, ocr_languages, read_media
from complianceguard.extract.normalize import HANDLE
from complianceguard.extract.ocr_settings import OcrSettings
from complianceguard.model import (Citation, Finding, ItemResult, Mention, RegionResult, Segment, Submission,
                                   post_type_of, worst)
from complianceguard.packs.kinds import CHECKS, Context, Outcome, quoted, unless_possibly_said
from complianceguard.packs.kinds.base import language_name
from complianceguard.packs.loader import PackLibrary, ResolvedPack
from complianceguard.packs.schema import Rule

if TYPE_CHECKING:  # speech recognition is imported only where media is read (a caption's check has none)
    from complianceguard.extract.speech import Transcriber

TITLE_KINDS = ("label-in-title",)  # the check kinds that read `Context.title_mentions` (and `title_counts`)
STATUS_TO_VERDICT = {"pass": "pass", "not-applicable": "pass", "fail": "fail", "warn": "warn",
                     "inconclusive": "inconclusive"}


class Engine:
    """Evaluates posts against region packs; build once per batch (matchers are compiled lazily)."""

    def __init__(self, library: PackLibrary, regions: list[str] | None = None,
                 pinned: dict[str, ResolvedPack] | None = None, read_media: bool = False,
                 transcriber: Transcriber | None = None, ocr: OcrSettings | None = OcrSettings()):
        self.library = library
        self.default_regions = [r.upper() for r in regions or []]
        self.pinned = pinned or {}  # region -> pack, overriding the library's choice (pack tests)
        self.read_media = read_media  # probe media and transcribe speech (False: media stays unread)
        self.transcriber = transcriber
        self.ocr = ocr  # on-screen text settings (None: OCR off, on-screen text stays unread)
        self.analyzer = Analyzer([p for p in library.packs if not p.pack.abstract], library.candidate_languages())
        self._packs: dict[str, ResolvedPack] = {}  # region -> pack (the library does not change)
        self._citations: dict[tuple[int, int], Citation] = {}  # (id(pack), id(rule)) -> citation

    def pack_for(self, region: str) -> ResolvedPack:
        """The region's pack (pinned, else the library's), looked up once per region."""
        pack = self._packs.get(region)
        if pack is None:
            pack = self._packs[region] = self.pinned.get(region) or self.library.for_region(region)
        return pack

    def regions_for(self, submission: Submission) -> list[str]:
        return self.default_regions or [r.upper() for r in submission.regions]

    def evaluate(self, submission: Submission, extraction: Extraction | None = None) -> ItemResult:
        given = extraction is not None
        extraction = extraction or extract(submission)
        texts = [s.text for s in extraction.segments if s.channel != "metadata"]
        language, language_source = self.analyzer.content_language(submission, texts)
        if not given and self.read_media and submission.media:
            languages = [code for r in self.regions_for(submission) for code in self.pack_for(r).pack.languages]
            ocr = self.ocr and replace(self.ocr, languages=ocr_languages(languages))
            extraction = read_media(submission, extraction, language, self.transcriber, ocr,
                                    expected=tuple(dict.fromkeys(languages)))
        regions: dict[str, RegionResult] = {}
        fixed: dict[str, str] = {}
        all_mentions: list[Mention] = []
        with_text = frozenset(s.channel for s in extraction.segments if s.text.strip())
        # Media in the post's order: carousel images and story frames are numbered from 1 by it.
        frames = tuple((m, media_kind(m) or "unknown") for m in submission.media)
        post_type, post_type_source = post_type_of(
            submission, [kind for _, kind in frames] or sorted(extraction.media_kinds))
        handles = tuple((s.channel, h) for s in extraction.segments if s.channel in ("caption", "overlay")
                        for h in HANDLE.findall(s.text))
        screen_texts = tuple((s.id, s.media, s.time, s.overlay) for s in extraction.segments
                             if s.channel == "overlay" and s.overlay is not None)
        speech_times = tuple(s.time for s in extraction.segments
                             if s.channel == "speech" and s.time is not None and s.tentative is None)
        for region in self.regions_for(submission):
            pack = self.pack_for(region)
            mentions = self.analyzer.mentions(extraction.segments, pack, language, submission)
            all_mentions.extend(m for m in mentions if m not in all_mentions)
            ctx = Context(submission, extraction.layout, mentions, language, extraction.coverage,
                          extraction.media_kinds, extraction.duration_s, with_text,
                          post_type=post_type, frames=frames, speech_times=speech_times,
                          title_mentions=self._title_mentions(submission, pack, language), handles=handles,
                          screen_texts=screen_texts)
            result = self._region(ctx, pack)
            regions[region] = result
            label = preferred_label(pack, language)
            if result.verdict in ("fail", "warn") and submission.caption is not None and label:
                fixed[region] = corrected_caption(submission.caption, mentions, label)
        return ItemResult(
            id=submission.id, verdict=worst([r.verdict for r in regions.values()]),
            source_file=submission.source_file, platform=submission.platform,
            post_type=post_type, post_type_source=post_type_source,
            relationship=submission.relationship, language=language, language_source=language_source,
            caption=submission.caption, segments=extraction.segments, mentions=all_mentions,
            regions=regions, fixed_caption=fixed, frames=extraction.frames,
        )

    def _title_mentions(self, submission: Submission, pack: ResolvedPack,
                        language: str | None) -> tuple[Mention, ...] | None:
        """Labels, unclear labels and special notices in the declared title, matched like caption text but kept apart
        (their spans are the title's, and a title is not the caption a placement rule measures).
        Matched only for packs with a rule that reads the title: most posts and packs have none."""
        if submission.title is None or not any(rule.check in TITLE_KINDS or getattr(rule.params, "title_counts", False)
                                               for rule in pack.pack.rules):
            return None
        title = Segment(id="title", channel="caption", text=submission.title)
        return tuple(m for m in self.analyzer.mentions([title], pack, language, submission)
                     if m.kind in ("label", "insufficient", "special"))

    def _region(self, ctx: Context, pack: ResolvedPack) -> RegionResult:
        mode, why = applicability(ctx, pack)
        findings = [self._finding(ctx, pack, rule, mode, why) for rule in pack.pack.rules]
        verdict = worst([STATUS_TO_VERDICT[f.status] for f in findings])
        decided = any(CHECKS[f.check].decides_presence and f.status != "not-applicable" for f in findings)
        if mode != "none" and not decided and verdict == "pass":
            # A pass must rest on a rule that looked for the label; a pack without one cannot say so.
            verdict = "inconclusive"
            why += (f"; the {pack.pack.region} pack has no rule that checks for a label here "
                    "(see the pack's not_found), so no pass is claimed")
        return RegionResult(verdict=verdict, pack=pack.ref, applicability=why, findings=findings)

    def _citation(self, pack: ResolvedPack, rule: Rule) -> Citation:
        """A rule's citation in a pack, built once. Keyed by both: a pack that `extends` another
        shares its rules but may redefine the sources they cite (the engine keeps both alive)."""
        key = (id(pack), id(rule))
        citation = self._citations.get(key)
        if citation is None:
            source = pack.pack.sources[rule.source.ref]
            citation = self._citations[key] = Citation(
                title=source.title, publisher=source.publisher, year=source.year,
                section=rule.source.section or source.section, url=source.url, quote=rule.source.quote,
                confidence=source.confidence)
        return citation

    def _finding(self, ctx: Context, pack: ResolvedPack, rule: Rule, mode: str, why: str) -> Finding:
        outcome = _rule_applies(ctx, rule, mode, why)
        if outcome is None:
            outcome = unless_possibly_said(ctx, rule, CHECKS[rule.check].evaluate(ctx, rule))
        status = outcome.status
        if status == "fail" and (rule.severity == "warning" or mode in ("likely", "unsettled")):
            status = "warn"
        failed = status in ("fail", "warn")
        message = outcome.detail
        if failed:
            prefix = "Likely commercial post: " if mode == "likely" else ""
            message = f"{prefix}{rule.message} {outcome.detail}"
        return Finding(
            rule=rule.code, name=rule.name, check=rule.check, pack=pack.ref, status=status, severity=rule.severity,
            message=message, evidence=outcome.evidence,
            coverage=[ctx.coverage[s] for s in rule.scopes if s in ctx.coverage],
            source=self._citation(pack, rule),
            confidence=rule.confidence,
            fix=fix_text(rule.fix, preferred_label(pack, ctx.language)) if failed else None,
        )


def applicability(ctx: Context, pack: ResolvedPack) -> tuple[str, str]:
    """('required' | 'likely' | 'unsettled' | 'none', why) for a post in a region. In 'likely' and
    'unsettled' a rule that fails warns: the post is commercial only probably, or the research does
    not settle whether its relationship needs a label."""
    relationship = ctx.submission.relationship
    if relationship in pack.pack.disclosure_required_for:
        return "required", f"declared relationship '{relationship}' needs a disclosure in {pack.pack.region}"
    if relationship in pack.pack.disclosure_unsettled_for:
        return "unsettled", (f"declared relationship '{relationship}': our {pack.pack.region} research does not "
                             "settle whether it needs a disclosure, so a missing label is a warning")
    if relationship == "unknown":
        signals = [m for m in ctx.mentions if m.kind in ("signal", "brand", "label", "insufficient")
                   and not m.negated]
        presumed = _presumption(pack, signals)
        if presumed:
            basis = pack.pack.presumed_commercial.source
            cited = " ".join(x for x in (pack.pack.sources[basis.ref].title, basis.section) if x)
            return "required", (f"relationship not declared, but {pack.pack.region} treats such a post as commercial "
                                f"({quoted(presumed[:4])}; {cited})")
        if ctx.submission.paid_partnership_tag or signals:
            seen = quoted(signals[:4]) or "the paid-partnership flag"
            return "likely", f"relationship not declared; likely commercial ({seen})"
        return "none", "relationship not declared and no commercial signals found"
    objective = pack.pack.presumed_commercial is not None and pack.pack.presumed_commercial.objective
    if relationship == "none" and objective:
        presumed = _presumption(pack, [m for m in ctx.mentions if m.kind in ("signal", "brand") and not m.negated])
        if presumed:
            return "required", (f"declared no brand connection, but {pack.pack.region}'s trigger is objective: "
                                f"{quoted(presumed[:4])} makes the post an advertisement")
    return "none", f"declared relationship '{relationship}' needs no disclosure in {pack.pack.region}"


def _presumption(pack: ResolvedPack, signals: list[Mention]) -> list[Mention]:
    """The signals that trigger the pack's `presumed_commercial` (none when it has none). Cues of
    the creator's own products never do: the presumption is about a third party's."""
    presumed = pack.pack.presumed_commercial
    if presumed is None:
        return []
    weak = {t.casefold() for t in presumed.not_presumed}  # hints that leave the post only likely commercial
    third_party = [m for m in signals if m.kind in ("signal", "brand") and m.category != "self-promotion"
                   and not (m.cue is None and m.term.casefold() in weak)]
    if "any" in presumed.cues:
        return third_party
    terms = {t.casefold() for t in presumed.signals}
    return [m for m in third_party if m.cue in presumed.cues or (m.cue is None and m.term.casefold() in terms)]


def _rule_applies(ctx: Context, rule: Rule, mode: str, why: str) -> Outcome | None:
    """An outcome when the rule does not apply to this post; None when it does."""
    if mode == "none":
        return Outcome("not-applicable", f"Not applicable: {why}.")
    when = rule.when
    if when and when.platforms and ctx.submission.platform not in when.platforms:
        return Outcome("not-applicable", f"Not applicable on {ctx.submission.platform}.")
    if when and when.relationships and ctx.submission.relationship not in when.relationships:
        return Outcome("not-applicable", f"Not applicable to '{ctx.submission.relationship}' posts.")
    if when and when.post_types and ctx.post_type not in when.post_types:
        return Outcome("not-applicable", f"Not applicable to a {ctx.post_type} post (only to "
                       f"{', '.join(when.post_types)}).")
    if when and when.languages and ctx.language and ctx.language not in when.languages:
        return Outcome("not-applicable", f"Not applicable to content in {language_name(ctx.language)} (only to "
                       f"{', '.join(language_name(code) for code in when.languages)}).")
    if when and when.declares and not any(getattr(ctx.submission, flag) for flag in when.declares):
        return Outcome("not-applicable", f"Not applicable: the post does not declare {' or '.join(when.declares)} "
                       "imagery.")
    if when and when.media:
        kinds = ctx.media_kinds or {"none"}
        if not kinds & set(when.media):
            return Outcome("not-applicable", f"Not applicable: the post has no {' or '.join(when.media)}.")
    return None


# What a fix says where the pack names no label to insert (SG: the research found no wording).
NO_LABEL_NAMED = "a clear statement that the post is an ad (this region's pack names no wording; see its not_found)"


def preferred_label(pack: ResolvedPack, language: str | None) -> str | None:
    """The label `--fix` and a rule's fix insert: the pack's `preferred` for the content language,
    else for the first audience language that has one. None where the pack names none: no label
    is invented for a region whose sources give no wording."""
    vocabulary = pack.pack.vocabulary
    for code in (language, *pack.pack.languages):
        if code in vocabulary and vocabulary[code].preferred and code in pack.pack.languages:
            return vocabulary[code].preferred
    return None


def fix_text(template: str, label: str | None) -> str:
    """A rule's fix with the region's label in place of `{label}`; where the pack names none, a plain
    description of what to write instead of an invented label."""
    return template.replace("{label}", NO_LABEL_NAMED if label is None else label)


def corrected_caption(caption: str, mentions: list[Mention], label: str) -> str:
    """The caption with the region's label first and unclear, disguised or denying words removed."""
    remove = sorted((m.span.start, m.span.end) for m in mentions if m.channel == "caption" and m.span
                    and m.kind in ("label", "insufficient", "denial"))
    kept, cursor = [], 0
    for start, end in remove:
        if start >= cursor:
            kept.append(caption[cursor:start])
            cursor = end
    kept.append(caption[cursor:])
    rest = re.sub(r"[ \t]{2,}", " ", "".join(kept)).strip()
    rest = re.sub(r"^[\s!.,;:|\-–—]+", "", rest)
    separator = " " if label.startswith("#") else " | "
    return f"{label}{separator}{rest}" if rest else label
