"""Report schema 2.x: the rule catalogue, compact items, and the expansion every writer reads.

A 2.x report.json carries each rule once, in the header's `rules` (pack ref -> rule code -> name,
check, severity, confidence, scopes, message and fix templates, source citation). An item keeps
only what varies:

- `coverage` once per item (what each channel's reading was); a finding's coverage is the item's
  entries for the rule's `scopes`;
- a finding is its `rule` code and `status`, plus `detail` (its message is the rule's template,
  then the detail, for a fail or warn; the detail alone otherwise), `likely` (the "Likely
  commercial post: " prefix), `evidence`, `reviews`, and `fix` only when it is not the template
  with the region's `label`; `detail_from_evidence` (2.3) stands for a detail that is the first
  evidence's text in quotes and its reason ("'#werbung': it is hashtag number 3."), said twice before;
- caption evidence that is one of the item's mentions as it was found is `{"mention": <index>}`
  (and its `reason`) (2.3): a label's match is written once, not once per rule that reads it;
- a finding that is only its code and status goes in one of its region's lists: `na` (not
  applicable for the region's reason, "Not applicable: <applicability>."), `na_when` (left out by
  the rule's `when`, worded from the item's platform, relationship and post type) or `usual`
  (status -> codes: the message is the kind's usual one, the rule's `outcomes`). Findings are in
  the pack's rule order, which the catalogue keeps, so the lists merge back in place; `na_rest`
  (2.3) stands for an `na` list that holds every catalogue rule of the pack the region lists
  nowhere else (a region whose post needs no disclosure is that one word, not its 15 codes);
- caption evidence and mentions leave out the text at their span (the caption has it), the
  caption segment its text, evidence of the region's own vocabulary its `pack` (2.1), and
  segments, mentions and evidence their defaults;
- 2.1 split 2.0's evidence `note` into `context`, `disguise`, `reason` and `duration_s` (and
  added `matcher`, `pack`, `score`); a 1.0 or 2.0 report's notes are read as 2.1's fields
  (`upgraded_evidence`), so `report render` still reads every older report;
- 2.2 added a mention's `why` (how a cue, the model, a read or a possibly-said reading was
  judged), apart from its `context` (the line it is in); 2.3 `na_rest`, `detail_from_evidence` and
  evidence by `mention`;
- anything that is not what the catalogue gives (another name, source, coverage, message, order)
  is kept in the finding as it is: compaction checks every finding against its expansion, so 2.0
  is lossless whatever the engine writes.

`compact_item` turns a 1.0 item (the engine's ItemResult as a JSON dict) into the 2.0 form,
`expand_item` the way back; writers, `report render` and the API read the expanded form (the
engine's models), so their output does not depend on the schema's shape.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

if TYPE_CHECKING:
    from complianceguard.model import ItemResult
    from complianceguard.packs.loader import PackLibrary, ResolvedPack

Catalogue = dict[str, dict[str, dict[str, Any]]]  # pack ref -> rule code -> RuleInfo as a JSON dict

SCHEMA_PATH = Path(__file__).parent / "schema" / "report-2.0.schema.json"
FAILED = ("fail", "warn")
LIKELY = "Likely commercial post: "
NA = "not-applicable"
WHY = "_why"  # while compacting: a not-applicable finding's message is the region's reason or the rule's `when`
_FINDING_KEYS = ("rule", "name", "check", "pack", "status", "severity", "message", "evidence", "coverage",
                 "source", "confidence", "fix", "reviews")
_FINDING_KEY_SET = frozenset(_FINDING_KEYS)
# A finding with every key the engine writes (and no other) is given back whole by the steps of
# `_compact_finding` one by one, so only others pay for expanding it again to check (a third of
# writing an item): those are where something the catalogue cannot say could be lost.
_ENGINE_FINDING_KEYS = frozenset(_FINDING_KEYS) - {"fix", "reviews"}


# ------------------------------------------------------------------------------ the catalogue


def citation(pack: ResolvedPack, rule: Any) -> dict[str, Any]:
    """A rule's citation in a pack, as the engine builds it (engine.Engine._citation)."""
    from complianceguard.model import Citation

    source = pack.pack.sources[rule.source.ref]
    return Citation(title=source.title, publisher=source.publisher, year=source.year,
                    section=rule.source.section or source.section, url=source.url, quote=rule.source.quote,
                    confidence=source.confidence).model_dump(mode="json", exclude_none=True)


