"""The vocabulary of the data flow, as frozen pydantic models.

Submission -> Segment -> Mention -> Finding -> RegionResult -> ItemResult -> Report.
Each stage points back at the one before (a mention names its segment, a finding carries the
mentions that decided it), so a report can show exactly what was read and where.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The bottom layer: this module imports nothing from the package (tests/test_imports.py).
# Where a disclosure can be read, what a post is (declared, or inferred: see post_type_of) and
# the brand relationship; the pack schema (packs/schema.py) uses the same names.
Channel = Literal["caption", "overlay", "speech", "metadata"]
PostType = Literal["feed", "carousel", "story", "video", "live", "audio"]
Relationship = Literal["paid", "gifted", "affiliate", "employee", "own-brand", "none", "unknown"]
SpecialFlag = Literal["retouched", "ai_generated"]  # imagery a post declares (Submission.retouched, .ai_generated)

REPORT_SCHEMA_VERSION = "2.3"  # 2.1: Evidence.note split (context, disguise, reason, duration_s), provenance;
# 2.2: Mention.why (how a cue, the model, a read or a possibly-said reading was judged) apart from its `context`;
# 2.3: a region's `na_rest` (its `na` list is every catalogue rule it lists nowhere else)

Platform = Literal[
    "instagram", "tiktok", "youtube", "youtube-shorts", "facebook", "x", "linkedin", "twitch", "other"
]
Verdict = Literal["pass", "fail", "warn", "inconclusive", "error"]
Status = Literal["pass", "fail", "warn", "inconclusive", "not-applicable"]
MentionKind = Literal["label", "insufficient", "denial", "signal", "brand", "special"]
MatcherKind = Literal["phrase", "pattern", "fuzzy", "cue", "model", "brand", "read"]

# Worst first: an item or region takes the worst verdict of its parts.
VERDICT_ORDER: tuple[str, ...] = ("error", "fail", "inconclusive", "warn", "pass")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Submission(_Frozen):
    """One post as the brand or creator declared it."""

    id: str
    platform: Platform = "other"
    regions: list[str]
    language: str | None = None
    caption: str = ""
    media: list[str] = Field(default_factory=list, description="Paths, already confined to the batch root, in "
                             "the post's order (carousel images, story frames).")
    post_type: PostType | None = Field(None, description=(
        "feed | carousel | story | video | live | audio. Not declared: inferred from the media (post_type_of)."))
    title: str | None = Field(None, description="The post's title as published (a YouTube video, a podcast "
                              "episode): read for labels where a pack asks for one in the title.")
    thumbnail: str | None = Field(None, description="Path of the post's thumbnail image, confined like media. "
                                  "Declared only: its on-screen text is not read yet, so a rule that would need it "
                                  "is inconclusive.")
    relationship: Relationship = "unknown"
    brand: str | None = None
    brand_handles: list[str] = Field(default_factory=list)
    paid_partnership_tag: bool = False
    retouched: bool = False
    ai_generated: bool = False
    source_file: str | None = Field(None, description="The manifest the post came from.")


class CharSpan(_Frozen):
    start: int
    end: int


class TimeSpan(_Frozen):
    start_s: float
    end_s: float


class OverlayInfo(_Frozen):
    """Where on-screen text is and how visible it is: what a reviewer needs to judge prominence."""

    box: list[int] = Field(description="x, y, width, height in frame pixels.")
    frame_width: int
    frame_height: int
    text_height_px: int = Field(description="Height of the tallest letters, in frame pixels.")
    height_fraction: float = Field(description="text_height_px / frame_height.")
    contrast_ratio: float = Field(description="WCAG 2.x contrast of the text against the pixels around it (1-21).")
    position: str = Field(description="Screen position by thirds, e.g. bottom-right.")
    frame_s: float | None = Field(None, description="Time of the frame the reading comes from (videos).")
    reader: str = Field(description="tesseract or rapidocr: which OCR engine gave the text.")


class Segment(_Frozen):
    """A piece of text with provenance; every later stage points back at segments."""

    id: str
    channel: Channel
    text: str
    media: str | None = None
    time: TimeSpan | None = None
    confidence: float = 1.0
    overlay: OverlayInfo | None = None
    tentative: str | None = Field(None, description="Set on a reading that was not what the reader wrote down "
                                  "(a disclosure verified by rescoring): why it is only possible. Labels in it "
                                  "never pass a rule; they make a missing label inconclusive.")
    language: str | None = Field(None, description="The segment's own language where its reader told it (the "
                                 "language Whisper detected in speech), as a pack vocabulary code; None: the "
                                 "post's content language.")


class Mention(_Frozen):
    """A vocabulary term found in a segment (label, insufficient label, denial, signal)."""

    kind: MentionKind
    term: str = Field(description="The pack vocabulary term that matched.")
    language: str = Field(description="The vocabulary language the term belongs to.")
    pack: str | None = Field(None, description="The pack (id@version) whose vocabulary has the term; None for "
                             "the commercial cues, the trained signal and brand names.")
    matcher: MatcherKind | None = Field(None, description="How it was found: phrase (a vocabulary phrase, "
                                        "exactly), pattern (a token pattern: {advertiser}, a #wild*card, a Korean "
                                        "stem, a discount code), fuzzy (approximately, in speech or on-screen "
                                        "text), cue (a commercial cue), model (the trained signal), brand (the "
                                        "declared brand's name or handle), read (a timed sponsor read).")
    score: float | None = Field(None, description="The matcher's raw score where it has one: the fuzzy ratio "
                                "(0-100) against the term; `confidence` is what the rules weigh.")
    brand: str | None = Field(None, description="For a spoken sponsor read: the brand it promotes, as heard.")
    segment: str
    channel: Channel
    text: str = Field(description="The text as written in the original, at `span`.")
    span: CharSpan | None = None
    time: TimeSpan | None = None
    confidence: float = 1.0
    negated: bool = False
    cue: str | None = Field(None, description="For commercial-cue signals: the cue id in data/commercial.yaml.")
    category: str | None = Field(None, description="For special labels: retouched | ai_generated. For signals: "
                                 "self-promotion (commercial only through the creator's own products).")
    context: str | None = Field(None, description="The whole transcript line or on-screen text it was found in "
                                "(`span` indexes it); None in the caption and for a sponsor read.")
    why: str | None = Field(None, description="How it was judged, where a score or a doubt stands behind it: a "
                            "cue's or the trained model's score, a sponsor read's, why a reading is only possibly "
                            "said (`tentative`). Evidence gives it as its `reason`.")
    disguise: list[str] = Field(default_factory=list, description="Look-alike or invisible characters inside.")
    media: str | None = None
    overlay: OverlayInfo | None = None
    tentative: bool = Field(False, description="Found in a tentative segment: possibly said, to be confirmed.")


class Evidence(_Frozen):
    """What a finding rests on: where it was seen, as written, how it was found, and why it is shown.

    Each of `context`, `disguise`, `reason` and `duration_s` says one thing (schema 2.1; a 1.0 or
    2.0 report's `note` said any of them, and is read back as `context` or `reason`)."""

    channel: Channel
    kind: str = Field(description="What it is: the mention's kind (label, insufficient, denial, signal, brand, "
                      "special), or a stretch or place a rule measured: window, gap, break, missing-label, "
                      "not-read, title, platform-tool, possible label.")
    text: str
    span: CharSpan | None = None
    time: TimeSpan | None = Field(None, description="When it was seen or said; for a window, gap or break: the "
                                  "stretch of the media itself.")
    media: str | None = None
    term: str | None = Field(None, description="The pack vocabulary term (or cue, brand) that matched.")
    confidence: float = 1.0
    matcher: MatcherKind | None = Field(None, description="How the mention was found (Mention.matcher).")
    pack: str | None = Field(None, description="The pack (id@version) whose vocabulary has `term`.")
    score: float | None = Field(None, description="The matcher's raw score (Mention.score: a fuzzy ratio, 0-100).")
    context: str | None = Field(None, description="The transcript line or on-screen text the match was found in "
                                "(for speech and on-screen text, `span` indexes it).")
    disguise: list[str] = Field(default_factory=list, description="Look-alike or invisible characters inside.")
    reason: str | None = Field(None, description="Why it is shown, or why it does not count: negated, counts "
                               "only for some posts, a frame without a label, a gap, what a window asks for, "
                               "or how a cue, the trained model, a sponsor read or a possibly-said reading "
                               "was judged.")
    duration_s: float | None = Field(None, description="For a window, gap or break: the length of the media "
                                     "it lies in (what a timeline is drawn to).")
    overlay: OverlayInfo | None = None
    thumbnail: str | None = Field(None, description="The frame with the box drawn, beside the report.")
    frame: int | None = Field(None, description="Position (1-based) of the carousel image or story frame in the "
                              "post's media, for per-frame evidence.")


class Citation(_Frozen):
    title: str
    publisher: str
    year: int | None = None
    section: str | None = None
    url: str
    quote: str | None = None
    confidence: str


class Coverage(_Frozen):
    """What was searched for this finding, and whether it could be read."""

    channel: Channel
    read: bool
    detail: str


class Finding(_Frozen):
    rule: str
    name: str
    check: str
    pack: str
    status: Status
    severity: str
    message: str
    evidence: list[Evidence] = Field(default_factory=list)
    coverage: list[Coverage] = Field(default_factory=list)
    source: Citation
    confidence: str
    fix: str | None = None


class RegionResult(_Frozen):
    verdict: Verdict
    pack: str
    applicability: str = Field(description="Why the region's rules did or did not apply.")
    findings: list[Finding] = Field(default_factory=list)


class ItemResult(_Frozen):
    id: str
    verdict: Verdict
    source_file: str | None = None
    platform: str | None = None
    post_type: str | None = Field(None, description="Declared, or inferred from the media (see post_type_source).")
    post_type_source: str | None = None
    relationship: str | None = None
    language: str | None = Field(None, description="Content language, declared or detected.")
    language_source: str | None = None
    caption: str | None = None
    segments: list[Segment] = Field(default_factory=list)
    mentions: list[Mention] = Field(default_factory=list)
    regions: dict[str, RegionResult] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list)
    fixed_caption: dict[str, str] = Field(default_factory=dict)
    frames: dict[str, int] = Field(default_factory=dict, description=(
        "OCR work on video frames and images: in_media, sampled, ocred."))


