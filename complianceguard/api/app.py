"""The HTTP routes (FastAPI): checks answered at once, jobs accepted for the workers, and reads.

Every answer that is not a success is a `Problem`: one line, and the field when one is to blame.
Checks run in a small pool of check processes (`checks.CheckPool`), each with its own engine, shared
fairly between keys: the event loop keeps accepting requests meanwhile, and one key's slow checks
leave a process free for the others.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import anyio
from fastapi import FastAPI, File, Form, Header, Query, Request, Security, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic import ValidationError
from starlette.datastructures import UploadFile as StarletteUpload
from starlette.exceptions import HTTPException as StarletteHTTPException

from complianceguard import __version__
from complianceguard.api.auth import ApiKey, FailureThrottle, KeyRing, RateLimiter
from complianceguard.api.callbacks import CallbackPolicy, CallbackRefused
from complianceguard.api.checks import CheckPool, CheckProcessDied, Checks, InlineChecks
from complianceguard.api.gate import Gate
from complianceguard.api.pipeline import REPORT_MEDIA_TYPES, Pipeline, report_media_type
from complianceguard.api.schemas import (
    JobAccepted,
    JobOut,
    PackOut,
    Problem,
    RuleOut,
    SubmissionIn,
    describe,
    job_out,
)
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
from complianceguard.model import ItemResult, Submission
from complianceguard.queue import make_huey
from complianceguard.report import FORMATS
from complianceguard.report.json_report import item_json

log = logging.getLogger("complianceguard.api")
T = TypeVar("T")

CHECK_KINDS = frozenset({"image"})
JOB_KINDS = frozenset({"image", "video", "audio"})
MAX_IDEMPOTENCY_KEY = 255
ReportFormat = Literal[tuple(FORMATS)]  # type: ignore[valid-type]  # every format the report package has


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
    callbacks = CallbackPolicy.for_server(settings.callback_hosts, settings.host, settings.port)
    max_pixels = settings.max_image_pixels or limits.max_pixels()  # the budget the CLI and scan use

    async def blocking(function: Callable[..., T], *args: Any) -> T:
        return await anyio.to_thread.run_sync(functools.partial(function, *args))

    app = FastAPI(
        title="complianceguard", version=__version__, openapi_url="/v1/openapi.json", docs_url=None,
        redoc_url=None,
        description=("Ad-disclosure checks for influencer posts against region rule packs. Every endpoint "
                     "but /healthz needs `Authorization: Bearer <API key>`."),
    )

    def body_limit(method: str, path: str) -> int:
        return settings.max_job_bytes if method == "POST" and path == "/v1/jobs" else settings.max_check_bytes

    app.add_middleware(Gate, keys=keys, limiter=limiter, body_limit=body_limit, throttle=throttle,
                       body_timeout_s=settings.body_timeout_s)
    bearer = Security(HTTPBearer(auto_error=False, description="An API key from the keys file or environment."))

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(Problem(detail=exc.detail, field=exc.field).model_dump(exclude_none=True),
                            status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        field, message = describe(list(exc.errors()))
        return JSONResponse({"detail": message, "field": field}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _internal_error(_: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error")
        return JSONResponse({"detail": f"internal error ({type(exc).__name__})"}, status_code=500)

    @app.get("/healthz", tags=["service"], summary="Liveness (no API key needed)")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

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
        elif content_type in ("application/json", ""):
            try:
                data = json.loads(await request.body() or b"null")
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ApiError(422, f"field body: not valid JSON ({exc})", "body") from None
            except RecursionError:
                raise ApiError(422, "field body: JSON nested too deeply", "body") from None
        else:
            raise ApiError(415, f"POST /v1/checks takes application/json or multipart/form-data, not {content_type}")
        where = "submission" if content_type == "multipart/form-data" else "body"
        submission = _validated(data, default_id="caption", where=where)
        if not uploads:
            item = await evaluate(key_name, Submission(**submission.model_dump()))
            return Response(item_json(item), media_type="application/json")
        folder = settings.checks_dir / uuid.uuid4().hex  # images live only as long as their check
        try:
            saved = [await blocking(save, u.file, folder, u.filename, CHECK_KINDS, "media", max_pixels)
                     for u in uploads]
            post = Submission(**submission.model_dump(), media=[_relative(m.path, settings) for m in saved])
            item = await evaluate(key_name, post)
        except UnsupportedMedia as exc:
            raise ApiError(415, str(exc), "media") from None
        except MediaTooLarge as exc:
            raise ApiError(413, str(exc), "media") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return Response(item_json(item), media_type="application/json")

    async def evaluate(key_name: str, submission: Submission) -> ItemResult:
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
        return job_out(job, await blocking(store.deliveries, job.id))

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
    """uvicorn's factory in the HTTP process(es) that `serve` starts."""
    import os

    from complianceguard.api.server import die_with_parent

    die_with_parent(os.getppid())  # with several uvicorn processes, each dies with their parent
    settings = Settings.from_env()
    os.chdir(settings.data_dir)
    # This process only lists packs and renders reports; checks run in the check processes.
    pipeline = Pipeline(settings.packs, asr_backend="none", ocr_fps=settings.ocr_fps)
    checks = CheckPool(settings.check_workers, str(settings.data_dir), settings.packs, settings.ocr_fps)
    return create_app(settings, pipeline=pipeline, checks=checks)
