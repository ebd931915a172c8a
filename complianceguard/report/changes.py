"""What a scan adds to the record when it writes into a report folder: the reviewers' decisions
(complianceguard/review.py), bound to each item's content hash (its caption and media hashes),
what changed since the report it replaces, and the `origin` of posts imported from yt-dlp. A first
scan into a fresh folder with none of these writes the engine's record unchanged.

`scan_batch` calls `annotate` once the posts are checked, before the reports are written: the
report.json already in the folder is read first (it is about to be replaced) and compared with
the new results:

- `items_added`, `items_removed`, item `verdicts` that changed;
- `new_fails` (fail now, not before), `fixed` (fail or inconclusive before; pass, warn or not
  applicable now), `other` status changes, per item, region and rule;
- `content`: captions or media (by path and SHA-256) that changed;
- `decisions_applied` / `decisions_dropped`: review decisions whose state differs from the
  previous report's (a decision is dropped when the item's content hash is not the one decided on).

Items are matched by id (the first item with an id, when a batch repeats one).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from complianceguard.errors import ComplianceGuardError
from complianceguard.report.json_report import (
    Changes, ContentChange, DecisionChange, FindingChange, ItemContent, MediaHash, RecordItem, RecordReport,
    item_record, parse_item,
)
from complianceguard.report.view import catalogue_of, statuses
from complianceguard.review import apply_to_item, by_item, content_hash, read_log

BAD = ("fail", "inconclusive")
GOOD = ("pass", "warn", "not-applicable")


@dataclass
class Snapshot:
    """What the previous report said about one item."""

    verdict: str
    statuses: dict[tuple[str, str], str] = field(default_factory=dict)
    caption_sha256: str | None = None
    reviews: dict[str, str] = field(default_factory=dict)  # log entry hash -> applied | dropped


@dataclass
class Previous:
    generated_at: str
    sha256: str
    items: dict[str, Snapshot]
    inputs: dict[str, str] = field(default_factory=dict)  # every file it read: path -> SHA-256


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_previous(path: Path) -> Previous | None:
    """The report.json about to be replaced, reduced to what `changes` compares; None when there is
    none or it cannot be read as a report (nothing to compare with)."""
    try:
        data = path.read_bytes()
        document = json.loads(data)
        items: dict[str, Snapshot] = {}
        catalogue = document.get("rules") or {}  # JSON dicts already: what na_rest needs
        for item in document.get("items", []):
            if item["id"] in items:
                continue
            snap = Snapshot(verdict=item.get("verdict", ""))
            for code, finding in statuses(item, catalogue):  # a 1.0 or a 2.x report
                snap.statuses[(code, finding["rule"])] = finding["status"]
                for note in finding.get("reviews", []):
                    snap.reviews[note["entry"]] = note.get("state", "applied")
            snap.caption_sha256 = _sha256_text(item.get("caption") or "")
            items[item["id"]] = snap
        inputs = {entry["path"]: entry["sha256"] for entry in document.get("inputs", [])}
        return Previous(str(document.get("generated_at", "")), hashlib.sha256(data).hexdigest(), items, inputs)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def content_of(item: Any, media: list[list[str]]) -> ItemContent | None:
    """The item's content (a RecordItem or its JSON as a dict): its caption and the media hashes
    the scan read ([shown, absolute, sha256]). None for an input that never became a post."""
    verdict = item.get("verdict") if isinstance(item, dict) else item.verdict
    caption = item.get("caption") if isinstance(item, dict) else item.caption
    if verdict == "error" and caption is None and not media:
        return None
    return ItemContent(sha256=content_hash(caption, [m[2] for m in media]),
                       caption_sha256=_sha256_text(caption or ""),
                       media=[MediaHash(path=m[0], sha256=m[2]) for m in media])


def _origin(result: Any) -> Any:
    if result.source and str(result.source).endswith(".info.json"):
        from complianceguard.importers import origin_of

        return origin_of(Path(result.source))
    return None


@dataclass
class Workflow:
    previous: Previous | None
    entries: dict[str, list[dict[str, Any]]]
    catalogue: dict[str, Any] = field(default_factory=dict)  # the header's rules: what records are written against

    def item(self, result: Any) -> tuple[RecordItem, ItemContent | None, list[tuple[str, dict[str, Any]]]]:
        """The result's item as a RecordItem (origin, review decisions), its content, the decisions' outcomes."""
        item = parse_item(result.item_json, self.catalogue)
        content = content_of(item, result.media)
        origin = _origin(result)
        if origin is not None:
            item = item.model_copy(update={"origin": origin})
        item, outcomes = apply_to_item(item, self.entries.get(item.id, []), content.sha256 if content else None)
        return item, content, outcomes

    def record(self, result: Any) -> tuple[str, dict[str, Any], ItemContent | None, list[tuple[str, dict[str, Any]]]]:
        """(the item's `items` line with the workflow fields, its JSON as a dict, its content, the
        decisions' outcomes). An item with no decisions is not re-serialised: `origin` is the last
        field of a RecordItem, so it is appended to the engine's line as it is."""
        if not self.entries and not (result.source and str(result.source).endswith(".info.json")) \
                and self.previous is None:
            return result.item_json, {}, None, []  # a first scan, no decisions: the engine's line
        data = json.loads(result.item_json)
        if self.entries.get(data.get("id")) or not result.item_json.endswith("}"):
            item, content, outcomes = self.item(result)
            return item_record(item, self.catalogue), data, content, outcomes
        content, origin = content_of(data, result.media), _origin(result)
        tail = ',"origin":' + origin.model_dump_json(exclude_none=True) if origin is not None else ""
        return result.item_json[:-1] + tail + "}", data, content, []

    def results(self, results: Callable[[], Iterable[Any]]) -> Callable[[], Iterator[Any]]:
        def annotated() -> Iterator[Any]:
            for result in results():
                yield replace(result, item_json=self.record(result)[0])
        return annotated

    def changes(self, results: Callable[[], Iterable[Any]]) -> Changes | None:
        if self.previous is None:
            return None
        before = self.previous.items
        seen: set[str] = set()
        out: dict[str, list[Any]] = {k: [] for k in ("items_added", "items_removed", "verdicts", "new_fails", "fixed",
                                                     "other", "content", "decisions_applied", "decisions_dropped")}
        for result in results():
            _, data, content, outcomes = self.record(result)
            item_id, verdict = data["id"], data.get("verdict")
            if item_id in seen:
                continue
            seen.add(item_id)
            snap = before.get(item_id)
            if snap is None:
                out["items_added"].append(item_id)
                snap = Snapshot(verdict="")
            elif snap.verdict != verdict:
                out["verdicts"].append(FindingChange(item=item_id, region="", rule="", was=snap.verdict, now=verdict))
            now = {(code, f["rule"]): f["status"] for code, f in statuses(data, self.catalogue)}
            for key in list(now) + [k for k in snap.statuses if k not in now]:
                was, status = snap.statuses.get(key), now.get(key)
                if was == status or (item_id not in before and status != "fail"):
                    continue
                change = FindingChange(item=item_id, region=key[0], rule=key[1], was=was, now=status)
                if status == "fail":
                    out["new_fails"].append(change)
                elif was in BAD and status in GOOD:
                    out["fixed"].append(change)
                else:
                    out["other"].append(change)
            if item_id in before and content is not None:
                read_before = self.previous.inputs
                diff = ContentChange(
                    item=item_id, caption=snap.caption_sha256 != content.caption_sha256,
                    media_added=[m.path for m in content.media if m.path not in read_before],
                    media_changed=[m.path for m in content.media
                                   if m.path in read_before and read_before[m.path] != m.sha256])
                if diff.caption or diff.media_added or diff.media_changed:
                    out["content"].append(diff)
            for state, entry in outcomes:
                if snap.reviews.get(entry["hash"]) != state:
                    out[f"decisions_{state}"].append(_decision(entry, state))
        for item_id, snap in before.items():
            if item_id not in seen:
                out["items_removed"].append(item_id)
                for entry in self.entries.get(item_id, []):
                    if snap.reviews.get(entry["hash"]) == "applied":
                        out["decisions_dropped"].append(_decision(entry, "dropped", "the post is not in this scan"))
        return Changes(previous_generated_at=self.previous.generated_at, previous_sha256=self.previous.sha256, **out)


def _decision(entry: dict[str, Any], state: str, note: str | None = None) -> DecisionChange:
    if state == "dropped" and note is None:
        note = "the post's caption or media changed since the decision"
    return DecisionChange(item=entry["item"], region=entry["region"], rule=entry["rule"], decision=entry["decision"],
                          reviewer=entry["reviewer"], entry=entry["hash"], note=note)


def annotate(header: Any, results: Callable[[], Iterable[Any]], out_dir: Path,
             warn: Callable[[str], None] | None = None) -> tuple[RecordReport, Callable[[], Iterator[Any]]]:
    """The report header with `changes`, and the results with each finding's reviews (and origin).
    Call before the new reports are written (the old report.json is what `changes` compares with)."""
    previous = read_previous(out_dir / "report.json")
    try:
        entries = by_item(read_log(out_dir))
    except ComplianceGuardError as exc:  # a broken or unreadable log must not lose the scan
        (warn or (lambda m: print(m, file=sys.stderr)))(
            f"warning: review decisions not applied: {exc} (see `complianceguard review verify {out_dir}`)")
        entries = {}
    flow = Workflow(previous, entries, catalogue_of(header))
    changes = flow.changes(results)
    fields = {name: getattr(header, name) for name in type(header).model_fields if name != "items"}
    return RecordReport(**fields, changes=changes), flow.results(results)


def _finding(change: FindingChange) -> str:
    return f"{change.item} {change.region} {change.rule}: {change.was or 'not there'} → {change.now or 'gone'}"


def describe(changes: Changes) -> list[tuple[str, list[str]]]:
    """The changes as (heading, lines of plain text), for the HTML and Markdown reports."""
    groups: list[tuple[str, list[str]]] = [
        ("New fails", [_finding(c) for c in changes.new_fails]),
        ("Fixed", [_finding(c) for c in changes.fixed]),
        ("Other status changes", [_finding(c) for c in changes.other]),
        ("Verdicts changed", [f"{c.item}: {c.was} → {c.now}" for c in changes.verdicts]),
        ("Captions or media changed", [
            f"{c.item}: " + "; ".join(part for part in (
                "caption edited" if c.caption else "",
                f"media added: {', '.join(c.media_added)}" if c.media_added else "",
                f"media changed: {', '.join(c.media_changed)}" if c.media_changed else "") if part)
            for c in changes.content]),
        ("Decisions applied", [f"{c.item} {c.region} {c.rule}: {c.decision} by {c.reviewer}"
                               for c in changes.decisions_applied]),
        ("Decisions dropped", [f"{c.item} {c.region} {c.rule}: {c.decision} by {c.reviewer} ({c.note})"
                               for c in changes.decisions_dropped]),
        ("Posts added", list(changes.items_added)),
        ("Posts removed", list(changes.items_removed)),
    ]
    return [(heading, lines) for heading, lines in groups if lines]

