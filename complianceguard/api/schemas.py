"""What goes over the wire: the submission a client sends and the documents it gets back.

The submission is the manifest model of `complianceguard.submission` (same fields, same checks, unknown
fields refused), except that media are uploaded files, never paths on this machine.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.json_schema import SkipJsonSchema

from complianceguard.api.store import Delivery, Job
from complianceguard.packs.schema import PostType
from complianceguard.report import FORMATS
from complianceguard.report.json_report import RecordItem
from complianceguard.submission import ManifestPost

FIELD_MARK = "\x00field "  # complianceguard.submission's mark for a model error naming its own field
NO_PATHS = "paths are not accepted over HTTP; upload the files as multipart `media` parts"
NO_THUMBNAIL_PATHS = "paths are not accepted over HTTP; give the thumbnail's file name alone (it is declared, not read)"


class SubmissionIn(ManifestPost):
    """A post's manifest fields as JSON (the fields of a `*.post.yaml`, without `media`)."""

    id: str = Field("caption", description="Your id for the post (default: `caption` for checks, the job id for jobs).")
    media: SkipJsonSchema[None] = Field(None, exclude=True)  # type: ignore[assignment]
    source_file: SkipJsonSchema[None] = Field(None, exclude=True)  # type: ignore[assignment]
    post_type: PostType | None = Field(None, description="feed | carousel | story | video | live | audio; left "
                                       "out: inferred from the media. Media parts keep their order (frame 1 first).")

    @field_validator("media", "source_file", "thumbnail", mode="before")
    @classmethod
    def _no_paths(cls, value: Any, info: ValidationInfo) -> Any:
        """No path on the server comes over HTTP: media are uploaded, and a thumbnail (declared, never
        read) is named by its bare file name, so none can point outside the upload folder."""
        if value is None or (info.field_name == "thumbnail" and _bare_file_name(value)):
            return value
        raise ValueError(NO_THUMBNAIL_PATHS if info.field_name == "thumbnail" else NO_PATHS)


def _bare_file_name(value: Any) -> bool:
    """A file name with no folder, drive or parent part ("cover.jpg", not "../cover.jpg" or "C:x")."""
    return (isinstance(value, str) and value not in ("", ".", "..") and value == value.strip()
            and not any(c in value for c in "/\\:\x00"))


def describe(errors: list[Any]) -> tuple[str, str]:
    """(field, one-line message) for the first of pydantic's or FastAPI's validation errors, worded as
    the manifest loader words them: `field regions: 'XX' is not an ISO 3166-1 alpha-2 code (or EU)`."""
    error = errors[0]
    field = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "header", "path"))
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if message.startswith(FIELD_MARK):  # a model-level check of the manifest model that names its field
        field, _, message = message.removeprefix(FIELD_MARK).partition(": ")
    kind = error.get("type")
    if kind == "json_invalid":
        field, message = "", f"not valid JSON ({error.get('ctx', {}).get('error', 'decode error')})"
    elif kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "literal_error":
        message = f"{error.get('input')!r} is not one of: {error['ctx']['expected']}"
    elif kind == "missing":
        message = "required"
    field = field or "body"
    return field, f"field {field}: {message}"


class Problem(BaseModel):
    """Every error answer: one line saying what is wrong, and the field when one is to blame."""

    detail: str
    field: str | None = None


class MediaOut(BaseModel):
    name: str = Field(description="The generated name it is stored and reported under.")
    filename: str | None = Field(None, description="The client's file name, kept as a label only.")
    kind: str = Field(description="image | video | audio")
    content_type: str
    size: int
    sha256: str


class DeliveryOut(BaseModel):
    attempt: int
    url: str
    started_at: str
    finished_at: str | None = None
    outcome: str = Field(description="sending | delivered | failed | interrupted")
    status_code: int | None = None
    error: str | None = None


class WebhookOut(BaseModel):
    url: str
    state: str = Field(description="pending | sending | delivered | exhausted (none before the job finishes)")
    deliveries: list[DeliveryOut] = Field(default_factory=list)


class JobAccepted(BaseModel):
    id: str
    url: str
    state: str


class FindingReviewOut(BaseModel):
    region: str
    rule: str
    name: str
    machine_status: str = Field(description="The finding's status as the machine decided it (it never changes).")
    decision: Literal["confirm", "overrule"] | None = Field(None, description="The decision that stands (the "
                                                             "last one), if any.")
    reviewer: str | None = None
    reason: str | None = None
    time: str | None = None
    entry: str | None = Field(None, description="The hash of the log entry that recorded the standing decision.")
    decisions: int = Field(0, description="Decisions recorded on this finding (a changed mind is a new one).")


class JobReviewOut(BaseModel):
    url: str = Field(description="The review log: GET it, or POST a decision to it.")
    page: str = Field(description="The review page for people (asks for an API key).")
    entries: int
    head: str = Field(description="The last entry's hash (64 zeros when there is none).")
    findings: list[FindingReviewOut] = Field(default_factory=list)


