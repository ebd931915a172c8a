"""The JSON report: the versioned record every other format is rendered from.

The header is indented for reading; each item is one compact line of the `items` array. An
indented item is three times the bytes (deep nesting), and a batch of 100,000 posts would be
gigabytes of spaces; one item per line also keeps the file easy to grep and to split.

Schema 2.0 (report/view.py): the header's `rules` catalogue holds what every finding of a rule
shares, and the items hold only what varies; `parse_item` expands an `items` line back into the
engine's models, which is what every other format is rendered from.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from complianceguard.model import Coverage, Finding, ItemResult, RegionResult, Report
from complianceguard.report import atomic_write, atomic_writer
from complianceguard.report.view import (FAILED, ITEM_EMPTY, LIKELY, NA, WHY, Catalogue, catalogue_of,
                                         derived_catalogue, dumps, merged, record_of, when_text)
from complianceguard.report.view import fix_label, short_evidence, short_mention, short_segment


def item_json(item: ItemResult) -> str:
    """One item, indented: what the CLI prints and the API answers for a single check."""
    return item.model_dump_json(indent=2, exclude_none=True)


def item_record(item: ItemResult, catalogue: Catalogue | None = None) -> str:
    """One item as the report's `items` array holds it (schema 2.0, against the header's rule
    catalogue: see report/view.py): one compact line. The engine's own items are compacted from
    their models (`EngineRecords`), without dumping every finding to compare it; anything else
    (a RecordItem with reviews or an origin) goes through view.record_of. Both give the same line."""
    if type(item) is ItemResult:
        return _ENGINE_RECORDS.record(item, catalogue or {})
    return record_of(item, catalogue or {})


class EngineRecords:
    """The 2.0 record of an engine's item, built from its models: view.compact_item's rules applied
    to the Finding objects themselves, so a finding is never dumped to a dict only to be compared
    with its catalogue entry and dropped (the record was a fifth of a caption's check). Evidence,
    segments and mentions are dumped as before and shortened by view's own functions. The line is
    the one view.record_of gives for the same item (tests/test_scan.py compares them)."""

    def __init__(self) -> None:
        self._sources: dict[int, tuple[Any, dict[str, Any]]] = {}  # id(Citation) -> (it, its JSON dict)

    def _source(self, citation: Any) -> dict[str, Any]:
        """A citation's JSON dict, dumped once: the engine builds one Citation per pack and rule."""
        known = self._sources.get(id(citation))
        if known is None or known[0] is not citation:
            if len(self._sources) > 4096:
                self._sources.clear()
            known = self._sources[id(citation)] = (citation, citation.model_dump(mode="json", exclude_none=True))
        return known[1]

    def record(self, item: ItemResult, catalogue: Catalogue) -> str:
        return dumps(self._compact(item, catalogue))

    def _compact(self, item: ItemResult, catalogue: Catalogue) -> dict[str, Any]:
        """What view.compact_item gives for `item.model_dump(mode="json", exclude_none=True)`."""
        data = item.model_dump(mode="json", exclude_none=True, exclude={"regions"})
        caption = item.caption
        coverage: dict[str, Coverage] = {}  # channel -> the first finding's entry, as compact_item keeps it
        for region in item.regions.values():
            for f in region.findings:
                for c in f.coverage:
                    coverage.setdefault(c.channel, c)
        out: dict[str, Any] = {}
        for key in ItemResult.model_fields:
            if key == "regions":
                if not item.regions:
                    continue
                if coverage:
                    out["coverage"] = [c.model_dump(mode="json", exclude_none=True) for c in coverage.values()]
                out["regions"] = {code: self._region(item, region, catalogue, coverage)
                                  for code, region in item.regions.items()}
                continue
            if key not in data:
                continue
            value = data[key]
            if key in ITEM_EMPTY and value == ITEM_EMPTY[key]:
                continue
            if key == "segments":
                out[key] = [short_segment(s, caption) for s in value]
            elif key == "mentions":
                channels = {s["id"]: s.get("channel") for s in data.get("segments", [])}
                out[key] = [short_mention(m, caption, channels) for m in value]
            else:
                out[key] = value
        return out

    def _region(self, item: ItemResult, region: RegionResult, catalogue: Catalogue,
                coverage: dict[str, Coverage]) -> dict[str, Any]:
        findings = region.findings
        rules = catalogue.get(region.pack, {})
        label = None
        for f in findings:
            if f.status in FAILED and f.pack == region.pack and f.rule in rules:
                label = fix_label(f.fix, rules[f.rule].get("fix"))
                if label is not None:
                    break
        out: dict[str, Any] = {"verdict": region.verdict, "pack": region.pack, "applicability": region.applicability}
        if label is not None:
            out["label"] = label
        ctx = {"pack": region.pack, "applicability": region.applicability, "label": label,
               "platform": item.platform, "relationship": item.relationship, "post_type": item.post_type,
               "language": item.language}
        compact = [self._finding(f, ctx, catalogue, coverage) for f in findings]
        order = list(rules)
        positions = [order.index(f["rule"]) if f["rule"] in rules else -1 for f in compact]
        in_order = all(p >= 0 for p in positions) and all(a < b for a, b in zip(positions, positions[1:]))
        kept: list[dict[str, Any]] = []
        lists: dict[str, list[str]] = {"na": [], "na_when": []}
        usual: dict[str, list[str]] = {}
        for f, original in zip(compact, findings, strict=True):
            brief = f.keys() <= _BRIEF
            if in_order and brief and WHY in f:
                lists["na" if f[WHY] == "applicability" else "na_when"].append(f["rule"])
                continue
            if in_order and brief:
                usual.setdefault(f["status"], []).append(f["rule"])
                continue
            if WHY in f:  # out of the pack's order: the message is kept as it is
                f = {k: v for k, v in f.items() if k != WHY}
                f["detail"] = original.message
            if f.get("evidence"):
                f = {**f, "evidence": [short_evidence(e, item.caption, region.pack) for e in f["evidence"]]}
            kept.append(f)
        if kept:
            out["findings"] = kept
        out.update((name, codes) for name, codes in lists.items() if codes)
        if usual:
            out["usual"] = usual
        return out

    def _finding(self, f: Finding, ctx: dict[str, Any], catalogue: Catalogue,
                 coverage: dict[str, Coverage]) -> dict[str, Any]:
        """view._compact_finding for an engine's Finding (every key the engine writes, no reviews:
        so the expansion check it makes for other findings is not needed)."""
        pack = f.pack
        info = catalogue.get(pack, {}).get(f.rule) if pack == ctx["pack"] else None
        out: dict[str, Any] = {"rule": f.rule, "status": f.status}
        if pack != ctx["pack"]:
            out["pack"] = pack
        for key, value in (("name", f.name), ("check", f.check), ("severity", f.severity),
                           ("confidence", f.confidence)):
            if info is None or info.get(key) != value:
                out[key] = value
        message, status = f.message, f.status
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
        if f.evidence:
            out["evidence"] = [e.model_dump(mode="json", exclude_none=True) for e in f.evidence]
        expected = [coverage[s] for s in (info or {}).get("scopes", []) if s in coverage]
        if f.coverage != expected:
            out["coverage"] = [c.model_dump(mode="json", exclude_none=True) for c in f.coverage]
        source = self._source(f.source)
        if info is None or info.get("source") != source:
            out["source"] = source
        template_fix = info.get("fix") if info else None
        label = ctx.get("label")
        given = (template_fix.replace("{label}", label) if label is not None else template_fix) \
            if status in FAILED and template_fix is not None else None
        if given != f.fix:
            out["fix"] = f.fix
        return out


_BRIEF = frozenset({"rule", "status", WHY})
_ENGINE_RECORDS = EngineRecords()


def report_catalogue(report: Report) -> Catalogue:
    """The rule catalogue a report's items are written against: its `rules`, completed from the
    findings for packs it lacks (a report converted from 1.0)."""
    catalogue = catalogue_of(report)
    missing = [i for i in report.items if any(r.pack not in catalogue for r in i.regions.values())]
    if missing:
        catalogue = merged(catalogue, derived_catalogue(i.model_dump(mode="json", exclude_none=True)
                                                        for i in missing))
    return catalogue


def with_catalogue(header: Report, catalogue: Catalogue) -> Report:
    from complianceguard.model import REPORT_SCHEMA_VERSION, RuleInfo

    rules = {ref: {code: RuleInfo.model_validate(info) for code, info in entries.items()}
             for ref, entries in catalogue.items()}
    return header.model_copy(update={"rules": rules, "schema_version": REPORT_SCHEMA_VERSION})


def report_json(report: Report) -> str:
    catalogue = report_catalogue(report)
    header = with_catalogue(report.model_copy(update={"items": []}), catalogue)
    return "".join(_chunks(header, (item_record(item, catalogue) for item in report.items)))


def write(report: Report, out_dir: Path) -> Path:
    path = out_dir / "report.json"
    atomic_write(path, report_json(report))
    return path


ITEMS_TAIL = '"items": []\n}\n'


def _chunks(header: Report, records: Iterable[str]) -> Iterator[str]:
    # `items` is written last, after every other header field (a RecordReport's `changes` too).
    from complianceguard.model import REPORT_SCHEMA_VERSION

    if header.schema_version != REPORT_SCHEMA_VERSION:
        header = header.model_copy(update={"schema_version": REPORT_SCHEMA_VERSION})
    head = header.model_dump_json(indent=2, exclude_none=True, exclude={"items"})
    if header.items or not head.endswith("\n}"):
        raise ValueError("a report header has no items")
    yield head[:-2] + ',\n  "items": '
    separator = "[\n    "
    for record in records:
        yield separator
        yield record
        separator = ",\n    "
    yield "[]\n}\n" if separator == "[\n    " else "\n  ]\n}\n"


def write_stream(header: Report, records: Iterable[str], out_dir: Path) -> Path:
    """report.json from a header (a Report with no items, its `rules` the catalogue the records were
    written against) and each item's `item_record`, streamed:
    byte for byte what `write` gives for the whole report, without holding it in memory."""
    path = out_dir / "report.json"
    with atomic_writer(path) as out:
        for chunk in _chunks(header, records):
            out.write(chunk.encode("utf-8"))
    return path


# ---------------------------------------------------------------- the record's workflow fields
# A scan written by `scan` (complianceguard/scan.py) carries more than the engine's models: each
# item's content hash (what review decisions are bound to), the reviewers' decisions on each
# finding and what changed since the previous report in the same folder. They are declared here,
# as subclasses of the engine's models, so every renderer can read them and `report render`
# (load_report) accepts a report that has them.


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MediaHash(_Frozen):
    path: str
    sha256: str


class ItemContent(_Frozen):
    """What a reviewer saw: a decision is bound to `sha256` and dropped when it changes. Worked out
    from the item's caption and the media hashes of the scan (complianceguard/review.py); not a
    field of the report, whose items stay as the engine wrote them."""

    sha256: str = Field(description="SHA-256 of the caption and the media hashes, in post order.")
    caption_sha256: str
    media: list[MediaHash] = Field(default_factory=list)


class ReviewNote(_Frozen):
    """A reviewer's decision on a finding, from the review log (complianceguard/review.py)."""

    decision: Literal["confirm", "overrule"]
    reviewer: str
    time: str
    reason: str
    machine_status: str = Field(description="The finding's status when the decision was made.")
    content_sha256: str = Field(description="The item's content hash decided on (caption + media hashes).")
    entry: str = Field(description="The log entry's own hash (review.jsonl).")
    state: Literal["applied", "dropped"] = "applied"
    note: str | None = Field(None, description="Why a decision was dropped (the post changed since).")


class RecordFinding(Finding):
    reviews: list[ReviewNote] | None = Field(None, description=(
        "Reviewers' decisions, oldest first; the last applied one stands. `status` stays the machine's."))


class RecordRegion(RegionResult):
    findings: list[RecordFinding] = Field(default_factory=list)


class Origin(_Frozen):
    """Where an imported post came from (a yt-dlp sidecar): what the submission model does not hold."""

    importer: str
    title: str | None = None
    uploader: str | None = None
    channel: str | None = None
    tags: list[str] = Field(default_factory=list)
    upload_date: str | None = None
    webpage_url: str | None = None
    extractor: str | None = None


class RecordItem(ItemResult):
    regions: dict[str, RecordRegion] = Field(default_factory=dict)
    origin: Origin | None = None


class FindingChange(_Frozen):
    item: str
    region: str
    rule: str
    was: str | None = Field(None, description="Status in the previous report (None: not there).")
    now: str | None = Field(None, description="Status now (None: gone).")


class ContentChange(_Frozen):
    item: str
    caption: bool = False
    media_added: list[str] = Field(default_factory=list, description="Media paths the previous report did not read.")
    media_changed: list[str] = Field(default_factory=list, description="Media whose SHA-256 is not the previous "
                                     "report's (its `inputs`).")


class DecisionChange(_Frozen):
    item: str
    region: str
    rule: str
    decision: str
    reviewer: str
    entry: str
    note: str | None = None


class Changes(_Frozen):
    """A re-scan against the report.json it replaced in the same folder."""

    previous_generated_at: str
    previous_sha256: str = Field(description="SHA-256 of the report.json replaced.")
    items_added: list[str] = Field(default_factory=list)
    items_removed: list[str] = Field(default_factory=list)
    verdicts: list[FindingChange] = Field(default_factory=list, description="Item verdicts that changed "
                                          "(region and rule empty).")
    new_fails: list[FindingChange] = Field(default_factory=list)
    fixed: list[FindingChange] = Field(default_factory=list, description="fail or inconclusive before, "
                                       "pass, warn or not applicable now.")
    other: list[FindingChange] = Field(default_factory=list, description="Other status changes.")
    content: list[ContentChange] = Field(default_factory=list, description="Changed captions or media.")
    decisions_applied: list[DecisionChange] = Field(default_factory=list)
    decisions_dropped: list[DecisionChange] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not any((self.items_added, self.items_removed, self.verdicts, self.new_fails, self.fixed,
                        self.other, self.content, self.decisions_applied, self.decisions_dropped))


class RecordReport(Report):
    changes: Changes | None = None
    items: list[RecordItem] = Field(default_factory=list)


def parse_item(text: str, catalogue: Catalogue | None = None) -> RecordItem:
    """One `items` line of a 2.0 report.json (with or without the workflow fields), expanded
    against the header's catalogue into the engine's item."""
    from complianceguard.report.view import item_of

    return item_of(text, catalogue or {})
