"""The HTTP routes (FastAPI): checks answered at once, jobs accepted for the workers, and reads.

Every answer that is not a success is a `Problem`: one line, and the field when one is to blame.
Checks run in a small pool of check processes (`checks.CheckPool`), each with its own engine, shared
fairly between keys: the event loop keeps accepting requests meanwhile, and one key's slow checks
leave a process free for the others. A caption the same key checked before is answered from
`checks.ResultCache`. Nothing slow happens before the app answers: /healthz says the process is
up at once, /readyz says when the check processes and the packs are loaded.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import hashlib
import json
import logging
import re
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import anyio
from fastapi import FastAPI, File, Form, Header, Query, Request, Security, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic import ValidationError
from starlette.datastructures import UploadFile as StarletteUpload
from starlette.exceptions import HTTPException as StarletteHTTPException

from complianceguard import __version__
from complianceguard.api.auth import ApiKey, FailureThrottle, KeyRing, RateLimiter
from complianceguard.api.callbacks import CallbackPolicy, CallbackRefused
from complianceguard.api.checks import Answer, CheckPool, CheckProcessDied, Checks, InlineChecks, ResultCache
from complianceguard.api.gate import Gate
from complianceguard.api.pipeline import REPORT_MEDIA_TYPES, Pipeline, report_media_type
from complianceguard.api.schemas import (
    JobAccepted,
    JobListOut,
    JobOut,
    PackOut,
    Problem,
    ReviewEntryOut,
    ReviewIn,
    ReviewLogOut,
    RuleOut,
    SubmissionIn,
    describe,
    job_out,
    job_summary,
)
from complianceguard.api.reviews import ReviewRefused, entry_fields, head, render_review_page, reviewed_report
from complianceguard.api.settings import Settings
from complianceguard.api.store import IdempotencyConflict, Store
from complianceguard.api.tasks import QUEUE_NAME, JobQueue
from complianceguard.api.uploads import (
    MediaTooLarge,
    SavedMedia,
    UnsupportedMedia,
    allowed_description,
    save,
)
from complianceguard.extract import limits
from complianceguard.model import VERDICT_ORDER, ItemResult, Submission
from complianceguard.queue import make_huey
from complianceguard.report import FORMATS
from complianceguard.review import ChainBroken

log = logging.getLogger("complianceguard.api")
T = TypeVar("T")

CHECK_KINDS = frozenset({"image"})
JOB_KINDS = frozenset({"image", "video", "audio"})
MAX_IDEMPOTENCY_KEY = 255
ReportFormat = Literal[tuple(FORMATS)]  # type: ignore[valid-type]  # every format the report package has
JobState = Literal["queued", "running", "done", "failed"]
Verdict = Literal[tuple(VERDICT_ORDER)]  # type: ignore[valid-type]
MAX_PAGE = 100
JOB_ID = re.compile(r"^[0-9a-f]{32}$")


class ApiError(Exception):
    def __init__(self, status: int, detail: str, field: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status, self.detail, self.field, self.headers = status, detail, field, headers


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": Problem} for code in codes}


def _check_body_schema() -> dict[str, Any]:
    schema = SubmissionIn.model_json_schema()
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": schema},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["submission"],
            "properties": {
                "submission": {"type": "string", "description": "The submission fields as a JSON text."},
                "media": {"type": "array", "items": {"type": "string", "format": "binary"},
                          "description": f"Small images ({allowed_description(CHECK_KINDS)})."},
            }}},
    }}}


def create_app(settings: Settings, keys: KeyRing | None = None, pipeline: Pipeline | None = None,
               checks: Checks | None = None) -> FastAPI:
    """The app. Checks run on `checks`: by default one thread with `pipeline` (serve passes a CheckPool)."""
    keys = keys or KeyRing(settings.keys_file)
    per_process = max(1, settings.http_workers)  # each uvicorn process keeps its own buckets
    limiter = RateLimiter(settings.rate_limit / per_process, max(1, settings.burst // per_process))
    throttle = FailureThrottle(max(1, settings.auth_failure_burst // per_process),
                               settings.auth_failure_rate / per_process)
    store = Store(settings.jobs_db)
    queue = JobQueue(make_huey(settings.queue, QUEUE_NAME))
    pipeline = pipeline or Pipeline(settings.packs, asr_backend="none", ocr_fps=settings.ocr_fps)  # images only
    checks = checks or InlineChecks(pipeline)
    cache = ResultCache(settings.check_cache_bytes)
    callbacks = CallbackPolicy.for_server(settings.callback_hosts, settings.host, settings.port)
    max_pixels = settings.max_image_pixels or limits.max_pixels()  # the budget the CLI and scan use

    async def blocking(function: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(functools.partial(function, *args))

    app = FastAPI(
        title="complianceguard", version=__version__, openapi_url="/v1/openapi.json", docs_url=None,
        redoc_url=None,
        description=("Ad-disclosure checks for influencer posts against region rule packs. Every endpoint "
                     "but /healthz needs `Authorization: Bearer <API key>` (the review page for people, "
                     "/review/{job_id}, asks for the key and sends it so)."),
    )

    def body_limit(method: str, path: str) -> int:
        return settings.max_job_bytes if method == "POST" and path == "/v1/jobs" else settings.max_check_bytes

    app.state.checks = checks  # starting.Starting starts them
    app.add_middleware(ChecksLane, handle=lambda key_name, body: check_json(key_name, body))  # inside the gate
    app.add_middleware(Gate, keys=keys, limiter=limiter, body_limit=body_limit, throttle=throttle,
                       body_timeout_s=settings.body_timeout_s)
    bearer = Security(HTTPBearer(auto_error=False, description="An API key from the keys file or environment."))

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        field, message = describe(list(exc.errors()))
        return JSONResponse({"detail": message, "field": field}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_error_response(exc)

    @app.exception_handler(Exception)
    async def _internal_error(_: Request, exc: Exception) -> JSONResponse:
        return internal_error_response(exc)

    @app.get("/healthz", tags=["service"], summary="Liveness (no API key needed)")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/readyz", tags=["service"], summary="Readiness: checks answered without a start-up wait (no key)",
             responses={503: {"description": "Still starting: check processes or packs loading."}})
    async def readyz() -> JSONResponse:
        waiting = [what for what, ready in (("check processes", checks.ready), ("packs", pipeline.loaded))
                   if not ready]
        if waiting:
            return JSONResponse({"status": "starting", "detail": f"loading: {', '.join(waiting)}"},
                                status_code=503, headers={"Retry-After": "1"})
        return JSONResponse({"status": "ready", "version": __version__})

    # -- checks --

    @app.post("/v1/checks", tags=["checks"], dependencies=[bearer], response_model=None,
              summary="Check a caption (and small images) now",
              responses={200: {"model": ItemResult, "description": "The item, as `check --format json` prints it."},
                         **problems(401, 403, 408, 413, 415, 422, 429, 503)},
              openapi_extra=_check_body_schema())
    async def create_check(request: Request) -> Response:
        key_name = request.state.api_key.name
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        uploads: list[Any] = []
        if content_type == "multipart/form-data":
            form = await request.form()
            data = _parse_submission_text(form.get("submission"))
            uploads = [u for u in form.getlist("media") if isinstance(u, StarletteUpload)]
            if len(form.getlist("media")) != len(uploads):
                raise ApiError(422, "field media: expected files, got text", "media")
            if len(uploads) > settings.max_files:
                raise ApiError(413, f"field media: at most {settings.max_files} files in one request", "media")
        elif content_type in JSON_TYPES:  # normally answered by ChecksLane before FastAPI
            return await check_json(key_name, await request.body())
        else:
            raise ApiError(415, f"POST /v1/checks takes application/json or multipart/form-data, not {content_type}")
        submission = _validated(data, default_id="caption", where="submission")
        if not uploads:
            return await check_fields(key_name, submission)
        folder = settings.checks_dir / uuid.uuid4().hex  # images live only as long as their check
        try:
            saved = [await blocking(save, u.file, folder, u.filename, CHECK_KINDS, "media", max_pixels)
                     for u in uploads]
            post = Submission(**submission.model_dump(), media=[_relative(m.path, settings) for m in saved])
            answer = await evaluate(key_name, post)
        except UnsupportedMedia as exc:
            raise ApiError(415, str(exc), "media") from None
        except MediaTooLarge as exc:
            raise ApiError(413, str(exc), "media") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return Response(answer.body, media_type="application/json")

    async def check_json(key_name: str, raw: bytes) -> Response:
        """A check sent as JSON (ChecksLane's and the route's)."""
        try:
            data = json.loads(raw or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ApiError(422, f"field body: not valid JSON ({exc})", "body") from None
        except RecursionError:
            raise ApiError(422, "field body: JSON nested too deeply", "body") from None
        return await check_fields(key_name, _validated(data, default_id="caption", where="body"))

    async def check_fields(key_name: str, submission: SubmissionIn) -> Response:
        """A caption-only check: from the key's cache, else from a check process."""
        fields = submission.model_dump()
        digest = ResultCache.digest(fields)
        body = cache.get(key_name, digest)
        if body is not None:
            return Response(body, media_type="application/json", headers={"X-Check-Cache": "hit"})
        answer = await evaluate(key_name, Submission(**fields))
        if answer.cacheable:
            cache.put(key_name, digest, answer.body)
        return Response(answer.body, media_type="application/json", headers={"X-Check-Cache": "miss"})

    async def evaluate(key_name: str, submission: Submission) -> Answer:
        try:
            return await checks.evaluate(key_name, submission)
        except CheckProcessDied as exc:
            raise ApiError(503, str(exc), headers={"Retry-After": "1"}) from None

    # -- jobs --

    @app.post("/v1/jobs", tags=["jobs"], dependencies=[bearer], status_code=202, response_model=JobAccepted,
              summary="Submit a post with its media; evaluated by the workers",
              responses=problems(401, 403, 408, 413, 415, 422, 429))
    async def create_job(
        request: Request,
        submission: Annotated[str, Form(description="The submission fields as a JSON text (a manifest).")],
        media: Annotated[list[UploadFile], File(description=f"Media files ({allowed_description(JOB_KINDS)}).")] = [],  # noqa: B006
        callback_url: Annotated[str | None, Form(description="POSTed the job document when it finishes.")] = None,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key",
                                                      description="Same key and body: the same job.")] = None,
    ) -> Response:
        key: ApiKey = request.state.api_key
        if idempotency_key is not None and not (0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY):
            raise ApiError(422, f"field Idempotency-Key: 1 to {MAX_IDEMPOTENCY_KEY} characters", "Idempotency-Key")
        if callback_url is not None:
            try:
                await blocking(callbacks.check, callback_url)  # resolves the host: off the event loop
            except CallbackRefused as exc:
                raise ApiError(422, f"field callback_url: {exc}", "callback_url") from None
        if len(media) > settings.max_files:
            raise ApiError(413, f"field media: at most {settings.max_files} files in one request", "media")
        data = _parse_submission_text(submission)
        job_id = uuid.uuid4().hex
        validated = _validated(data, default_id=job_id)
        folder = settings.media_dir / job_id
        try:
            saved = [await blocking(save, u.file, folder, u.filename, JOB_KINDS, "media", max_pixels)
                     for u in media]
        except UnsupportedMedia as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise ApiError(415, str(exc), "media") from None
        except MediaTooLarge as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise ApiError(413, str(exc), "media") from None
        described = validated.model_dump(exclude_none=True)
        request_hash = _request_hash(data, callback_url, saved)
        try:
            job, created = await blocking(store.add_job, job_id, key.name, idempotency_key, request_hash, described,
                                          [m.describe() for m in saved], callback_url)
        except IdempotencyConflict as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise ApiError(422, f"field Idempotency-Key: already used for a different request (job {exc.job_id}); "
                                "use a new key for a new request", "Idempotency-Key") from None
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if created:
            try:
                await blocking(queue.evaluate, job.id)
            except Exception:
                log.exception("job %s: stored but not enqueued; the supervisor enqueues it within a minute", job.id)
        else:
            shutil.rmtree(folder, ignore_errors=True)
        body = JobAccepted(id=job.id, url=f"/v1/jobs/{job.id}", state=job.state)
        headers = {"Location": body.url}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse(body.model_dump(), status_code=202, headers=headers)

    @app.get("/v1/jobs/{job_id}", tags=["jobs"], dependencies=[bearer], response_model=JobOut,
             response_model_exclude_none=True, summary="A job's state, and its result when finished",
             responses=problems(401, 403, 404, 429))
    async def get_job(request: Request, job_id: str) -> JobOut:
        job = await blocking(store.job, job_id, request.state.api_key.name)
        if job is None:
            raise ApiError(404, f"no job {job_id}")
        return job_out(job, await blocking(store.deliveries, job.id), await reviews_of(job.id))

    async def reviews_of(job_id: str) -> list[dict[str, Any]]:
        try:
            return await blocking(store.reviews, job_id)
        except ChainBroken as exc:
            log.error("%s", exc)
            raise ApiError(500, f"{exc}; the log was altered outside the API") from None

    @app.get("/v1/jobs", tags=["jobs"], dependencies=[bearer], response_model=JobListOut,
             response_model_exclude_none=True, summary="The calling key's jobs, newest first, a page at a time",
             responses=problems(401, 403, 422, 429))
    async def list_jobs(
        request: Request,
        status: Annotated[JobState | None, Query(description="Only jobs in this state.")] = None,
        verdict: Annotated[Verdict | None, Query(description="Only finished jobs with this verdict.")] = None,
        region: Annotated[str | None, Query(description="Only jobs checked for this region (GB, US, EU ...).",
                                            pattern=r"^[A-Za-z]{2}$")] = None,
        created_after: Annotated[str | None, Query(description="ISO 8601 time (UTC unless it has an offset); "
                                                   "only jobs created after it.")] = None,
        created_before: Annotated[str | None, Query(description="ISO 8601 time; only jobs created before it.")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Jobs per page (at most {MAX_PAGE}).")] = 20,
        cursor: Annotated[str | None, Query(description="The `next` of the previous page.", max_length=200)] = None,
    ) -> JobListOut:
        after = _decode_cursor(cursor) if cursor else None
        jobs = await blocking(functools.partial(
            store.list_jobs, request.state.api_key.name, limit + 1, state=status, verdict=verdict,
            region=region.upper() if region else None, created_after=_query_time(created_after, "created_after"),
            created_before=_query_time(created_before, "created_before"), after=after))
        page, more = jobs[:limit], len(jobs) > limit
        return JobListOut(jobs=[job_summary(j) for j in page],
                          next=_encode_cursor(page[-1].created_at, page[-1].id) if more else None)

    # -- reviews --

    @app.post("/v1/jobs/{job_id}/reviews", tags=["reviews"], dependencies=[bearer], status_code=201,
              response_model=ReviewEntryOut, summary="Record a reviewer's decision on one of the job's findings",
              responses=problems(401, 403, 404, 409, 422, 429))
    async def create_review(request: Request, job_id: str, body: ReviewIn) -> JSONResponse:
        key_name = request.state.api_key.name
        job = await blocking(store.job, job_id, key_name)
        if job is None:
            raise ApiError(404, f"no job {job_id}")
        try:
            fields = entry_fields(job, body)
            entry = await blocking(store.add_review, job.id, key_name, fields)
        except ReviewRefused as exc:
            raise ApiError(exc.status, exc.detail, exc.field) from None
        except LookupError:
            raise ApiError(404, f"no job {job_id}") from None
        except ChainBroken as exc:
            log.error("%s", exc)
            raise ApiError(500, f"{exc}; nothing was appended") from None
        log.info("job %s: %s of %s %s by %r (key %s)", job.id, entry["decision"], entry["region"], entry["rule"],
                 entry["reviewer"], key_name)
        out = ReviewEntryOut(**entry, key=key_name)
        return JSONResponse(out.model_dump(), status_code=201, headers={"Location": f"/v1/jobs/{job.id}/reviews"})

    @app.get("/v1/jobs/{job_id}/reviews", tags=["reviews"], dependencies=[bearer], response_model=ReviewLogOut,
             summary="The job's review log (hash-chained, checked on every read)",
             responses=problems(401, 403, 404, 429, 500))
    async def list_reviews(request: Request, job_id: str) -> ReviewLogOut:
        job = await blocking(store.job, job_id, request.state.api_key.name)
        if job is None:
            raise ApiError(404, f"no job {job_id}")
        entries = await reviews_of(job.id)
        keys = await blocking(store.review_keys, job.id)
        return ReviewLogOut(job=job.id, entries=[ReviewEntryOut(**e, key=keys.get(e["seq"])) for e in entries],
                            head=head(entries))

    @app.get("/review/{job_id}", include_in_schema=False)
    async def review_page(job_id: str) -> HTMLResponse:
        # No key here (a browser cannot send one on a page load): the page holds no job data, asks for
        # the key and calls the API with it. Any well-formed id gets the page, so it tells nothing.
        if not JOB_ID.match(job_id):
            raise ApiError(404, "not a job id")
        page, csp = render_review_page(job_id)
        return HTMLResponse(page, headers={"Content-Security-Policy": csp, "Cache-Control": "no-store",
                                           "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
                                           "X-Frame-Options": "DENY"})

    @app.get("/v1/jobs/{job_id}/report", tags=["jobs"], dependencies=[bearer], response_model=None,
             summary="The job's report in one format",
             responses={200: {"content": {t.split(";")[0]: {} for t in REPORT_MEDIA_TYPES.values()}},
                        **problems(401, 403, 404, 409, 422, 429)})
    async def get_report(request: Request, job_id: str,
                         format: Annotated[ReportFormat, Query(description="Report format.")] = "json") -> Response:
        job = await blocking(store.job, job_id, request.state.api_key.name)
        if job is None:
            raise ApiError(404, f"no job {job_id}")
        if not job.finished:
            raise ApiError(409, f"job {job_id} is {job.state}; its report is ready when it is done")
        if job.report is None:
            raise ApiError(409, f"job {job_id} failed without a result: {job.error}")
        folder = settings.reports_dir / job.id
        entries = await reviews_of(job.id)
        if entries:  # the decisions shown beside the machine's statuses
            path = await blocking(reviewed_report, job, entries, format, settings.reports_dir, pipeline.library)
            return FileResponse(path, media_type=report_media_type(format))
        path = folder / (job.report_files or {}).get(format, "missing")
        if not path.is_file():
            path = await blocking(pipeline.render, job.report, format, folder)
        return FileResponse(path, media_type=report_media_type(format))

    # -- packs and rules --

    @app.get("/v1/packs", tags=["rules"], dependencies=[bearer], response_model=list[PackOut],
             response_model_exclude_none=True, summary="The rule packs this server checks against",
             responses=problems(401, 403, 429))
    async def list_packs() -> list[PackOut]:
        return [PackOut(id=p.pack.id, version=p.pack.version, name=p.pack.name, region=p.pack.region,
                        extends=p.pack.extends, languages=p.pack.languages, sha256=p.sha256,
                        rules=[r.code for r in p.pack.rules]) for p in pipeline.library.packs]

    @app.get("/v1/rules/{code}", tags=["rules"], dependencies=[bearer], response_model=RuleOut,
             response_model_exclude_none=True, summary="What a rule checks, why, the fix and its source",
             responses=problems(401, 403, 404, 429))
    async def get_rule(code: str) -> RuleOut:
        found = [(p, r) for p in pipeline.library.packs for r in p.pack.rules if r.code == code.upper()]
        if not found:
            raise ApiError(404, f"no rule with code {code}")
        pack, rule = found[0]
        return RuleOut(code=rule.code, packs=[p.ref for p, _ in found], region=pack.pack.region,
                       rule=rule.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"cases"}),
                       source=pack.pack.sources[rule.source.ref].model_dump(mode="json", exclude_none=True))

    return app


