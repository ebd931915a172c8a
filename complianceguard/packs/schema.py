"""The rule-pack language, as pydantic models.

A pack is data a lawyer can audit: every rule names its check kind (a few general kinds, as in
Vale), a stable code (as in Ruff), the text shown to users (message, why, example, fix) and the
source it rests on, with a confidence mark. `complianceguard rules schema` prints the JSON Schema.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, SerializeAsAny, ValidationInfo, field_validator,
                      model_validator)

from complianceguard.model import Channel, PostType, Relationship, SpecialFlag
from complianceguard.packs.kinds import CHECKS, CheckParams

# Channel, PostType, Relationship and SpecialFlag live in model.py (the bottom layer) and are part of
# the pack language too: `from complianceguard.packs.schema import Channel` keeps working.

Confidence = Literal["high", "medium", "low", "not-found"]
Severity = Literal["error", "warning"]
KindName = Literal[tuple(CHECKS)]  # the registered check kinds (packs/kinds/), in family order
MediaKind = Literal["video", "image", "audio", "none"]

COMMERCIAL_RELATIONSHIPS: tuple[str, ...] = ("paid", "gifted", "affiliate", "employee", "own-brand")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    """A document a rule rests on: what a lawyer needs to find and read it."""

    title: str
    publisher: str
    year: int | None = None
    section: str | None = None
    url: str
    confidence: Confidence = Field(description="How directly our research saw this text (high = official text).")
    note: str | None = None


class RuleSource(_Strict):
    """A rule's citation: a key into the pack's `sources`, plus the exact section and quote."""

    ref: str
    section: str | None = None
    quote: str | None = None


# A term's `*` standing as a word of its own is a gap: 1 to GAP_MAX_WORDS words, no punctuation
# ("sent me * for free": "sent me this serum for free"). Four words cover a product's name with an
# article and an adjective ("das neue Serum"); our choice, not a figure from the research.
GAP_MAX_WORDS = 4
# Words that stand for one token of a kind, whatever it says: a whole term or one word of it.
TOKEN_PLACEHOLDERS = {"{handle}": "any @handle", "{web-address}": "any web address (glow.com, www.glow.de/shop)",
                      "{number}": "any number written in digits (a year: \"1200 AD\")"}
TERM_FIELDS = ("labels", "insufficient", "denials", "signals", "negators", "not_labels")


def is_gap_term(term: str) -> bool:
    """A term with a word gap ("hat mir * geschenkt"), not a hashtag wildcard ("#*partner")."""
    return "*" in term.split()


class Vocabulary(_Strict):
    """Terms for one language. A bare term also matches its hashtag form (`paid partnership` ->
    `#paidpartnership`); a term written with `#` matches only as a hashtag; `*` inside a hashtag
    term matches any letters (`#*partner` for #[Brand]Partner); `*` as a word of its own between
    words is a gap of 1 to 4 words (`sent me * for free`, `hat mir * geschenkt`); the word
    `{handle}` matches any @handle and `{web-address}` any web address, as a whole term (`{handle}`)
    or inside one (`ganhei da {handle}`: a gift from a tagged account, not from "minha mãe")."""

    labels: list[str] = Field(default_factory=list, description="Accepted disclosure labels.")
    insufficient: list[str] = Field(default_factory=list, description="Labels regulators call unclear.")
    denials: list[str] = Field(default_factory=list, description="Claims that the post is not an ad.")
    signals: list[str] = Field(default_factory=list, description="Commercial signals: codes, 'link in bio'.")
    negators: list[str] = Field(default_factory=list, description="Words that negate a following label.")
    negation_fillers: list[str] = Field(
        default_factory=list, description="Longer words a negator reaches across to the label ('not *being* "
        "sponsored'), besides the short function words it always may.")
    not_labels: list[str] = Field(
        default_factory=list, description="Homonyms: phrases that, where they overlap a label, insufficient label, "
        "denial or signal match, cancel it ('ad hoc', 'worked in advertising', 'pub cachée'). Matched like labels, "
        "in text of any language; never reported themselves.")
    term_confidence: dict[str, Literal["medium", "low"]] = Field(
        default_factory=dict, description="Terms accepted on weaker sources than the pack's canonical labels "
        "('or an equivalent' wordings, our readings): a match of one gets this confidence (medium 0.8, low 0.6 "
        "of the reading's own), shown in the report.")
    cross_language: list[str] = Field(
        default_factory=list, description="Signals, denials and negators of this language that also apply to text "
        "in other languages ('swipe up', 'not sponsored'); the others apply only to text in this language, or to "
        "text whose language is unknown. Labels and insufficient labels apply to text in any language, so that a "
        "label in the wrong language ('#ad' in a German post) is found and judged by the label-language rules.")
    spoken: dict[str, str] = Field(
        default_factory=dict, description="Labels said differently from how they are written: written label "
        "(without case or a leading '#') -> what a speaker says ('ad' -> 'an ad'). Steers speech recognition.")
    not_names: list[str] = Field(
        default_factory=list, description="Ordinary words that are never the advertiser's name after a label that "
        "must name one ('Reklame Mitt nye serum': a possessive), where the language's stop-word list lacks them. "
        "Matched case-insensitively, in text of this language.")
    preferred: str | None = Field(None, description="The label `--fix` inserts for this language.")
    special: dict[SpecialFlag, list[str]] = Field(
        default_factory=dict, description="Labels for declared retouched or AI imagery.")
    audience_only: list[str] = Field(
        default_factory=list, description="Terms of this language (listed in its other fields too) that count "
        "only in packs whose audience `languages` include this language: a pack that extends this one for "
        "another audience does not match them (eu-ucpd's bare Danish 'reklame' is German 'Reklame' too).")
    not_inherited: list[str] = Field(
        default_factory=list, description="Terms of this language (listed in its other fields too) that count "
        "only in this pack itself: a pack that `extends` it does not get them (eu-ucpd used alone reads "
        "'Collaboration commerciale' as the French label; a member pack has its own list).")

    @field_validator(*TERM_FIELDS)
    @classmethod
    def _gaps_between_words(cls, terms: list[str]) -> list[str]:
        """A gap needs words on both sides, one gap per term; a placeholder is a word of its own."""
        for term in terms:
            words = term.split()
            if "*" in words and (words[0] == "*" or words[-1] == "*"):
                raise ValueError(f"{term!r}: a gap `*` needs words before and after it")
            if any(p in term and p not in words for p in TOKEN_PLACEHOLDERS):
                raise ValueError(f"{term!r}: {', '.join(TOKEN_PLACEHOLDERS)} are words of their own")
        return terms

    @model_validator(mode="after")
    def _audience_terms_listed(self) -> Vocabulary:
        listed = {t for f in ("labels", "insufficient", "denials", "signals") for t in getattr(self, f)}
        for field in ("audience_only", "not_inherited"):
            missing = [t for t in getattr(self, field) if t not in listed]
            if missing:
                raise ValueError(f"{field}: {missing[0]!r} is not one of this language's terms")
        return self

    def applies_in(self, term: str, language: str, audience: list[str]) -> bool:
        """Whether `term` of this (`language`) vocabulary counts in a pack with these audience languages."""
        return term not in self.audience_only or language in audience


class DescribedText(_Strict):
    """What a case's media shows or says, and when (no times: visible the whole time, e.g. an image)."""

    text: str
    start_s: float | None = None
    end_s: float | None = None
    height_fraction: float | None = Field(None, gt=0, le=1, description="On-screen text: letter height / frame height.")
    contrast: float | None = Field(None, ge=1, le=21, description="On-screen text: WCAG contrast ratio.")
    frame: int | None = Field(None, ge=1, description="Carousel image / story frame it is on (1-based), for "
                              "posts with `frames`; leave out on a one-frame post.")

    def as_tuple(self) -> tuple:
        return (self.text, self.start_s, self.end_s, self.height_fraction, self.contrast)


class Case(_Strict):
    """An example post a rule must pass or fail; fields not given take the case defaults.

    Video and image rules are tested on *described* media (`overlay`, `speech`) instead of files.
    """

    caption: str
    relationship: Relationship = "paid"
    platform: str = "instagram"
    language: str | None = None
    paid_partnership_tag: bool = False
    retouched: bool = False
    ai_generated: bool = False
    brand: str | None = None
    media: MediaKind | None = None
    duration_s: float | None = Field(None, gt=0)
    overlay: list[DescribedText] = Field(default_factory=list)
    speech: list[DescribedText] = Field(default_factory=list)
    post_type: PostType | None = Field(None, description="What the post is; left out: inferred from the media.")
    title: str | None = Field(None, description="The post's title as published (YouTube, a podcast episode).")
    thumbnail: str | None = Field(None, description="A thumbnail file name: declared, not read (its text is unknown).")
    frames: int | None = Field(None, ge=1, le=100, description="Number of images (carousel) or frames (story), "
                               "each a file of kind `media`; `overlay[].frame` says which one a text is on.")
    status: Literal["fail", "warn"] | None = Field(None, description="A fail case's exact status, where FAIL and "
                                                   "WARN differ in law (e.g. a presumed commercial link); left out: "
                                                   "either.")
    note: str | None = None

    @model_validator(mode="after")
    def _frames_exist(self) -> Case:
        for item in [*self.overlay, *self.speech]:
            if item.frame is not None and (self.frames is None or item.frame > self.frames):
                raise ValueError(f"frame {item.frame} of {item.text!r} is not one of the case's frames "
                                 f"({self.frames or 'none declared'})")
        if self.frames is not None and self.media in (None, "none"):
            raise ValueError("a case with `frames` needs `media` (image, video or audio)")
        return self


def _coerce_case(value: Any) -> Any:
    return {"caption": value} if isinstance(value, str) else value


class Cases(_Strict):
    pass_: list[Case] = Field(default_factory=list, alias="pass")
    fail: list[Case] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("pass_", "fail", mode="before")
    @classmethod
    def _strings_are_captions(cls, value: Any) -> Any:
        return [_coerce_case(v) for v in value] if isinstance(value, list) else value


class Example(_Strict):
    bad: str
    good: str


class When(_Strict):
    """Narrows where a rule applies beyond the pack's `disclosure_required_for`."""

    platforms: list[str] | None = None
    relationships: list[Relationship] | None = None
    media: list[MediaKind] | None = Field(None, description="The post must carry one of these kinds of media.")
    post_types: list[PostType] | None = Field(None, description="The post must be one of these post types "
                                              "(declared, or inferred from its media).")
    languages: list[str] | None = Field(None, description="The content must be in one of these languages "
                                        "(declared or detected); content whose language is unknown is included.")
    declares: list[SpecialFlag] | None = Field(None, description="The post must declare one of these kinds of "
                                               "imagery (`retouched`, `ai_generated`): NO's retouch mark for the "
                                               "whole film applies to retouched ads only.")


class Rule(_Strict):
    code: str = Field(pattern=r"^[A-Z]{2,6}[0-9]{3}$", description="Stable code, never reused.")
    name: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    check: KindName
    scopes: list[Channel] = Field(default_factory=lambda: ["caption"])
    params: SerializeAsAny[CheckParams] = Field(
        default_factory=dict, validate_default=True,
        description="The check kind's params: see the `if check ... then params` conditions of this schema.")
    severity: Severity = "error"
    when: When | None = None
    message: str = Field(description="What is wrong, shown when the rule is not met.")
    why: str
    example: Example
    fix: str = Field(description="The exact fix; `{label}` is replaced by the pack's preferred label.")
    source: RuleSource
    confidence: Confidence
    cases: Cases = Field(default_factory=Cases)

    @field_validator("params", mode="before")
    @classmethod
    def _typed_params(cls, value: Any, info: ValidationInfo) -> Any:
        """Validate the params against the rule's check kind (errors point into `params`)."""
        check = info.data.get("check")
        if check is None:  # the check itself is wrong, and that is the error reported
            return CheckParams()
        model = CHECKS[check].params
        return value if isinstance(value, model) else model.model_validate(value)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        """`params` as an object, typed by `check`: one `if`/`then` per kind, each kind's params in `$defs`."""
        schema = handler.resolve_ref_schema(handler(core_schema))
        schema["properties"]["params"] = {"type": "object", "description": schema["properties"]["params"]
                                          .get("description", "")}
        schema["allOf"] = [
            {"if": {"properties": {"check": {"const": name}}, "required": ["check"]},
             "then": {"properties": {"params": handler(kind.params.__pydantic_core_schema__)}}}
            for name, kind in CHECKS.items()]
        return schema


class PresumedCommercial(_Strict):
    """Where the law presumes the commercial link, or makes the trigger objective: a post whose
    relationship is not declared but that shows these commercial cues is judged as commercial
    (a missing label FAILs) instead of "likely commercial" (WARN)."""

    cues: list[str] = Field(description="Commercial cue ids (complianceguard/data/commercial.yaml) that trigger "
                            "the presumption, or [any] for every cue of a third party's product and a tagged brand.")
    signals: list[str] = Field(default_factory=list, description="Vocabulary signal terms (as the vocabulary "
                               "writes them, e.g. 'kortingscode') that trigger it too.")
    not_presumed: list[str] = Field(
        default_factory=list, description="Vocabulary signal terms that make an undeclared post only likely "
        "commercial (WARN), even with `cues: [any]`: hints the source does not treat as the trigger (DE: a bare "
        "'{handle}' tag, BGH I ZR 125/20).")
    objective: bool = Field(
        False, description="The trigger is objective: it reaches posts declared `none` too (CN: a review with a "
        "shopping link is an ad 'whatever the creator says about payment').")
    why: str = Field(description="The legal presumption or objective trigger, in the pack's words.")
    source: RuleSource
    confidence: Confidence


class NotFound(_Strict):
    """A question our research looked into and found no answer for: recorded, not invented."""

    topic: str
    note: str


class Pack(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    name: str
    region: str | None = Field(None, description="ISO 3166-1 alpha-2 or EU; none for abstract packs.")
    abstract: bool = Field(False, description="A base other packs extend; never selected by region.")
    extends: str | None = None
    languages: list[str] = Field(default_factory=list, description="Languages of the audience.")
    updated: dt.date | None = Field(None, description="Date of the newest source the pack follows.")
    disclosure_required_for: list[Relationship] = Field(
        default_factory=lambda: list(COMMERCIAL_RELATIONSHIPS)
    )
    disclosure_unsettled_for: list[Relationship] = Field(
        default_factory=list, description="Relationships the pack's research neither requires a disclosure for "
        "nor exempts (say why in `not_found`): a post declaring one is checked, but a missing or weak label is "
        "a warning, never a fail and never a silent pass (e.g. an employee posting about the employer's product "
        "where no source speaks of employees).")
    sources: dict[str, Source] = Field(default_factory=dict)
    vocabulary: dict[str, Vocabulary] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    disable: list[str] = Field(default_factory=list, description="Inherited rule codes to drop.")
    presumed_commercial: PresumedCommercial | None = Field(
        None, description="Undeclared posts with these cues are judged as commercial (FAIL, not WARN).")
    not_found: list[NotFound] = Field(default_factory=list)

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The pydantic schema, with each check kind's params under its own name in `$defs`
        (`LiveRepeatParams`), referred to from the rule's `if check ... then params` conditions."""
        schema = super().model_json_schema(*args, **kwargs)
        defs = schema.get("$defs", {})
        for condition in defs.get("Rule", {}).get("allOf", []):
            params = condition["then"]["properties"]["params"]
            if "title" in params:
                defs[params["title"]] = params
                condition["then"]["properties"]["params"] = {"$ref": f"#/$defs/{params['title']}"}
        schema["$defs"] = dict(sorted(defs.items()))
        return schema

    @model_validator(mode="after")
    def _relationship_lists_apart(self) -> Pack:
        both = sorted(set(self.disclosure_required_for) & set(self.disclosure_unsettled_for))
        if both:
            raise ValueError(f"disclosure_unsettled_for: {both[0]!r} is in disclosure_required_for too")
        return self

    @model_validator(mode="after")
    def _region_unless_abstract(self) -> Pack:
        if not self.abstract and not self.region and not self.extends:
            raise ValueError("a pack that is not abstract needs a region (or `extends` a region pack)")
        return self
