"""The job store: SQLite under the data directory, and the source of truth for every job.

A job is accepted only once its row is committed (synchronous=FULL, so a reply of 202 means it is
on disk). The task queue only carries job ids and is rebuilt from this store when `serve` starts.
Every state change is one conditional UPDATE inside a write transaction, so two workers (or a
worker and a restart) can never both finish a job or both send its webhook.

    job:      queued -> running -> done | failed        running -> queued when its worker died
    webhook:  none | pending -> sending -> delivered | pending (retry) | exhausted
                                sending -> pending when the server stopped during the attempt
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 2  # 2: the reviews table and the listing index (a version-1 store is upgraded in place)
SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id               TEXT PRIMARY KEY,
    key_name         TEXT NOT NULL,
    idempotency_key  TEXT,
    request_hash     TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    submission       TEXT NOT NULL,
    media            TEXT NOT NULL,
    callback_url     TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    owner_pid        INTEGER,
    owner_started    REAL,
    created_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT,
    verdict          TEXT,
    result           TEXT,
    report           TEXT,
    report_files     TEXT,
    error            TEXT,
    webhook_state    TEXT NOT NULL DEFAULT 'none'
                     CHECK (webhook_state IN ('none', 'pending', 'sending', 'delivered', 'exhausted')),
    webhook_attempts INTEGER NOT NULL DEFAULT 0,
    UNIQUE (key_name, idempotency_key)
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state);
CREATE INDEX IF NOT EXISTS jobs_webhook_state ON jobs (webhook_state);
CREATE TABLE IF NOT EXISTS deliveries (
    job_id      TEXT NOT NULL REFERENCES jobs (id),
    attempt     INTEGER NOT NULL,
    url         TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    outcome     TEXT NOT NULL CHECK (outcome IN ('sending', 'delivered', 'failed', 'interrupted')),
    status_code INTEGER,
    error       TEXT,
    PRIMARY KEY (job_id, attempt)
);
"""
# Reviewers' decisions, per job: the entries of complianceguard/review.py's hash chain (each row's
# `entry` is the canonical JSON line review.jsonl would hold), appended in a write transaction.
# Append-only: SQLite refuses an UPDATE, and a DELETE while the job is still there (retention
# deletes the job first, then its log, in one transaction).
REVIEWS_SCHEMA = """
CREATE INDEX IF NOT EXISTS jobs_key_created ON jobs (key_name, created_at, id);
CREATE TABLE IF NOT EXISTS reviews (
    job_id    TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    key_name  TEXT NOT NULL,
    entry     TEXT NOT NULL,
    prev      TEXT NOT NULL,
    hash      TEXT NOT NULL,
    PRIMARY KEY (job_id, seq)
);
CREATE TRIGGER IF NOT EXISTS reviews_append_only BEFORE UPDATE ON reviews
BEGIN SELECT RAISE(ABORT, 'the review log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS reviews_kept_with_job BEFORE DELETE ON reviews
WHEN EXISTS (SELECT 1 FROM jobs WHERE id = OLD.job_id)
BEGIN SELECT RAISE(ABORT, 'the review log is append-only (it goes only with its job)'); END;
"""
INTERRUPTED = ("the server stopped during this attempt; the receiver may have got it, so it is sent "
               "again with the same delivery id")