JSON_TYPES = ("application/json", "")  # a check's body without a content type is read as JSON


def problem_response(exc: ApiError) -> JSONResponse:
    return JSONResponse(Problem(detail=exc.detail, field=exc.field).model_dump(exclude_none=True),
                        status_code=exc.status, headers=exc.headers)


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)


def internal_error_response(exc: Exception) -> JSONResponse:
    log.exception("internal error")
    return JSONResponse({"detail": f"internal error ({type(exc).__name__})"}, status_code=500)


class ChecksLane:
    """`POST /v1/checks` with a JSON body, straight to its handler past FastAPI's routing, dependency
    and exception layers, which cost more CPU than a cached check itself (the route answers it the
    same way, and documents it). Behind the gate: the key, rate and body limits are checked already.
    Every other request goes on to the app."""

    def __init__(self, app: Any, handle: Callable[[str, bytes], Any]):
        self.app, self.handle = app, handle

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/v1/checks":
            await self.app(scope, receive, send)
            return
        content_type = b""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
        if content_type.split(b";")[0].strip().lower().decode("latin-1") not in JSON_TYPES:
            await self.app(scope, receive, send)
            return
        try:
            chunks, more = [], True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return  # the client went away
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
            response = await self.handle(scope["state"]["api_key"].name, b"".join(chunks))
        except ApiError as exc:
            response = problem_response(exc)
        except StarletteHTTPException as exc:  # the gate's 408 and 413
            response = http_error_response(exc)
        except Exception as exc:  # noqa: BLE001 - a bug: 500, logged, as the app's own handler does
            response = internal_error_response(exc)
        await response(scope, receive, send)