def pack_catalogue(pack: ResolvedPack) -> dict[str, dict[str, Any]]:
    """Every rule of a (resolved) pack, in the pack's order: what its findings share."""
    out: dict[str, dict[str, Any]] = {}
    for rule in pack.pack.rules:
        try:
            source = citation(pack, rule)
        except KeyError:
            continue  # a rule citing an unknown source: its findings keep their own
        entry: dict[str, Any] = {"name": rule.name, "check": rule.check, "severity": rule.severity,
                                 "confidence": rule.confidence, "scopes": list(rule.scopes)}
        if rule.when is not None:
            when = rule.when.model_dump(mode="json", exclude_none=True)
            if when:
                entry["when"] = when
        entry.update(message=rule.message, fix=rule.fix)
        outcomes = kind_outcomes().get(rule.check)
        if outcomes:
            entry["outcomes"] = dict(outcomes)
        entry["source"] = source
        out[rule.code] = entry
    return out


def kind_outcomes() -> dict[str, dict[str, str]]:
    """Each registered check kind's usual messages, by status, as the kind declares them
    (`@check_kind(..., usual=...)`, complianceguard/packs/kinds): a rule's catalogue entry lists
    them as `outcomes`, and a finding with that message keeps no `detail`. Only a dictionary: a
    finding worded otherwise keeps its detail, so 2.x stays lossless whatever a kind returns."""
    from complianceguard.packs.kinds import CHECKS

    return {name: dict(kind.usual or {}) for name, kind in CHECKS.items()}


def library_catalogue(library: PackLibrary, refs: Iterable[str]) -> Catalogue:
    """The catalogue of the region packs named (refs like 'gb-asa@1.0.0'), in first-use order."""
    out: Catalogue = {}
    for ref in dict.fromkeys(refs):
        try:
            resolved = library.get(ref.split("@")[0])
        except Exception:  # noqa: BLE001 - a pack not in this library: its findings stay whole
            continue
        if resolved.ref == ref:
            out[ref] = pack_catalogue(resolved)
    return out


def derived_catalogue(items: Iterable[Mapping[str, Any]]) -> Catalogue:
    """A catalogue from findings alone (a 1.0 report has none): each rule as first seen, with no
    templates; the findings keep their messages and fixes."""
    out: Catalogue = {}
    for item in items:
        for region in (item.get("regions") or {}).values():
            for f in region.get("findings", []):
                rules = out.setdefault(f["pack"], {})
                if f["rule"] not in rules:
                    rules[f["rule"]] = {"name": f["name"], "check": f["check"], "severity": f["severity"],
                                        "confidence": f["confidence"],
                                        "scopes": [c["channel"] for c in f.get("coverage", [])],
                                        "source": f["source"]}
    return out


def catalogue_of(report: Any) -> Catalogue:
    """A Report's `rules` as plain JSON dicts (what compact_item and expand_item take)."""
    return {ref: {code: info.model_dump(mode="json", exclude_none=True) for code, info in rules.items()}
            for ref, rules in (report.rules or {}).items()}


def merged(catalogue: Catalogue, extra: Catalogue) -> Catalogue:
    """`catalogue` with the rules of `extra` it lacks (a derived catalogue fills what the packs do not)."""
    out = {ref: dict(rules) for ref, rules in catalogue.items()}
    for ref, rules in extra.items():
        target = out.setdefault(ref, {})
        for code, info in rules.items():
            target.setdefault(code, info)
    return out


# ------------------------------------------------------------------------------- expansion
# A finding's context: its region's `applicability` and `label`, the item's platform, relationship
# and post type (what a rule's `when` is decided on).


def when_text(info: Mapping[str, Any] | None, ctx: Mapping[str, Any]) -> str | None:
    """Why a rule's `when` leaves it out for this post, worded as the engine does (engine._rule_applies);
    a wording that differs only costs the finding its `detail`, kept in full."""
    when = (info or {}).get("when") or {}
    platform, relationship, post_type = ctx.get("platform"), ctx.get("relationship"), ctx.get("post_type")
    if when.get("platforms") and platform not in when["platforms"]:
        return f"Not applicable on {platform}."
    if when.get("relationships") and relationship not in when["relationships"]:
        return f"Not applicable to '{relationship}' posts."
    if when.get("post_types") and post_type not in when["post_types"]:
        return f"Not applicable to a {post_type} post (only to {', '.join(when['post_types'])})."
    language = ctx.get("language")
    if when.get("languages") and language and language not in when["languages"]:
        from complianceguard.packs.kinds.base import language_name

        return (f"Not applicable to content in {language_name(language)} (only to "
                f"{', '.join(language_name(code) for code in when['languages'])}).")
    if when.get("media"):
        return f"Not applicable: the post has no {' or '.join(when['media'])}."
    return None