def now(offset_s: float = 0.0) -> str:
    """UTC, ISO 8601 to the millisecond: sorts as text, so SQL can compare it."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset_s)).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Owner:
    """The worker process holding a job: its pid and start time, so a reused pid is not mistaken for it."""

    pid: int
    started: float


@dataclass(frozen=True)
class Job:
    id: str
    key_name: str
    idempotency_key: str | None
    request_hash: str
    state: str
    submission: dict[str, Any]
    media: list[dict[str, Any]]
    callback_url: str | None
    attempts: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    verdict: str | None
    result: str | None  # the item JSON
    report: str | None  # the report JSON
    report_files: dict[str, str] | None  # format -> file name, rendered under reports/<job id>/
    error: str | None
    webhook_state: str
    webhook_attempts: int
    owner: Owner | None = field(default=None, compare=False)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        data = dict(row)
        pid, started = data.pop("owner_pid"), data.pop("owner_started")
        data["submission"] = json.loads(data["submission"])
        data["media"] = json.loads(data["media"])
        data["report_files"] = json.loads(data["report_files"]) if data["report_files"] else None
        return cls(**data, owner=Owner(pid, started) if pid is not None else None)


@dataclass(frozen=True)
class Delivery:
    attempt: int
    url: str
    started_at: str
    finished_at: str | None
    outcome: str
    status_code: int | None
    error: str | None


class IdempotencyConflict(Exception):
    """The Idempotency-Key was already used by this API key for a different request."""

    def __init__(self, job_id: str):
        super().__init__(job_id)
        self.job_id = job_id


class Store:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute("PRAGMA journal_mode=WAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                from complianceguard.errors import InputError

                raise InputError(f"{path}: job store schema {version} is newer than this version reads "
                                 f"({SCHEMA_VERSION})")
            db.executescript(SCHEMA)
            db.executescript(REVIEWS_SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def _db(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection for one unit of work; `write` takes the write lock up front (BEGIN IMMEDIATE),
        so a read-then-update cannot interleave with another writer."""
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            if write:
                db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            if db.in_transaction:
                db.execute("COMMIT")
        finally:
            db.close()

    @staticmethod
    def _job(db: sqlite3.Connection, job_id: str) -> Job | None:
        row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job.from_row(row) if row else None

    # -- accepting and reading jobs (the HTTP process) --

    def add_job(self, job_id: str, key_name: str, idempotency_key: str | None, request_hash: str,
                submission: dict[str, Any], media: list[dict[str, Any]], callback_url: str | None) -> tuple[Job, bool]:
        """Insert a queued job; with an Idempotency-Key already used for the same request, the existing
        job and False. Raises IdempotencyConflict when the key was used for a different request."""
        with self._db(write=True) as db:
            if idempotency_key is not None:
                row = db.execute("SELECT * FROM jobs WHERE key_name = ? AND idempotency_key = ?",
                                 (key_name, idempotency_key)).fetchone()
                if row is not None:
                    existing = Job.from_row(row)
                    if existing.request_hash != request_hash:
                        raise IdempotencyConflict(existing.id)
                    return existing, False
            db.execute(
                "INSERT INTO jobs (id, key_name, idempotency_key, request_hash, state, submission, media, "
                "callback_url, created_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?)",
                (job_id, key_name, idempotency_key, request_hash, json.dumps(submission, sort_keys=True),
                 json.dumps(media), callback_url, now()))
            job = self._job(db, job_id)
        assert job is not None
        return job, True

    def job(self, job_id: str, key_name: str | None = None) -> Job | None:
        """A job, or None; with `key_name`, only a job that key submitted."""
        with self._db() as db:
            job = self._job(db, job_id)
        return job if job and (key_name is None or job.key_name == key_name) else None

    def deliveries(self, job_id: str) -> list[Delivery]:
        with self._db() as db:
            rows = db.execute("SELECT attempt, url, started_at, finished_at, outcome, status_code, error "
                              "FROM deliveries WHERE job_id = ? ORDER BY attempt", (job_id,)).fetchall()
        return [Delivery(**dict(r)) for r in rows]

    # -- evaluating (the workers) --

    def claim(self, job_id: str, owner: Owner, max_attempts: int) -> Job | None:
        """queued -> running for this worker; None when the job is not queued (another worker has it,
        or it is finished). A job whose evaluations died `max_attempts` times is failed instead."""
        with self._db(write=True) as db:
            job = self._job(db, job_id)
            if job is None or job.state != "queued":
                return None
            if job.attempts >= max_attempts:
                error = (f"evaluation was interrupted {job.attempts} times (the worker process died); "
                         "giving up on this job")
                db.execute("UPDATE jobs SET state = 'failed', verdict = 'error', error = ?, finished_at = ?, "
                           "webhook_state = CASE WHEN callback_url IS NULL THEN 'none' ELSE 'pending' END "
                           "WHERE id = ?", (error, now(), job_id))
            else:
                db.execute("UPDATE jobs SET state = 'running', attempts = attempts + 1, started_at = ?, "
                           "owner_pid = ?, owner_started = ? WHERE id = ?",
                           (now(), owner.pid, owner.started, job_id))
            return self._job(db, job_id)

    def finish(self, job_id: str, owner: Owner, verdict: str, result: str, report: str | None,
               report_files: dict[str, str] | None, error: str | None) -> Job | None:
        """running -> done (failed when the item is an error), once: only the worker holding the job
        can finish it. Arms the webhook when the job has a callback."""
        state = "failed" if verdict == "error" else "done"
        with self._db(write=True) as db:
            cursor = db.execute(
                "UPDATE jobs SET state = ?, verdict = ?, result = ?, report = ?, report_files = ?, error = ?, "
                "finished_at = ?, owner_pid = NULL, owner_started = NULL, "
                "webhook_state = CASE WHEN callback_url IS NULL THEN 'none' ELSE 'pending' END "
                "WHERE id = ? AND state = 'running' AND owner_pid = ? AND owner_started = ?",
                (state, verdict, result, report, json.dumps(report_files) if report_files else None, error, now(),
                 job_id, owner.pid, owner.started))
            return self._job(db, job_id) if cursor.rowcount else None

    # -- webhooks (the workers) --

    def begin_delivery(self, job_id: str, owner: Owner) -> tuple[Job, int] | None:
        """pending -> sending, recording the attempt before anything is sent; None when not pending."""
        with self._db(write=True) as db:
            job = self._job(db, job_id)
            if job is None or job.webhook_state != "pending" or not job.callback_url:
                return None
            attempt = job.webhook_attempts + 1
            db.execute("UPDATE jobs SET webhook_state = 'sending', webhook_attempts = ?, owner_pid = ?, "
                       "owner_started = ? WHERE id = ?", (attempt, owner.pid, owner.started, job_id))
            db.execute("INSERT INTO deliveries (job_id, attempt, url, started_at, outcome) "
                       "VALUES (?, ?, ?, ?, 'sending')", (job_id, attempt, job.callback_url, now()))
            return job, attempt

    def end_delivery(self, job_id: str, attempt: int, delivered: bool, status_code: int | None,
                     error: str | None, max_attempts: int) -> str:
        """Record how an attempt went; the webhook's next state (delivered, pending for a retry, exhausted)."""
        state = "delivered" if delivered else ("exhausted" if attempt >= max_attempts else "pending")
        with self._db(write=True) as db:
            db.execute("UPDATE deliveries SET finished_at = ?, outcome = ?, status_code = ?, error = ? "
                       "WHERE job_id = ? AND attempt = ? AND outcome = 'sending'",
                       (now(), "delivered" if delivered else "failed", status_code, error, job_id, attempt))
            cursor = db.execute("UPDATE jobs SET webhook_state = ?, owner_pid = NULL, owner_started = NULL "
                                "WHERE id = ? AND webhook_state = 'sending' AND webhook_attempts = ?",
                                (state, job_id, attempt))
        return state if cursor.rowcount else "superseded"

    # -- recovery (the supervisor) --

    def release_orphans(self, alive: Callable[[Owner], bool]) -> tuple[list[str], list[str]]:
        """Jobs and webhooks held by a worker that no longer runs go back to queued / pending.
        Returns (jobs to evaluate, webhooks to deliver) among those released."""
        held = "SELECT * FROM jobs WHERE state = 'running' OR webhook_state = 'sending'"
        with self._db() as db:  # a read first: most sweeps find nothing, and need no write lock
            if all(job.owner is not None and alive(job.owner) for job in map(Job.from_row, db.execute(held))):
                return [], []
        evaluate, deliver = [], []
        with self._db(write=True) as db:
            for job in map(Job.from_row, db.execute(held).fetchall()):
                if job.owner is not None and alive(job.owner):
                    continue
                if job.state == "running":
                    db.execute("UPDATE jobs SET state = 'queued', owner_pid = NULL, owner_started = NULL "
                               "WHERE id = ?", (job.id,))
                    evaluate.append(job.id)
                else:
                    db.execute("UPDATE deliveries SET outcome = 'interrupted', finished_at = ?, error = ? "
                               "WHERE job_id = ? AND attempt = ? AND outcome = 'sending'",
                               (now(), INTERRUPTED, job.id, job.webhook_attempts))
                    db.execute("UPDATE jobs SET webhook_state = 'pending', owner_pid = NULL, owner_started = NULL "
                               "WHERE id = ?", (job.id,))
                    deliver.append(job.id)
        return evaluate, deliver

    def waiting_since(self, before: str) -> tuple[list[str], list[str]]:
        """(jobs queued, webhooks never tried) since before `before`: normally just a long queue, but
        also what a process that died between committing and enqueueing left without a task."""
        with self._db() as db:
            queued = [r[0] for r in db.execute("SELECT id FROM jobs WHERE state = 'queued' AND created_at < ?",
                                               (before,))]
            pending = [r[0] for r in db.execute("SELECT id FROM jobs WHERE webhook_state = 'pending' AND "
                                                "webhook_attempts = 0 AND finished_at < ?", (before,))]
        return queued, pending

    def unfinished(self) -> tuple[list[str], list[str]]:
        """(queued jobs, pending webhooks), oldest first: what the queue must hold."""
        with self._db() as db:
            queued = [r[0] for r in db.execute("SELECT id FROM jobs WHERE state = 'queued' ORDER BY created_at")]
            pending = [r[0] for r in db.execute(
                "SELECT id FROM jobs WHERE webhook_state = 'pending' ORDER BY finished_at")]
        return queued, pending

    # -- listing (the HTTP process) --

    def list_jobs(self, key_name: str, limit: int, state: str | None = None, verdict: str | None = None,
                  region: str | None = None, created_after: str | None = None, created_before: str | None = None,
                  after: tuple[str, str] | None = None) -> list[Job]:
        """The key's jobs, newest first (created_at, then id, both descending), at most `limit`;
        `after` is the (created_at, id) of the last job of the previous page."""
        where, args = ["key_name = ?"], [key_name]
        for column, value in (("state", state), ("verdict", verdict)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if region is not None:
            where.append("EXISTS (SELECT 1 FROM json_each(jobs.submission, '$.regions') WHERE value = ?)")
            args.append(region)
        if created_after is not None:
            where.append("created_at > ?")
            args.append(created_after)
        if created_before is not None:
            where.append("created_at < ?")
            args.append(created_before)
        if after is not None:
            where.append("(created_at < ? OR (created_at = ? AND id < ?))")
            args += [after[0], after[0], after[1]]
        with self._db() as db:
            rows = db.execute(f"SELECT * FROM jobs WHERE {' AND '.join(where)} "
                              "ORDER BY created_at DESC, id DESC LIMIT ?", (*args, limit)).fetchall()
        return [Job.from_row(r) for r in rows]

    # -- review decisions (the HTTP process) --

    @staticmethod
    def _review_entries(db: sqlite3.Connection, job_id: str) -> list[dict[str, Any]]:
        from complianceguard.review import ChainBroken, verify_lines

        rows = db.execute("SELECT seq, entry, prev, hash FROM reviews WHERE job_id = ? ORDER BY seq",
                          (job_id,)).fetchall()
        try:
            entries = verify_lines(r["entry"] + "\n" for r in rows)
        except ChainBroken as exc:
            raise ChainBroken(f"job {job_id}: review log: {exc}") from None
        for row, entry in zip(rows, entries, strict=True):
            if (row["seq"], row["prev"], row["hash"]) != (entry["seq"], entry["prev"], entry["hash"]):
                raise ChainBroken(f"job {job_id}: review log: entry {row['seq']} does not match its columns")
        return entries

    def reviews(self, job_id: str) -> list[dict[str, Any]]:
        """The job's decisions, oldest first, with every hash and link checked (ChainBroken if not)."""
        with self._db() as db:
            return self._review_entries(db, job_id)

    def review_keys(self, job_id: str) -> dict[int, str]:
        """seq -> the name of the API key that recorded it (kept beside the chain, not in it)."""
        with self._db() as db:
            return {r[0]: r[1] for r in db.execute("SELECT seq, key_name FROM reviews WHERE job_id = ?", (job_id,))}

    def add_review(self, job_id: str, key_name: str, fields: dict[str, Any]) -> dict[str, Any]:
        """Append a decision to the job's chain (checked first, under the write lock): `fields` are the
        entry's fields but seq, prev and hash, which are set here. Returns the entry; LookupError
        when the job is gone."""
        from complianceguard.review import GENESIS, entry_hash

        with self._db(write=True) as db:
            if db.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone() is None:
                raise LookupError(job_id)  # deleted (retention) since the caller read it
            entries = self._review_entries(db, job_id)
            entry = {**fields, "seq": len(entries) + 1, "prev": entries[-1]["hash"] if entries else GENESIS}
            entry["hash"] = entry_hash(entry)
            db.execute("INSERT INTO reviews (job_id, seq, key_name, entry, prev, hash) VALUES (?, ?, ?, ?, ?, ?)",
                       (job_id, entry["seq"], key_name, json.dumps(entry, ensure_ascii=False, sort_keys=True),
                        entry["prev"], entry["hash"]))
        return entry

    # -- retention (the supervisor) --

    def expire(self, before: str) -> list[str]:
        """Delete the jobs created before `before` that nothing is working on (finished, webhook not
        pending or being sent), with their deliveries and review logs. Returns their ids."""
        with self._db(write=True) as db:
            ids = [r[0] for r in db.execute(
                "SELECT id FROM jobs WHERE created_at < ? AND state IN ('done', 'failed') "
                "AND webhook_state NOT IN ('pending', 'sending')", (before,))]
            for job_id in ids:
                db.execute("DELETE FROM deliveries WHERE job_id = ?", (job_id,))
                db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
                db.execute("DELETE FROM reviews WHERE job_id = ?", (job_id,))
        return ids

    def job_ids(self, ids: list[str]) -> set[str]:
        """Those of `ids` that are jobs in the store."""
        found: set[str] = set()
        with self._db() as db:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                found |= {r[0] for r in db.execute(
                    f"SELECT id FROM jobs WHERE id IN ({','.join('?' * len(chunk))})", chunk)}
        return found