def _encode_cursor(created_at: str, job_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([created_at, job_id]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
            return value[0], value[1]
    except (binascii.Error, ValueError, UnicodeDecodeError):
        pass
    raise ApiError(422, "field cursor: not a cursor this server gave (pass the `next` of the previous page)", "cursor")


def _query_time(value: str | None, name: str) -> str | None:
    """An ISO 8601 time as the store writes times (UTC, to the millisecond), so they compare as text."""
    if value is None:
        return None
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ApiError(422, f"field {name}: not an ISO 8601 time (2026-01-31 or 2026-01-31T12:00:00Z)", name) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def _parse_submission_text(value: Any) -> Any:
    if value is None:
        raise ApiError(422, "field submission: required (the submission fields as a JSON text)", "submission")
    if not isinstance(value, str):
        raise ApiError(422, "field submission: expected JSON text, got a file", "submission")
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ApiError(422, f"field submission: not valid JSON (line {exc.lineno}: {exc.msg})", "submission") from None
    except RecursionError:
        raise ApiError(422, "field submission: JSON nested too deeply", "submission") from None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_texts(data: dict[str, Any], where: str) -> None:
    """Every text in the fields is real Unicode (no lone surrogate, which JSON's \\udcff escapes can
    carry) and within the caption limit (complianceguard.extract.limits, as for manifests): 422
    naming the first field that is not, before any validation or matching. Iterative, so any
    nesting is fine."""
    for name in data:
        if _SURROGATE.search(name):
            raise ApiError(422, f"field {where}: a field name that is not valid Unicode text "
                                f"({name.encode('utf-8', 'backslashreplace').decode()})", where)
    stack: list[tuple[str, Any]] = [(str(k), v) for k, v in reversed(data.items())]
    while stack:
        field, value = stack.pop()
        if isinstance(value, str):
            if (problem := limits.text_problem(value)) is not None:
                raise ApiError(422, f"field {field}: {problem}", field)
        elif isinstance(value, dict):
            stack.extend((f"{field}.{k}", v) for k, v in reversed(value.items()))
            for k in value:
                if _SURROGATE.search(str(k)):
                    raise ApiError(422, f"field {field}: a name that is not valid Unicode text", field)
        elif isinstance(value, list):
            stack.extend((f"{field}.{i}", v) for i, v in reversed(list(enumerate(value))))


def _validated(data: Any, default_id: str, where: str = "submission") -> SubmissionIn:
    if not isinstance(data, dict):
        raise ApiError(422, f"field {where}: expected a JSON object of fields (regions, caption ...)", where)
    _check_texts(data, where)
    try:
        return SubmissionIn.model_validate({"id": default_id, **data})
    except ValidationError as exc:
        field, message = describe(exc.errors())
        raise ApiError(422, message, field) from None


def _request_hash(data: Any, callback_url: str | None, saved: list[SavedMedia]) -> str:
    """What makes two requests 'the same' for Idempotency-Key: the submission as parsed (so key order
    and spacing do not matter), the callback and the media bytes in order."""
    canonical = json.dumps({"submission": data, "callback_url": callback_url, "media": [m.sha256 for m in saved]},
                           sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _relative(path: Path, settings: Settings) -> str:
    """Media paths as the pipeline sees them: relative to the data directory, its working directory."""
    return path.relative_to(settings.data_dir).as_posix()


def app_from_env() -> FastAPI:
    """The app of an HTTP process that `serve` starts (built by `starting.Starting`, in a thread)."""
    import os

    settings = Settings.from_env()
    os.chdir(settings.data_dir)
    # This process only lists packs and renders reports; checks run in the check processes. Both load
    # in the background: uvicorn answers (/healthz) as soon as this returns.
    pipeline = Pipeline(settings.packs, asr_backend="none", ocr_fps=settings.ocr_fps)
    threading.Thread(target=lambda: pipeline.library, name="cg-packs", daemon=True).start()
    checks = CheckPool(settings.check_workers, str(settings.data_dir), settings.packs, settings.ocr_fps,
                       start=False)  # started by starting.Starting on the event loop's thread
    return create_app(settings, pipeline=pipeline, checks=checks)