def evidence_detail(evidence: list[Mapping[str, Any]] | None) -> str | None:
    """The detail a check words from its first evidence: "'<text>': <reason>." (None without both)."""
    first = evidence[0] if evidence else None
    if first is None or not first.get("text") or not first.get("reason"):
        return None
    return f"'{first['text']}': {first['reason']}."


def _detail(f: Mapping[str, Any]) -> str | None:
    if f.get("detail_from_evidence"):
        return evidence_detail(f.get("evidence"))
    return f.get("detail")


def _message(f: Mapping[str, Any], info: Mapping[str, Any] | None, ctx: Mapping[str, Any]) -> str:
    if "message" in f:
        return f["message"]
    status = f["status"]
    template = info.get("message") if info else None
    detail = _detail(f)
    if status in FAILED and template is not None:
        return (LIKELY if f.get("likely") else "") + f"{template} {detail or ''}"
    if detail is not None:
        return detail
    why = f.get(WHY)
    if why == "applicability":
        return f"Not applicable: {ctx.get('applicability', '')}."
    if why == "when":
        return when_text(info, ctx) or ""
    return ((info or {}).get("outcomes") or {}).get(status, "")


def _fix(f: Mapping[str, Any], info: Mapping[str, Any] | None, label: str | None) -> str | None:
    if "fix" in f:
        return f["fix"]
    template = info.get("fix") if info else None
    if f["status"] in FAILED and template is not None:
        return template.replace("{label}", label) if label is not None else template
    return None


def expand_finding(f: Mapping[str, Any], ctx: Mapping[str, Any], catalogue: Catalogue,
                   coverage: Mapping[str, Any]) -> dict[str, Any]:
    """A 2.0 finding as the engine wrote it (a 1.0 finding dict)."""
    pack = f.get("pack", ctx["pack"])
    info = catalogue.get(pack, {}).get(f["rule"])
    base = info or {}
    out: dict[str, Any] = {
        "rule": f["rule"], "name": f.get("name", base.get("name")), "check": f.get("check", base.get("check")),
        "pack": pack, "status": f["status"], "severity": f.get("severity", base.get("severity")),
        "message": _message(f, info, ctx), "evidence": f.get("evidence", []),
        "coverage": f["coverage"] if "coverage" in f else [
            coverage[s] for s in base.get("scopes", []) if s in coverage],
        "source": f.get("source", base.get("source")), "confidence": f.get("confidence", base.get("confidence")),
    }
    fix = _fix(f, info, ctx.get("label"))
    if fix is not None:
        out["fix"] = fix
    if "reviews" in f:
        out["reviews"] = f["reviews"]
    return out


def na_codes(region: Mapping[str, Any], catalogue: Catalogue | None) -> list[str]:
    """The codes of a region's `na` list, `na_rest` spelt out from the catalogue (2.3)."""
    if not region.get("na_rest"):
        return list(region.get("na", []))
    if catalogue is None or region["pack"] not in catalogue:
        raise ValueError(f"a region's na_rest needs the rule catalogue of {region['pack']}")
    listed = _listed_besides_na(region)
    return [code for code in catalogue[region["pack"]] if code not in listed]


def _listed_besides_na(region: Mapping[str, Any]) -> set[str]:
    """The rule codes a 2.x region holds other than in `na`: its findings, `na_when` and `usual`."""
    listed = {f["rule"] for f in region.get("findings", [])} | set(region.get("na_when", []))
    listed.update(code for codes in (region.get("usual") or {}).values() for code in codes)
    return listed


def _region_findings(region: Mapping[str, Any], catalogue: Catalogue) -> list[Mapping[str, Any]]:
    """The region's findings with those its lists hold by code, in the catalogue's (the pack's) order."""
    findings = list(region.get("findings", []))
    listed = [{"rule": code, "status": NA, WHY: "applicability"} for code in na_codes(region, catalogue)]
    listed += [{"rule": code, "status": NA, WHY: "when"} for code in region.get("na_when", [])]
    listed += [{"rule": code, "status": status} for status, codes in (region.get("usual") or {}).items()
               for code in codes]
    if not listed:
        return findings
    order = {code: n for n, code in enumerate(catalogue.get(region["pack"], {}))}
    return sorted(findings + listed, key=lambda f: order.get(f["rule"], len(order)))


