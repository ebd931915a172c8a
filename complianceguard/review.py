"""Reviewers' decisions on findings: an append-only, hash-chained log beside the reports.

`complianceguard review REPORT_DIR --item ID --region XX --rule CODE --decision confirm|overrule
--reviewer NAME --reason TEXT` appends one JSON line to `REPORT_DIR/review.jsonl`:

    seq, time, reviewer, decision, reason, item, region, rule,
    content_sha256   the item's content hash in the report decided on: SHA-256 of its caption and
                   the SHA-256 of its media files as the report's `inputs` list them
    machine_status   the finding's status the reviewer saw
    prev             the previous entry's `hash` (64 zeros for the first)
    hash             SHA-256 of the entry's canonical JSON without `hash`

Nothing is ever rewritten: a changed mind is a new entry (the last applied one stands). `verify`
recomputes every hash and link, so an edited, removed or reordered entry is found (cutting entries
off the end leaves a valid shorter chain: the signed evidence bundle pins the whole log). A re-scan
into the folder applies each decision to its finding while the item's content hash is unchanged,
and drops it, visibly (`reviews[].state` = dropped, and the report's `changes`), when it changed.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from complianceguard.errors import ComplianceGuardError, InputError

LOG_NAME = "review.jsonl"
GENESIS = "0" * 64
DECISIONS = ("confirm", "overrule")
FIELDS = ("seq", "time", "reviewer", "decision", "reason", "item", "region", "rule", "content_sha256",
          "machine_status", "prev", "hash")
DROPPED_NOTE = "the post's caption or media changed since the decision"


class ChainBroken(ComplianceGuardError):
    """The log was edited: an entry's hash or link does not hold (exit code 1)."""


