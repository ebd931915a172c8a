"""What goes over the wire: the submission a client sends and the documents it gets back.

The submission is the manifest model of `complianceguard.submission` (same fields, same checks, unknown
fields refused), except that media are uploaded files, never paths on this machine.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from complianceguard.api.store import Delivery, Job
from complianceguard.model import ItemResult
from complianceguard.packs.schema import PostType
from complianceguard.report import FORMATS
from complianceguard.submission import ManifestPost

FIELD_MARK = "\x00field "  # complianceguard.submission's mark for a model error naming its own field
NO_PATHS = "paths are not accepted over HTTP; upload the files as multipart `media` parts"


class SubmissionIn(ManifestPost):
    """A post's manifest fields as JSON (the fields of a `*.post.yaml`, without `media`)."""

    id: str = Field("caption", description="Your id for the post (default: `caption` for checks, the job id for jobs).")
    media: SkipJsonSchema[None] = Field(None, exclude=True)  # type: ignore[assignment]
    source_file: SkipJsonSchema[None] = Field(None, exclude=True)  # type: ignore[assignment]
    post_type: PostType | None = Field(None, description="feed | carousel | story | video | live | audio; left "
                                       "out: inferred from the media. Media parts keep their order (frame 1 first).")

    @field_validator("media", "source_file", mode="before")
    @classmethod
    def _no_paths(cls, value: Any) -> None:
        if value is not None:
            raise ValueError(NO_PATHS)


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
    result: ItemResult | None = Field(None, description="The item, as `complianceguard check --format json` prints it.")
    reports: dict[str, str] = Field(default_factory=dict, description="Report URLs by format, once finished.")


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


def job_out(job: Job, deliveries: list[Delivery] | None = None) -> JobOut:
    """The job document: what GET /v1/jobs/{id} answers and what the webhook carries.

    The webhook's copy has no deliveries (they change with every attempt; the body must not)."""
    url = f"/v1/jobs/{job.id}"
    webhook = None
    if job.callback_url and deliveries is not None:
        webhook = WebhookOut(url=job.callback_url, state=job.webhook_state,
                             deliveries=[DeliveryOut(**vars(d)) for d in deliveries])
    return JobOut(
        id=job.id, url=url, state=job.state, created_at=job.created_at, started_at=job.started_at,
        finished_at=job.finished_at, attempts=job.attempts, verdict=job.verdict, error=job.error,
        submission=job.submission, media=[MediaOut(**m) for m in job.media], webhook=webhook,
        result=ItemResult.model_validate_json(job.result) if job.result else None,
        reports={fmt: f"{url}/report?format={fmt}" for fmt in FORMATS} if job.report else {},
    )