class ReviewIn(BaseModel):
    """A reviewer's decision on one finding of a finished job."""

    model_config = ConfigDict(extra="forbid")

    region: str = Field(description="The region code the finding is in (GB, US, ...).", max_length=8)
    rule: str = Field(description="The rule code of the finding (GB103 ...).", max_length=64)
    decision: Literal["confirm", "overrule"]
    reviewer: str = Field(description="Who decides (a name or e-mail address).", max_length=200)
    reason: str = Field(description="Why: kept in the record with the decision.", max_length=4000)


class ReviewEntryOut(BaseModel):
    """One entry of the job's hash chain, in the format of `complianceguard review`'s review.jsonl."""

    seq: int
    time: str
    reviewer: str
    decision: Literal["confirm", "overrule"]
    reason: str
    item: str
    region: str
    rule: str
    content_sha256: str = Field(description="SHA-256 of the job's caption and media hashes decided on.")
    machine_status: str = Field(description="The finding's status when the decision was made.")
    prev: str = Field(description="The previous entry's hash (64 zeros for the first).")
    hash: str = Field(description="SHA-256 of the entry's canonical JSON without `hash`.")
    key: str | None = Field(None, description="The API key (its name) that recorded it; not part of the hash.")


class ReviewLogOut(BaseModel):
    job: str
    entries: list[ReviewEntryOut]
    head: str = Field(description="The last entry's hash (64 zeros when there is none).")
    verified: bool = Field(True, description="Every hash and link was checked before answering.")


class JobSummaryOut(BaseModel):
    id: str
    url: str
    state: str = Field(description="queued | running | done | failed")
    verdict: str | None = None
    created_at: str
    finished_at: str | None = None
    item: str | None = Field(None, description="The submission's id.")
    regions: list[str] = Field(default_factory=list)
    platform: str | None = None
    error: str | None = None


class JobListOut(BaseModel):
    jobs: list[JobSummaryOut]
    next: str | None = Field(None, description="Pass as `cursor` (with the same filters) for the next page; "
                                               "absent on the last page.")


class JobOut(BaseModel):
    id: str
    url: str
    state: str = Field(description="queued | running | done | failed")
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    attempts: int = Field(description="Evaluations started (more than 1 after a worker died or a restart).")
    verdict: str | None = None
    error: str | None = None
    submission: dict[str, Any]
    media: list[MediaOut] = Field(default_factory=list)
    webhook: WebhookOut | None = None
    result: RecordItem | None = Field(None, description=(
        "The item, as `complianceguard check --format json` prints it; each finding that reviewers decided "
        "also has `reviews` (oldest first; its `status` stays the machine's)."))
    reports: dict[str, str] = Field(default_factory=dict, description="Report URLs by format, once finished.")
    review: JobReviewOut | None = Field(None, description="Reviewers' decisions, once the job is done.")


class PackOut(BaseModel):
    id: str
    version: str
    name: str
    region: str | None = None
    extends: str | None = None
    languages: list[str]
    sha256: str
    rules: list[str]


class RuleOut(BaseModel):
    code: str
    packs: list[str] = Field(description="The packs (id@version) that carry this rule.")
    region: str | None = None
    rule: dict[str, Any]
    source: dict[str, Any]


def job_summary(job: Job) -> JobSummaryOut:
    submission = job.submission
    return JobSummaryOut(id=job.id, url=f"/v1/jobs/{job.id}", state=job.state, verdict=job.verdict,
                         created_at=job.created_at, finished_at=job.finished_at, item=submission.get("id"),
                         regions=list(submission.get("regions") or []), platform=submission.get("platform"),
                         error=job.error)


def job_out(job: Job, deliveries: list[Delivery] | None = None,
            reviews: list[dict[str, Any]] | None = None) -> JobOut:
    """The job document: what GET /v1/jobs/{id} answers and what the webhook carries.

    The webhook's copy has no deliveries (they change with every attempt; the body must not)."""
    url = f"/v1/jobs/{job.id}"
    webhook = None
    if job.callback_url and deliveries is not None:
        webhook = WebhookOut(url=job.callback_url, state=job.webhook_state,
                             deliveries=[DeliveryOut(**vars(d)) for d in deliveries])
    result, review = None, None
    if job.result:
        from complianceguard.api.reviews import job_review, reviewed_item

        result = reviewed_item(job, reviews or [])
        if reviews is not None and job.state == "done":
            review = job_review(job, result, reviews)
    return JobOut(
        id=job.id, url=url, state=job.state, created_at=job.created_at, started_at=job.started_at,
        finished_at=job.finished_at, attempts=job.attempts, verdict=job.verdict, error=job.error,
        submission=job.submission, media=[MediaOut(**m) for m in job.media], webhook=webhook,
        result=result,
        reports={fmt: f"{url}/report?format={fmt}" for fmt in FORMATS} if job.report else {},
        review=review,
    )
