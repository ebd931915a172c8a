"""The work behind a job, as Huey tasks: evaluate it, then deliver its webhook.

A task carries only a job id; everything else is read from the store. A task that runs twice (a
restart re-enqueues whatever the store says is unfinished) finds the job already claimed or finished
and does nothing, so a job is evaluated to completion once and its webhook delivered once.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from functools import cached_property
from typing import TYPE_CHECKING

import psutil
from huey import Huey

from complianceguard.api import webhooks
from complianceguard.api.auth import KeyRing
from complianceguard.api.callbacks import CallbackPolicy
from complianceguard.api.schemas import job_out
from complianceguard.api.settings import WEBHOOK_SECRET_ENV, Settings
from complianceguard.api.store import Job, Owner, Store
from complianceguard.model import Submission
from complianceguard.report.json_report import item_json, report_json

if TYPE_CHECKING:  # the pipeline (spaCy and all) is imported by the worker process only
    from complianceguard.api.pipeline import Pipeline

QUEUE_NAME = "complianceguard-api"

log = logging.getLogger("complianceguard.api")


def owner_alive(owner: Owner) -> bool:
    """Is the process that claimed a job still the one running under that pid?"""
    try:
        process = psutil.Process(owner.pid)
        return abs(process.create_time() - owner.started) < 0.01 and process.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def job_media_paths(job: Job) -> list[str]:
    """Media paths relative to the data directory (the worker's working directory)."""
    return [f"media/{job.id}/{m['name']}" for m in job.media]


def server_webhook_secret(settings: Settings) -> str:
    return os.environ.get(WEBHOOK_SECRET_ENV) or settings.webhook_secret_file.read_text("utf-8").strip()


class JobQueue:
    """The API's tasks on a Huey queue. The HTTP process and the supervisor only enqueue; the
    consumer's processes run them through `worker`."""

    def __init__(self, huey: Huey, worker: JobRunner | None = None):
        self.huey = huey
        self.worker = worker
        self._evaluate = huey.task(name="api_evaluate_job")(self._run_evaluate)
        self._deliver = huey.task(name="api_deliver_webhook")(self._run_deliver)

    def evaluate(self, job_id: str) -> None:
        self._evaluate(job_id)

    def deliver(self, job_id: str, delay_s: float = 0) -> None:
        if delay_s > 0:
            self._deliver.schedule((job_id,), delay=delay_s)
        else:
            self._deliver(job_id)

    def rebuild(self, store: Store) -> tuple[int, int]:
        """Empty the queue and fill it again from the store: the store is the truth, and whatever the
        queue held when the server stopped (or lost when a worker died) is redone from it."""
        self.huey.flush()
        queued, pending = store.unfinished()
        for job_id in queued:
            self.evaluate(job_id)
        for job_id in pending:
            self.deliver(job_id)
        return len(queued), len(pending)

    def _run_evaluate(self, job_id: str) -> None:
        assert self.worker is not None, "tasks run only in the consumer's processes"
        self.worker.evaluate(job_id, self)

    def _run_deliver(self, job_id: str) -> None:
        assert self.worker is not None, "tasks run only in the consumer's processes"
        self.worker.deliver(job_id, self)


class JobRunner:
    """What a worker process needs to run a job; built once in the consumer, shared by its forks."""

    def __init__(self, settings: Settings, store: Store, pipeline: Pipeline, keys: KeyRing):
        self.settings, self.store, self.pipeline, self.keys = settings, store, pipeline, keys
        self._owner: Owner | None = None

    @property
    def owner(self) -> Owner:
        """This process (the pid changes after the consumer forks its workers)."""
        if self._owner is None or self._owner.pid != os.getpid():
            self._owner = Owner(os.getpid(), psutil.Process().create_time())
        return self._owner

    def evaluate(self, job_id: str, queue: JobQueue) -> None:
        job = self.store.claim(job_id, self.owner, self.settings.max_attempts)
        if job is None:
            return  # finished already, or another worker holds it
        if job.state == "running":
            log.info("job %s: evaluating (attempt %d)", job.id, job.attempts)
            job = self._evaluate(job)
        if job is None or not job.finished:
            return
        if not self.settings.keep_media:
            shutil.rmtree(self.settings.media_dir / job.id, ignore_errors=True)
        if job.webhook_state == "pending":
            queue.deliver(job.id)

    def _evaluate(self, job: Job) -> Job | None:
        fields = {k: v for k, v in job.submission.items() if k != "media"}
        try:
            item = self.pipeline.evaluate(Submission(**fields, media=job_media_paths(job)))
            inputs = {path: m["sha256"] for path, m in zip(job_media_paths(job), job.media, strict=True)}
            report = self.pipeline.report(item, inputs, {"job": job.id}, dt.datetime.now(dt.UTC))
            # Every format now, while the media is here to draw frame thumbnails from.
            files = self.pipeline.write_reports(report, self.settings.reports_dir / job.id)
            result, report_text = item_json(item), report_json(report)
        except Exception as exc:
            from complianceguard.scan import error_item

            log.exception("job %s: could not build the result", job.id)
            item = error_item(job.submission.get("id", job.id), f"internal error ({type(exc).__name__}: {exc})")
            result, report_text, files = item_json(item), None, None
        error = item.errors[0] if item.errors else None
        return self.store.finish(job.id, self.owner, item.verdict, result, report_text, files, error)

    def deliver(self, job_id: str, queue: JobQueue) -> None:
        claimed = self.store.begin_delivery(job_id, self.owner)
        if claimed is None:
            return
        job, attempt = claimed
        body = job_out(job).model_dump_json(exclude_none=True).encode("utf-8")
        outcome = webhooks.post(job.callback_url or "", body, self.secret_for(job.key_name), job.id,
                                self.settings.webhook_timeout_s, self.callback_policy)
        state = self.store.end_delivery(job.id, attempt, outcome.delivered, outcome.status_code, outcome.error,
                                        self.settings.webhook_attempts)
        log.info("job %s: webhook attempt %d %s", job.id, attempt, outcome.error or "delivered")
        if state == "pending":
            queue.deliver(job.id, webhooks.backoff(attempt, self.settings.webhook_backoff_s))

    def secret_for(self, key_name: str) -> str:
        key = self.keys.get(key_name)
        return (key.webhook_secret if key and key.webhook_secret else None) or self.server_secret

    @cached_property
    def callback_policy(self) -> CallbackPolicy:
        """Every delivery attempt checks its URL again (DNS may have changed since the job was accepted)."""
        return CallbackPolicy.for_server(self.settings.callback_hosts, self.settings.host, self.settings.port)

    @cached_property
    def server_secret(self) -> str:
        return server_webhook_secret(self.settings)