def content_hash(caption: str | None, media_sha256: Iterable[str]) -> str:
    """The content a decision is bound to: the caption as submitted and the media hashes in post order."""
    document = {"caption": caption or "", "media": list(media_sha256)}
    return hashlib.sha256(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")).hexdigest()


def entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    canonical = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def log_path(report_dir: Path) -> Path:
    return report_dir / LOG_NAME


def verify_lines(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The entries, checked: each line a JSON entry with every field, its own hash right, linked
    to the one before. Raises ChainBroken naming the first bad line."""
    entries: list[dict[str, Any]] = []
    prev = GENESIS
    for number, line in enumerate(lines, start=1):
        if not line.endswith("\n"):
            raise ChainBroken(f"line {number} is cut short (no newline at its end)")
        try:
            entry = json.loads(line)
        except ValueError:
            raise ChainBroken(f"line {number} is not a JSON entry") from None
        if not isinstance(entry, dict) or set(entry) != set(FIELDS):
            raise ChainBroken(f"line {number} is not a review entry (fields: {', '.join(FIELDS)})")
        if entry["hash"] != entry_hash(entry):
            raise ChainBroken(f"line {number} (entry {entry.get('seq')}) was altered: its hash does not match")
        if entry["prev"] != prev:
            raise ChainBroken(f"line {number} (entry {entry.get('seq')}) does not follow the entry before it "
                              "(an entry was removed, inserted or reordered)")
        if entry["seq"] != number:
            raise ChainBroken(f"line {number} has sequence number {entry['seq']}")
        prev = entry["hash"]
        entries.append(entry)
    return entries


def read_log(report_dir: Path) -> list[dict[str, Any]]:
    """The verified entries (none when there is no log)."""
    path = log_path(report_dir)
    if not path.is_file():
        return []
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from exc
    try:
        return verify_lines(text.splitlines(keepends=True))
    except ChainBroken as exc:
        raise ChainBroken(f"{path}: {exc}") from None


@dataclass(frozen=True)
class Target:
    item: str
    region: str
    rule: str
    content_sha256: str
    machine_status: str


def find_target(report_dir: Path, item_id: str, region: str, rule: str) -> Target:
    """The finding in REPORT_DIR/report.json a decision is about; one-line InputError if none."""
    from complianceguard.report import load_report

    path = report_dir / "report.json"
    if not path.is_file():
        raise InputError(f"{report_dir}: no report.json (scan into this folder first)")
    report = load_report(path)
    items = [i for i in report.items if i.id == item_id]
    if not items:
        raise InputError(f"--item: no item {item_id!r} in {path}")
    if len(items) > 1:
        raise InputError(f"--item: {len(items)} items have the id {item_id!r} in {path}; give posts unique ids")
    item = items[0]
    content = item_content(report_dir, item, report.inputs)
    result = item.regions.get(region.upper())
    if result is None:
        raise InputError(f"--region: item {item_id!r} was not checked for {region} "
                         f"(regions: {', '.join(item.regions) or 'none'})")
    finding = next((f for f in result.findings if f.rule == rule.upper()), None)
    if finding is None:
        raise InputError(f"--rule: no finding {rule} for item {item_id!r} in {region.upper()}")
    return Target(item.id, region.upper(), finding.rule, content.sha256, finding.status)


def _journal_records(path: Path) -> Iterable[tuple[dict[str, Any], str]]:
    """(meta, item JSON) of each whole record of a scan journal (complianceguard/batch/journal.py),
    read without opening it for writing (a Journal with another fingerprint would start afresh)."""
    import zlib

    with path.open("rb") as handle:
        handle.readline()  # the header
        while True:
            line = handle.readline()
            if not line.endswith(b"\n"):
                return
            try:
                meta = json.loads(line)
                size, crc = meta.pop("bytes"), meta.pop("crc32")
            except (ValueError, KeyError, TypeError, AttributeError):
                return
            body = handle.read(size + 1)
            if len(body) != size + 1 or zlib.crc32(body[:-1]) != crc:
                return
            yield meta, body[:-1].decode("utf-8")


def item_content(report_dir: Path, item: Any, inputs: list[dict[str, str]]) -> Any:
    """The item's content as the report's scan read it: its caption and the SHA-256 of each of its
    media files, which the report lists in `inputs`. Which media an item had is in the scan's
    journal beside the report; the journal record used is one whose item has this id and caption
    and whose media hashes are the report's."""
    from complianceguard.batch.journal import JOURNAL_NAME
    from complianceguard.report.changes import content_of

    journal = report_dir / JOURNAL_NAME
    hashes = {entry.get("path"): entry.get("sha256") for entry in inputs}
    found = None
    marker = '"id":' + json.dumps(item.id, ensure_ascii=False)
    try:
        for meta, body in _journal_records(journal):
            if marker not in body:
                continue
            data = json.loads(body)
            if data.get("id") != item.id or data.get("caption") != item.caption:
                continue
            media = meta.get("media") or []
            if all(hashes.get(shown) == digest for shown, _, digest in media):
                found = media  # the last one written wins (a re-check appends a newer record)
    except (OSError, ValueError, UnicodeDecodeError):
        found = None
    if found is None:
        raise InputError(f"--item {item.id}: cannot tell which media it had: {journal} is missing or is not the "
                         "journal of this report's scan (scan again into this folder)")
    content = content_of(item, found)
    if content is None:
        raise InputError(f"--item {item.id}: an input that never became a post cannot be reviewed")
    return content


def record(report_dir: Path, item_id: str, region: str, rule: str, decision: str, reviewer: str,
           reason: str, now: str | None = None) -> dict[str, Any]:
    """Append a decision (after checking the chain so far); returns the entry written."""
    from complianceguard.extract.limits import text_problem

    if decision not in DECISIONS:
        raise InputError(f"--decision: {decision!r} is not one of: {', '.join(DECISIONS)}")
    for name, value in (("--reviewer", reviewer), ("--reason", reason)):
        if not value or not value.strip():
            raise InputError(f"{name}: must not be empty")
        problem = text_problem(value)
        if problem:
            raise InputError(f"{name}: {problem}")
    target = find_target(report_dir, item_id, region, rule)
    path = log_path(report_dir)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as exc:
        raise InputError(f"{path}: cannot open the review log ({exc.strerror or exc})") from exc
    with os.fdopen(fd, "r+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # two reviewers at once: one after the other
        handle.seek(0)
        try:
            entries = verify_lines(handle.read().decode("utf-8").splitlines(keepends=True))
        except (ChainBroken, UnicodeDecodeError) as exc:
            raise ChainBroken(f"{path}: {exc}; nothing was appended") from None
        entry: dict[str, Any] = {
            "seq": len(entries) + 1,
            "time": now or dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "reviewer": reviewer.strip(), "decision": decision, "reason": reason.strip(),
            "item": target.item, "region": target.region, "rule": target.rule,
            "content_sha256": target.content_sha256, "machine_status": target.machine_status,
            "prev": entries[-1]["hash"] if entries else GENESIS,
        }
        entry["hash"] = entry_hash(entry)
        handle.write((json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
    return entry


# ------------------------------------------------------------------------ applying to a report


def by_item(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        grouped.setdefault(entry["item"], []).append(entry)
    return grouped


def apply_to_item(item: Any, entries: list[dict[str, Any]], content_sha256: str | None
                  ) -> tuple[Any, list[tuple[str, dict[str, Any]]]]:
    """The item (a RecordItem) with each finding's `reviews` from its entries, and (state, entry)
    for each entry: applied while the item's content hash is the one decided on, dropped when not."""
    from complianceguard.report.json_report import ReviewNote

    outcomes: list[tuple[str, dict[str, Any]]] = []
    notes: dict[tuple[str, str], list[ReviewNote]] = {}
    for entry in entries:
        result = item.regions.get(entry["region"])
        exists = result is not None and any(f.rule == entry["rule"] for f in result.findings)
        same = content_sha256 is not None and content_sha256 == entry["content_sha256"]
        state = "applied" if same and exists else "dropped"
        outcomes.append((state, entry))
        if exists:
            notes.setdefault((entry["region"], entry["rule"]), []).append(ReviewNote(
                decision=entry["decision"], reviewer=entry["reviewer"], time=entry["time"], reason=entry["reason"],
                machine_status=entry["machine_status"], content_sha256=entry["content_sha256"],
                entry=entry["hash"], state=state,
                note=None if same else DROPPED_NOTE))
    if not notes:
        return item, outcomes
    regions = {}
    for code, result in item.regions.items():
        findings = [f.model_copy(update={"reviews": notes[(code, f.rule)]}) if (code, f.rule) in notes else f
                    for f in result.findings]
        regions[code] = result.model_copy(update={"findings": findings})
    return item.model_copy(update={"regions": regions}), outcomes


def standing(finding: Any) -> Any:
    """The decision that stands on a finding (the last applied one), or None."""
    applied = [r for r in getattr(finding, "reviews", None) or [] if r.state == "applied"]
    return applied[-1] if applied else None