def _context(item: Mapping[str, Any], region: Mapping[str, Any], label: str | None = None) -> dict[str, Any]:
    return {"pack": region["pack"], "applicability": region.get("applicability", ""),
            "label": region.get("label", label), "platform": item.get("platform"),
            "relationship": item.get("relationship"), "post_type": item.get("post_type"),
            "language": item.get("language")}


def expand_item(item: Mapping[str, Any], catalogue: Catalogue) -> dict[str, Any]:
    """A 2.0 item (a JSON dict) as the engine wrote it: a 1.0 item dict (RecordItem validates it)."""
    caption = item.get("caption")
    coverage = {c["channel"]: c for c in item.get("coverage", [])}
    channels = {s["id"]: s.get("channel") for s in item.get("segments", [])}
    mentions = [_full_mention(m, caption, channels) for m in item.get("mentions", [])]  # evidence refers to them
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key == "segments":
            out[key] = [_full_segment(s, caption) for s in value]
        elif key == "mentions":
            out[key] = mentions
        elif key == "regions":
            out[key] = {code: _expand_region(item, region, catalogue, coverage, mentions)
                        for code, region in value.items()}
        elif key != "coverage":
            out[key] = value
    for key, empty in ITEM_EMPTY.items():
        if key not in out:
            out[key] = type(empty)()
    return out


def _expand_region(item: Mapping[str, Any], region: Mapping[str, Any], catalogue: Catalogue,
                   coverage: Mapping[str, Any], mentions: list[Mapping[str, Any]]) -> dict[str, Any]:
    ctx, caption = _context(item, region), item.get("caption")
    findings = []
    for f in _region_findings(region, catalogue):
        if f.get("evidence"):
            f = {**f, "evidence": [_full_evidence(e, caption, region["pack"], mentions) for e in f["evidence"]]}
        findings.append(expand_finding(f, ctx, catalogue, coverage))
    return {"verdict": region["verdict"], "pack": region["pack"], "applicability": region["applicability"],
            "findings": findings}


# What an item, its segments, mentions and evidence leave out when it is the default (or, for a
# caption's, the caption's own text at the span): the engine's models fill it back.
ITEM_EMPTY: dict[str, Any] = {"segments": [], "mentions": [], "regions": {}, "errors": [], "fixed_caption": {},
                              "frames": {}}
SEGMENT_DEFAULTS: dict[str, Any] = {"confidence": 1.0}
MENTION_DEFAULTS: dict[str, Any] = {"confidence": 1.0, "negated": False, "disguise": [], "tentative": False}
EVIDENCE_DEFAULTS: dict[str, Any] = {"confidence": 1.0, "disguise": []}


def _at(caption: str | None, span: Any) -> str | None:
    if caption is None or not isinstance(span, Mapping):
        return None
    start, end = span.get("start"), span.get("end")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start <= end <= len(caption):
        return None
    return caption[start:end]


def _full_segment(s: Mapping[str, Any], caption: str | None) -> dict[str, Any]:
    out = dict(s)
    if "text" not in out and s.get("id") == "caption" and caption is not None:
        out["text"] = caption
    for key, value in SEGMENT_DEFAULTS.items():
        out.setdefault(key, value)
    return out


def _short_segment(s: Mapping[str, Any], caption: str | None) -> dict[str, Any]:
    out = {k: v for k, v in s.items() if SEGMENT_DEFAULTS.get(k, out_of_band) != v}
    if s.get("id") == "caption" and caption is not None and s.get("text") == caption:
        del out["text"]
    return out


