"""Reviewers' decisions on a job's findings, over HTTP: the chain of complianceguard/review.py, kept
per job in the job store (the `reviews` table) instead of a review.jsonl beside a report.

Each entry has exactly the fields of a review.jsonl line and is hashed and linked the same way
(`review.entry_hash`, checked by `review.verify_lines` on every read), so a job's log can be
checked with the same code as the CLI's. A job's content never changes (a new post is a new job),
so every decision applies: the job document, its reports and the review page show the machine's
status, the standing decision and who made it, and an overruled finding stays in the record.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import shutil
from pathlib import Path
from typing import Any

from complianceguard.api.schemas import FindingReviewOut, JobReviewOut, ReviewIn
from complianceguard.api.store import Job
from complianceguard.extract.limits import text_problem
from complianceguard.report.json_report import RecordItem, RecordReport
from complianceguard.review import GENESIS, apply_to_item, content_hash, standing


class ReviewRefused(Exception):
    def __init__(self, status: int, detail: str, field: str | None = None):
        super().__init__(detail)
        self.status, self.detail, self.field = status, detail, field


def job_content_sha256(job: Job) -> str:
    """What a decision on this job is bound to: its caption and its media's SHA-256, in order."""
    return content_hash(job.submission.get("caption"), [m.get("sha256", "") for m in job.media])


def head(entries: list[dict[str, Any]]) -> str:
    return entries[-1]["hash"] if entries else GENESIS


def reviewed_item(job: Job, entries: list[dict[str, Any]]) -> RecordItem:
    """The job's item (its `result`: the engine's item JSON, as `check --format json` prints it)
    with each decided finding's `reviews`."""
    assert job.result is not None
    item = RecordItem.model_validate_json(job.result)
    if entries:
        item, _ = apply_to_item(item, entries, job_content_sha256(job))
    return item


def job_review(job: Job, item: RecordItem, entries: list[dict[str, Any]]) -> JobReviewOut:
    findings = []
    for code, result in item.regions.items():
        for finding in result.findings:
            decided = standing(finding)
            findings.append(FindingReviewOut(
                region=code, rule=finding.rule, name=finding.name, machine_status=finding.status,
                decision=decided.decision if decided else None, reviewer=decided.reviewer if decided else None,
                reason=decided.reason if decided else None, time=decided.time if decided else None,
                entry=decided.entry if decided else None, decisions=len(finding.reviews or [])))
    return JobReviewOut(url=f"/v1/jobs/{job.id}/reviews", page=f"/review/{job.id}", entries=len(entries),
                        head=head(entries), findings=findings)


def entry_fields(job: Job, body: ReviewIn, now: dt.datetime | None = None) -> dict[str, Any]:
    """The new entry's fields (all but seq, prev and hash), or ReviewRefused saying what is wrong."""
    if not job.finished:
        raise ReviewRefused(409, f"job {job.id} is {job.state}; its findings can be reviewed once it is done")
    if job.result is None:
        raise ReviewRefused(409, f"job {job.id} failed without a result: {job.error}")
    for name in ("reviewer", "reason"):
        value = getattr(body, name)
        if not value.strip():
            raise ReviewRefused(422, f"field {name}: must not be empty", name)
        if (problem := text_problem(value)) is not None:
            raise ReviewRefused(422, f"field {name}: {problem}", name)
    item = RecordItem.model_validate_json(job.result)
    region = body.region.strip().upper()
    result = item.regions.get(region)
    if result is None:
        raise ReviewRefused(422, f"field region: job {job.id} was not checked for {body.region!r} "
                                 f"(regions: {', '.join(item.regions) or 'none'})", "region")
    rule = body.rule.strip().upper()
    finding = next((f for f in result.findings if f.rule == rule), None)
    if finding is None:
        raise ReviewRefused(422, f"field rule: no finding {body.rule!r} in {region} "
                                 f"(rules: {', '.join(f.rule for f in result.findings) or 'none'})", "rule")
    when = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    return {"time": when, "reviewer": body.reviewer.strip(), "decision": body.decision,
            "reason": body.reason.strip(), "item": item.id, "region": region, "rule": finding.rule,
            "content_sha256": job_content_sha256(job), "machine_status": finding.status}


def parse_report(text: str) -> RecordReport:
    """A job's saved report JSON with its items as the engine's models (a 2.0 report's compact
    items expanded against its rule catalogue, report/view.py), ready for any writer."""
    import json

    data = json.loads(text)
    if str(data.get("schema_version", "1")).split(".")[0] == "1":
        return RecordReport.model_validate(data)
    from complianceguard.report.view import catalogue_of, item_of

    items = data.pop("items", [])
    header = RecordReport.model_validate({**data, "items": []})
    catalogue = catalogue_of(header)
    return header.model_copy(update={"items": [item_of(i, catalogue) for i in items]})


def reviewed_report(job: Job, entries: list[dict[str, Any]], fmt: str, reports_dir: Path, library: Any) -> Path:
    """The job's report in `fmt` with the decisions applied, rendered once per state of the log
    (under reports/<job>/reviewed-<head>/, with the job's thumbnails)."""
    from complianceguard.report import atomic_write, write_reports

    assert job.report is not None
    base = reports_dir / job.id
    folder = base / f"reviewed-{head(entries)[:16]}"
    report = parse_report(job.report)
    marker = folder / f".{fmt}.name"  # the file name the format's writer chose, once rendered
    if marker.is_file() and (done := folder / marker.read_text("utf-8").strip()).is_file():
        return done
    content = job_content_sha256(job)
    items = []
    for item in report.items:
        mine = [e for e in entries if e["item"] == item.id]
        items.append(apply_to_item(item, mine, content)[0] if mine else item)
    report = report.model_copy(update={"items": items})
    folder.mkdir(parents=True, exist_ok=True)
    if base.is_dir():  # the thumbnails the worker drew while the media was there
        for thumb in base.iterdir():
            copy = folder / thumb.name
            if thumb.is_file() and thumb.suffix.lower() in (".jpg", ".jpeg", ".png") and not copy.exists():
                shutil.copyfile(thumb, copy)
    path = write_reports(report, folder, [fmt], library=library)[0]
    atomic_write(marker, path.name)
    return path


# ------------------------------------------------------------------------ the review page

TEMPLATES = Path(__file__).parent / "templates"


@functools.lru_cache(maxsize=1)
def _page_parts() -> tuple[Any, str, str]:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    from complianceguard.report.html import TEMPLATES as REPORT_TEMPLATES

    script = (TEMPLATES / "review.js").read_text("utf-8")
    if "</" in script:
        raise ValueError("review.js must not contain '</' (it is inlined in a <script> element)")
    env = Environment(loader=FileSystemLoader([TEMPLATES, REPORT_TEMPLATES]),
                      autoescape=select_autoescape(default_for_string=True, default=True), undefined=StrictUndefined)
    digest = "sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return env.get_template("review.html.j2"), script, digest


def render_review_page(job_id: str) -> tuple[str, str]:
    """(the page, its Content-Security-Policy): only its own script runs, and it talks to this server only."""
    from markupsafe import Markup

    template, script, digest = _page_parts()
    csp = (f"default-src 'none'; script-src '{digest}'; style-src 'unsafe-inline'; img-src data:; "
           "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    return template.render(job_id=job_id, script=Markup(script)), csp