class PackRef(_Frozen):
    id: str
    version: str
    region: str | None = None  # None for abstract packs (omitted from the JSON, like every None)
    sha256: str
    path: str


class ToolInfo(_Frozen):
    name: str
    version: str


class RuleInfo(_Frozen):
    """A rule as the report's catalogue (`rules`, schema 2.0) holds it: what every finding of the rule
    shares. `message` and `fix` are the pack's templates (`{label}`: the region's preferred label)."""

    name: str
    check: str
    severity: str
    confidence: str
    scopes: list[str] = Field(default_factory=list, description="The channels whose coverage the rule reports.")
    when: dict[str, list[str]] | None = Field(None, description="Where the rule applies (platforms, languages, "
                                              "relationships, post_types, media).")
    message: str | None = None
    fix: str | None = None
    outcomes: dict[str, str] | None = Field(None, description="Status -> the check's usual message.")
    source: Citation


class Report(_Frozen):
    schema_version: str = REPORT_SCHEMA_VERSION
    tool: ToolInfo
    generated_at: str
    notice: str
    options: dict[str, object] = Field(default_factory=dict)
    packs: list[PackRef] = Field(default_factory=list)
    inputs: list[dict[str, str]] = Field(default_factory=list, description="Each input file and its SHA-256.")
    summary: dict[str, int] = Field(default_factory=dict)
    errors: list[str] = Field(default_factory=list, description="Input errors that produced no item.")
    rules: dict[str, dict[str, RuleInfo]] = Field(default_factory=dict, description=(
        "The rule catalogue (schema 2.0): pack ref -> rule code -> what its findings share."))
    items: list[ItemResult] = Field(default_factory=list)


def post_type_of(submission: Submission, media_kinds: list[str | None]) -> tuple[str, str]:
    """(post type, how it was decided). A declared `post_type` wins; otherwise, from the media in
    order: any video -> video; audio and nothing else -> audio; two or more images -> carousel;
    one image or no media -> feed. Stories and live recordings cannot be told from the files, so
    they are only ever declared."""
    if submission.post_type:
        return submission.post_type, "declared"
    kinds = [k for k in media_kinds if k]
    if "video" in kinds:
        inferred = "video"
    elif kinds and set(kinds) == {"audio"}:
        inferred = "audio"
    elif kinds.count("image") >= 2:
        inferred = "carousel"
    else:
        inferred = "feed"
    return inferred, "inferred from the media"


def worst(verdicts: list[str]) -> str:
    """The worst of several verdicts (error > fail > inconclusive > warn > pass)."""
    for verdict in VERDICT_ORDER:
        if verdict in verdicts:
            return verdict
    return "pass"