def _full_mention(m: Mapping[str, Any], caption: str | None, channels: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(m)
    if "channel" not in out:
        out["channel"] = channels.get(m.get("segment"))
    if "text" not in out and out.get("channel") == "caption":
        out["text"] = _at(caption, m.get("span"))
    for key, value in MENTION_DEFAULTS.items():
        out.setdefault(key, type(value)() if isinstance(value, list) else value)
    return out


def _short_mention(m: Mapping[str, Any], caption: str | None, channels: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in m.items() if MENTION_DEFAULTS.get(k, out_of_band) != v}
    if m.get("segment") in channels and channels[m["segment"]] == m.get("channel"):
        del out["channel"]
        if m.get("channel") == "caption" and "span" in m and _at(caption, m["span"]) == m.get("text"):
            del out["text"]
    return out


# An evidence's fields that `evidence_of` (packs/kinds/base.py) copies from its mention: caption
# evidence equal to a mention in all of them is written as the mention's index (2.3).
FROM_MENTION = ("channel", "kind", "text", "span", "time", "term", "confidence", "matcher", "pack", "score",
                "context", "disguise", "media", "overlay")
_FROM_MENTION_SET = frozenset(FROM_MENTION)


def _full_evidence(e: Mapping[str, Any], caption: str | None, pack: str | None = None,
                   mentions: list[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    if "mention" in e:
        m = (mentions or [])[e["mention"]]
        out = {k: m[k] for k in FROM_MENTION if k in m}
        if "reason" in e:
            out["reason"] = e["reason"]
        return out
    out = dict(upgraded_evidence(e))
    if "text" not in out and out.get("channel") == "caption":
        out["text"] = _at(caption, e.get("span"))
    if out.get("matcher") in REGION_VOCABULARY_MATCHERS and "pack" not in out and pack is not None:
        out["pack"] = pack
    for key, value in EVIDENCE_DEFAULTS.items():
        out.setdefault(key, type(value)() if isinstance(value, list) else value)
    return out


def _short_evidence(e: Mapping[str, Any], caption: str | None, pack: str | None = None,
                    mentions: list[Mapping[str, Any]] = ()) -> dict[str, Any]:
    if e.get("channel") == "caption" and e.keys() - {"reason"} <= _FROM_MENTION_SET:
        for n, m in enumerate(mentions):
            if all(e.get(k) == m.get(k) for k in FROM_MENTION):
                return {"mention": n, **({"reason": e["reason"]} if "reason" in e else {})}
    out = {k: v for k, v in e.items() if EVIDENCE_DEFAULTS.get(k, out_of_band) != v}
    if e.get("channel") == "caption" and "span" in e and _at(caption, e["span"]) == e.get("text"):
        del out["text"]
    if out.get("matcher") in REGION_VOCABULARY_MATCHERS and pack is not None and out.get("pack") == pack:
        del out["pack"]  # the region's own vocabulary (most evidence): the region's pack says it
    return out


# Evidence of these matchers names the pack whose vocabulary matched; it is left out (2.1) when it is
# the region's pack. Others (cue, model, brand, read) name no pack, and a missing `pack` stays missing.
REGION_VOCABULARY_MATCHERS = ("phrase", "pattern", "fuzzy")
TIMED = ("speech", "overlay")


def upgraded_item(item: Mapping[str, Any]) -> Mapping[str, Any]:
    """A 1.0 item (the engine's, in full) with its evidence in the 2.1 form (`upgraded_evidence`)."""
    regions = item.get("regions")
    if not isinstance(regions, Mapping):
        return item
    return {**item, "regions": {code: {**region, "findings": [
        {**f, "evidence": [upgraded_evidence(e) for e in f["evidence"]]} if f.get("evidence") else f
        for f in region.get("findings", [])]} for code, region in regions.items()}}


def upgraded_evidence(e: Mapping[str, Any]) -> Mapping[str, Any]:
    """Evidence of a 1.0 or 2.0 report (its one `note`) in the 2.1 form. The note was the line a
    speech or on-screen match was found in where the evidence's span in it is the evidence's text
    (what the 2.0 HTML report highlighted); anything else it said (why the evidence is shown, a
    disguise, how a cue or a possibly-said reading was judged) is kept whole as the `reason`."""
    if "note" not in e:
        return e
    out = {k: v for k, v in e.items() if k != "note"}
    note, text, span = e["note"], e.get("text"), e.get("span")
    if not isinstance(note, str):
        return out
    start, end = (span.get("start"), span.get("end")) if isinstance(span, Mapping) else (None, None)
    if e.get("channel") in TIMED and text and isinstance(start, int) and isinstance(end, int) \
            and note[start:end] == text:
        out["context"] = note
    else:
        out["reason"] = note
    return out


class _OutOfBand:
    """Equal to nothing a JSON document holds."""


out_of_band = _OutOfBand()


def statuses(item: Mapping[str, Any], catalogue: Catalogue | None = None) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(region code, finding) of an item in either schema: each finding has `rule` and `status`
    (and `reviews` when decided); 2.0's `na`, `na_when` and `usual` codes included (after the
    region's other findings). The catalogue is needed only for a 2.3 region's `na_rest`."""
    for code, region in (item.get("regions") or {}).items():
        for f in region.get("findings", []):
            yield code, f
        for rule in (*na_codes(region, catalogue), *region.get("na_when", [])):
            yield code, {"rule": rule, "status": NA}
        for status, rules in (region.get("usual") or {}).items():
            for rule in rules:
                yield code, {"rule": rule, "status": status}


# ------------------------------------------------------------------------------- compaction


def _label(fix: str | None, template: str | None) -> str | None:
    """The label a fix put in its template's one `{label}` (None when it cannot tell)."""
    if fix is None or template is None or template.count("{label}") != 1:
        return None
    head, tail = template.split("{label}")
    if len(fix) >= len(head) + len(tail) and fix.startswith(head) and fix.endswith(tail):
        return fix[len(head):len(fix) - len(tail)]
    return None


def _compact_finding(f: Mapping[str, Any], ctx: Mapping[str, Any], catalogue: Catalogue,
                     coverage: Mapping[str, Any]) -> dict[str, Any]:
    pack = f.get("pack")
    info = catalogue.get(pack, {}).get(f["rule"]) if pack == ctx["pack"] else None
    out: dict[str, Any] = {"rule": f["rule"], "status": f["status"]}
    if pack != ctx["pack"]:
        out["pack"] = pack
    for key in ("name", "check", "severity", "confidence"):
        if info is None or info.get(key) != f.get(key):
            out[key] = f.get(key)
    message, status = f.get("message", ""), f["status"]
    template = info.get("message") if info else None
    if status in FAILED and template is not None and message.startswith(f"{template} "):
        out["detail"] = message[len(template) + 1:]
    elif status in FAILED and template is not None and message.startswith(f"{LIKELY}{template} "):
        out["likely"] = True
        out["detail"] = message[len(LIKELY) + len(template) + 1:]
    elif status in FAILED and template is not None:
        out["message"] = message
    elif status == NA and message == f"Not applicable: {ctx['applicability']}.":
        out[WHY] = "applicability"
    elif status == NA and message == when_text(info, ctx):
        out[WHY] = "when"
    elif message != ((info or {}).get("outcomes") or {}).get(status, ""):
        out["detail"] = message
    if f.get("evidence"):
        out["evidence"] = f["evidence"]
        if "detail" in out and out["detail"] == evidence_detail(f["evidence"]):
            del out["detail"]
            out["detail_from_evidence"] = True
    expected = [coverage[s] for s in (info or {}).get("scopes", []) if s in coverage]
    if f.get("coverage", []) != expected:
        out["coverage"] = f.get("coverage", [])
    if info is None or info.get("source") != f.get("source"):
        out["source"] = f.get("source")
    if _fix(out, info, ctx.get("label")) != f.get("fix"):
        out["fix"] = f.get("fix")
    if "reviews" in f:
        out["reviews"] = f["reviews"]
    engine_written = _ENGINE_FINDING_KEYS <= f.keys() <= _FINDING_KEY_SET
    if not engine_written and expand_finding(out, ctx, catalogue, coverage) != dict(f):
        # Whatever the catalogue cannot give back is kept as it is (never expected from the engine).
        out = {"rule": f["rule"], "status": f["status"], **{k: f[k] for k in _FINDING_KEYS if k in f},
               "evidence": f.get("evidence", []), "coverage": f.get("coverage", [])}
        out.setdefault("fix", None)
    return out


def compact_item(item: Mapping[str, Any], catalogue: Catalogue) -> dict[str, Any]:
    """A 1.0 item dict (the engine's ItemResult, or a RecordItem, dumped with exclude_none) in the
    2.0 form; `expand_item(compact_item(x, c), c) == x` for every item."""
    regions = item.get("regions") or {}
    caption = item.get("caption")
    coverage: dict[str, Any] = {}
    for region in regions.values():
        for f in region.get("findings", []):
            for c in f.get("coverage", []):
                coverage.setdefault(c["channel"], c)
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key in ITEM_EMPTY and value == ITEM_EMPTY[key]:
            continue
        if key == "regions":
            if coverage:
                out["coverage"] = list(coverage.values())
            out["regions"] = {code: _compact_region(item, region, catalogue, coverage)
                              for code, region in regions.items()}
        elif key == "segments":
            out[key] = [_short_segment(s, caption) for s in value]
        elif key == "mentions":
            channels = {s["id"]: s.get("channel") for s in item.get("segments", [])}
            out[key] = [_short_mention(m, caption, channels) for m in value]
        else:
            out[key] = value
    return out


def _compact_region(item: Mapping[str, Any], region: Mapping[str, Any], catalogue: Catalogue,
                    coverage: Mapping[str, Any]) -> dict[str, Any]:
    findings = region.get("findings", [])
    rules = catalogue.get(region["pack"], {})
    label = None
    for f in findings:
        if f["status"] in FAILED and f.get("pack") == region["pack"] and f["rule"] in rules:
            label = _label(f.get("fix"), rules[f["rule"]].get("fix"))
            if label is not None:
                break
    out: dict[str, Any] = {"verdict": region["verdict"], "pack": region["pack"],
                           "applicability": region["applicability"]}
    if label is not None:
        out["label"] = label
    ctx, caption = _context(item, region, label), item.get("caption")
    compact = [_compact_finding(f, ctx, catalogue, coverage) for f in findings]
    order = list(rules)
    positions = [order.index(f["rule"]) if f["rule"] in rules else -1 for f in compact]
    in_order = all(p >= 0 for p in positions) and all(a < b for a, b in zip(positions, positions[1:]))
    kept: list[dict[str, Any]] = []
    lists: dict[str, list[str]] = {"na": [], "na_when": []}
    usual: dict[str, list[str]] = {}
    for f, original in zip(compact, findings, strict=True):
        brief = f.keys() <= {"rule", "status", WHY}
        if in_order and brief and WHY in f:
            lists["na" if f[WHY] == "applicability" else "na_when"].append(f["rule"])
            continue
        if in_order and brief:
            usual.setdefault(f["status"], []).append(f["rule"])
            continue
        if WHY in f:  # out of the pack's order (not from the engine): the message is kept as it is
            f = {k: v for k, v in f.items() if k != WHY}
            f["detail"] = original.get("message", "")
        if f.get("evidence"):
            f = {**f, "evidence": [_short_evidence(e, caption, region["pack"], item.get("mentions", []))
                                   for e in f["evidence"]]}
        kept.append(f)
    if kept:
        out["findings"] = kept
    others = _listed_besides_na({"findings": kept, "na_when": lists["na_when"], "usual": usual})
    rest = lists["na"] and lists["na"] == [code for code in order if code not in others]
    out.update((name, codes) for name, codes in lists.items() if codes and not (rest and name == "na"))
    if rest:
        out["na_rest"] = True
    if usual:
        out["usual"] = usual
    return out


# ------------------------------------------------------------------------------- JSON lines


def dumps(value: Any) -> str:
    """Compact JSON as report.json writes an item (UTF-8 text, no spaces)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def record_of(item: ItemResult, catalogue: Catalogue) -> str:
    """An item (engine model) as one 2.0 `items` line."""
    return dumps(compact_item(item.model_dump(mode="json", exclude_none=True), catalogue))


def item_of(record: str | Mapping[str, Any], catalogue: Catalogue) -> Any:
    """A 2.0 `items` line (or its dict) as a RecordItem (the engine's item with the workflow fields)."""
    from complianceguard.report.json_report import RecordItem

    data = json.loads(record) if isinstance(record, str) else record
    return RecordItem.model_validate(expand_item(data, catalogue))


# ------------------------------------------------------------------ the JSON Schema of the record


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a 2.0 report.json, from the models below; the file
    shipped at SCHEMA_PATH is this (tests/test_report_formats.py checks it is current)."""
    from pydantic import BaseModel, ConfigDict

    from complianceguard.model import REPORT_SCHEMA_VERSION, Coverage, Evidence, Mention, Segment, Status, Verdict
    from complianceguard.packs.schema import Channel
    from complianceguard.report.json_report import RecordItem, RecordReport, ReviewNote

    class CompactSegment(Segment):
        model_config = ConfigDict(extra="forbid", title="Segment")
        text: str | None = Field(None, description="Left out for the caption segment: the item's caption.")

    class CompactMention(Mention):
        model_config = ConfigDict(extra="forbid", title="Mention")
        channel: Channel | None = Field(None, description="Left out when it is its segment's channel.")
        text: str | None = Field(None, description="Left out, with `channel`, for a caption mention: the "
                                 "caption's characters at `span`.")

    class CompactEvidence(Evidence):
        model_config = ConfigDict(extra="forbid", title="Evidence")
        text: str | None = Field(None, description="Left out for caption evidence: the caption's characters "
                                 "at `span`.")
        pack: str | None = Field(None, description="The pack (id@version) whose vocabulary has `term`; left out "
                                 "for a phrase, pattern or fuzzy match in the region's own pack.")

    class MentionEvidence(BaseModel):
        model_config = ConfigDict(extra="forbid", title="MentionEvidence")
        mention: int = Field(ge=0, description="2.3: caption evidence that is the item's `mentions[mention]` as "
                             "it was found (its channel, kind, text, span, term, matcher, pack, ...).")
        reason: str | None = Field(None, description="Why it is shown (Evidence.reason).")

    class CompactFinding(BaseModel):
        """A finding of a 2.0 item: the rule's code and status, and what is not the catalogue's."""

        model_config = ConfigDict(extra="forbid", title="Finding")
        rule: str = Field(description="Rule code: `rules[region pack][rule]` has the rest.")
        status: Status
        detail: str | None = Field(None, description="The message after the rule's template (fail, warn) or "
                                   "the whole message (other statuses).")
        likely: bool | None = Field(None, description="The message starts 'Likely commercial post: '.")
        detail_from_evidence: bool | None = Field(None, description="2.3: the detail is the first evidence's "
                                                  "text in quotes, then its reason (\"'<text>': <reason>.\").")
        message: str | None = Field(None, description="The whole message, when it is not template + detail.")
        evidence: list[CompactEvidence | MentionEvidence] | None = Field(None, description="Omitted when there "
                                                                         "is none.")
        coverage: list[Coverage] | None = Field(None, description="Only when it is not the item's coverage "
                                                "for the rule's scopes.")
        fix: str | None = Field(None, description="Only when it is not the rule's fix template with the "
                                "region's label (null: no fix).")
        reviews: list[ReviewNote] | None = None
        pack: str | None = Field(None, description="Only when it is not the region's pack.")
        name: str | None = None
        check: str | None = None
        severity: str | None = None
        confidence: str | None = None
        source: dict[str, Any] | None = None

    class CompactRegion(BaseModel):
        model_config = ConfigDict(extra="forbid", title="RegionResult")
        verdict: Verdict
        pack: str
        applicability: str
        label: str | None = Field(None, description="The region's preferred label, put in fix templates.")
        findings: list[CompactFinding] = Field(default_factory=list)
        na: list[str] | None = Field(None, description="Rules not applicable for the region's reason "
                                     "(\"Not applicable: <applicability>.\"), merged in the catalogue's order.")
        na_rest: bool | None = Field(None, description="2.3: `na` is every rule of the pack's catalogue "
                                     "that the region lists nowhere else.")
        na_when: list[str] | None = Field(None, description="Rules not applicable by their `when` (platform, "
                                          "relationship, post type, media), merged in the catalogue's order.")
        usual: dict[str, list[str]] | None = Field(None, description="Status -> rules with that status and the "
                                                   "rule's usual message (`outcomes`), merged in order.")

    class CompactItem(RecordItem):
        model_config = ConfigDict(extra="forbid", title="Item")
        coverage: list[Coverage] | None = Field(None, description="What was read, once per channel.")
        segments: list[CompactSegment] = Field(default_factory=list)  # type: ignore[assignment]
        mentions: list[CompactMention] = Field(default_factory=list)  # type: ignore[assignment]
        regions: dict[str, CompactRegion] = Field(default_factory=dict)  # type: ignore[assignment]

    class ReportDocument(RecordReport):
        model_config = ConfigDict(extra="forbid", title=f"complianceguard report {REPORT_SCHEMA_VERSION}")
        items: list[CompactItem] = Field(default_factory=list)  # type: ignore[assignment]

    schema = ReportDocument.model_json_schema()
    schema["properties"]["schema_version"] = {"type": "string", "pattern": r"^2\.[0-9]+$",
                                              "title": "Schema Version"}
    schema["required"] = sorted({*schema.get("required", []), "schema_version", "rules", "items"})
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://complianceguard.invalid/schema/report-2.0.schema.json", **schema}


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
