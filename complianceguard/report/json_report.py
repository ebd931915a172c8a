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
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from complianceguard.model import Finding, ItemResult, RegionResult, Report
from complianceguard.report import atomic_write, atomic_writer
from complianceguard.report.view import Catalogue, catalogue_of, derived_catalogue, merged, record_of


def item_json(item: ItemResult) -> str:
    """One item, indented: what the CLI prints and the API answers for a single check."""
    return item.model_dump_json(indent=2, exclude_none=True)


def item_record(item: ItemResult, catalogue: Catalogue | None = None) -> str:
    """One item as the report's `items` array holds it (schema 2.0, against the header's rule
    catalogue: see report/view.py): one compact line."""
    return record_of(item, catalogue or {})


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
