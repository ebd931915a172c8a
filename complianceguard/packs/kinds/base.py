"""What every check kind shares: the registry, the params base model, the context and the outcome.

A check kind is a function registered with `@check_kind(name, Params)`: it reads a `Context` (the
post, its caption layout, the pack's mentions, what was read) and its rule's typed params, and
returns an `Outcome` (a status, a plain-words detail and the evidence). Checks never decide
applicability or severity; the engine does, from the pack.

Its docstring is its documentation (the packs README table and `rules show` print it), in three
paragraphs: "Passes when ...", "Not applicable when ..." and "Params: ...".
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any

import pycountry
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, Strict, WithJsonSchema, model_serializer

from complianceguard.model import Coverage, Evidence, Mention, OverlayInfo, TimeSpan

if TYPE_CHECKING:
    from complianceguard.extract.caption import CaptionLayout
    from complianceguard.model import Submission
    from complianceguard.packs.schema import Rule


# --- params -------------------------------------------------------------------------------------

def _number(what: str) -> Callable[[Any], float]:
    def validate(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"must be {what} (got {type(value).__name__})")
        if value < 0:
            raise ValueError("seconds must not be negative" if what == "a number of seconds"
                             else "must not be negative")
        return value  # an int stays an int: the pack's `30` is shown as 30, not 30.0
    return validate


# Seconds and other non-negative numbers, as written in the pack (int or float, never a bool).
Seconds = Annotated[float, PlainValidator(_number("a number of seconds")),
                    WithJsonSchema({"type": "number", "minimum": 0})]
Number = Annotated[float, PlainValidator(_number("a number")), WithJsonSchema({"type": "number", "minimum": 0})]
Count = Annotated[int, Strict(), Field(ge=0)]
Flag = Annotated[bool, Strict()]


class ParamsModel(BaseModel):
    """Frozen, no unknown keys; dumps only what the pack wrote (a rule's params read back as written)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_serializer(mode="wrap")
    def _as_written(self, handler: Any) -> dict[str, Any]:
        data = handler(self)
        return {k: v for k, v in data.items() if k in self.model_fields_set}


class CheckParams(ParamsModel):
    """The params of one check kind; each kind subclasses it."""


class NoParams(CheckParams):
    """This kind takes no params."""


# --- the registry -------------------------------------------------------------------------------

SECTIONS = ("Passes when", "Not applicable when", "Params:")


@dataclass(frozen=True)
class CheckKind:
    name: str
    run: Callable[..., Outcome]  # (ctx, rule, params) -> Outcome
    params: type[CheckParams]
    family: str  # the module it lives in: label, placement, platform, timing, speech, frames
    seeks_label: bool = False  # fails for want of a label: a label only possibly said makes it inconclusive
    decides_presence: bool = False  # a region's pass rests on one such rule having looked for the label
    # Status -> the message the kind gives word for word in the common case (None: not declared).
    # The report's rule catalogue lists them (`outcomes`) and such findings keep no detail.
    usual: Mapping[str, str] | None = None

    def evaluate(self, ctx: Context, rule: Rule) -> Outcome:
        return self.run(ctx, rule, rule.params)

    @property
    def doc(self) -> dict[str, str]:
        """{"Passes when": ..., "Not applicable when": ..., "Params:": ...} from the docstring
        (each section's text runs on after its heading words, joined into one line)."""
        text = inspect.cleandoc(self.run.__doc__ or "")
        found: dict[str, str] = {}
        for paragraph in text.split("\n\n"):
            line = " ".join(paragraph.split())
            for section in SECTIONS:
                if line.startswith(section):
                    found[section] = line[len(section):].strip()
        return found


CHECKS: dict[str, CheckKind] = {}


def check_kind(name: str, params: type[CheckParams] = NoParams, *, seeks_label: bool = False,
               decides_presence: bool = False, usual: Mapping[str, str] | None = None,
               ) -> Callable[[Callable[..., Outcome]], Callable[..., Outcome]]:
    """Register a check function as the kind `name`, with its params model and its `usual`
    messages ({} where every message it gives varies with the post)."""

    def register(run: Callable[..., Outcome]) -> Callable[..., Outcome]:
        if name in CHECKS:
            raise ValueError(f"check kind {name!r} registered twice")
        CHECKS[name] = CheckKind(name, run, params, run.__module__.rpartition(".")[2], seeks_label,
                                 decides_presence, MappingProxyType(dict(usual)) if usual is not None else None)
        return run

    return register


def params_problem(check: str | None, loc: tuple[Any, ...], error: dict[str, Any]) -> str:
    """One line for a pydantic error inside a rule's params (`loc` is below `params`)."""
    kind = CHECKS.get(check or "")
    name = ".".join(str(p) for p in loc)
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden" and len(loc) == 1:
        allowed = ", ".join(kind.params.model_fields) if kind else ""
        return f"unknown param {name!r} for check {check} (allowed: {allowed or 'none'})"
    if error.get("type") == "missing" and len(loc) == 1:
        return f"check {check} needs param {name!r}"
    if not loc:
        return message
    if message.startswith("Input should be "):
        message = "must be " + message.removeprefix("Input should be ")
        if str(error.get("type", "")).endswith(("_type", "_parsing")):
            message += f" (got {type(error.get('input')).__name__})"
        return f"param {name!r} {message}"
    return f"param {name!r}: {message}"


# --- what a check reads and returns ---------------------------------------------------------------

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
    # Labels and unclear labels found in the declared title (kept apart from the caption's: their
    # spans are the title's); None when the submission declares no title (or no rule reads it).
    title_mentions: tuple[Mention, ...] | None = None
    # (channel, "@handle") for every handle tagged in the post's text, caption or on screen: an
    # advertiser named by its handle (`needs_advertiser: post`) wherever the rule reads.
    handles: tuple[tuple[str, str], ...] = ()
    # Every on-screen text measured (segment id, media, when, its size and contrast), labels or not:
    # what a label's size is compared with ("small next to the surrounding text").
    screen_texts: tuple[tuple[str, str | None, TimeSpan | None, OverlayInfo], ...] = ()

    def labels(self, scopes: list[str]) -> list[Mention]:
        """Accepted labels that count: not negated, not disguised, not tentative, in the given channels."""
        return [m for m in self.mentions if m.kind == "label" and m.channel in scopes and not m.negated
                and not m.disguise and not m.tentative]

    def title_labels(self) -> list[Mention]:
        """Accepted labels in the declared title (not negated or disguised); none without a title."""
        return [m for m in self.title_mentions or () if m.kind == "label" and not m.negated and not m.disguise]

    def tentative_labels(self, scopes: list[str]) -> list[Mention]:
        """Labels only possibly said (a reading verified by rescoring): they can neither pass nor fail a rule."""
        return [m for m in self.mentions if m.kind == "label" and m.channel in scopes and not m.negated
                and m.tentative]

    def of_kind(self, kind: str, scopes: list[str]) -> list[Mention]:
        return [m for m in self.mentions if m.kind == kind and m.channel in scopes and not m.negated]


@dataclass(frozen=True)
class Outcome:
    status: str  # pass | fail | warn | inconclusive | not-applicable
    detail: str
    evidence: list[Evidence] = field(default_factory=list)


# --- helpers the families share -------------------------------------------------------------------

CHANNEL_WORDS = {"caption": "caption", "overlay": "on-screen text", "speech": "speech", "metadata": "platform flag"}
TIMING_TOLERANCE_S = 0.05  # sampling and rounding slack when comparing durations


def evidence_of(mention: Mention, reason: str | None = None) -> Evidence:
    """A mention as evidence, with how it was found: the line it was found in as the evidence's
    `context`; why the check shows it (`reason`: negated, ...) and how the mention was judged (its
    `why`: a cue's, the model's or a read's score, a possibly-said reading) as its `reason`."""
    reasons = [r for r in (reason, mention.why) if r]
    return Evidence(channel=mention.channel, kind=mention.kind, text=mention.text, span=mention.span,
                    time=mention.time, term=mention.term, confidence=mention.confidence, matcher=mention.matcher,
                    pack=mention.pack, score=mention.score, context=mention.context,
                    disguise=list(mention.disguise), reason="; ".join(reasons) or None,
                    media=mention.media, overlay=mention.overlay)


def title_evidence(labels: list[Mention]) -> list[Evidence]:
    """Title labels as evidence: metadata (the title is declared, not read from the media)."""
    return [evidence_of(m, "in the title").model_copy(update={"channel": "metadata", "kind": "title label"})
            for m in labels]


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


def searched(ctx: Context, scopes: list[str]) -> str:
    read = [ctx.coverage[s].detail for s in scopes if s in ctx.coverage and ctx.coverage[s].read]
    return "; ".join(read) or "nothing readable"


def unread(ctx: Context, scopes: list[str]) -> list[Coverage]:
    return [ctx.coverage[s] for s in scopes if s in ctx.coverage and not ctx.coverage[s].read]


def merged(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1] + TIMING_TOLERANCE_S:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
