"""Scale-out: a scan's posts as Huey tasks on a shared queue, checked by workers on any machine.

    complianceguard worker --queue redis://queue-host:6379/0      # on each machine
    complianceguard scan deliverables/ --queue redis://queue-host:6379/0 --out reports

The engine is Huey (complianceguard/queue.py, as the HTTP API uses), on a queue of its own
(`complianceguard-scan`) so scan chunks and API jobs never meet a worker that does not know them.
The submitter enqueues chunks of work units (a post with media alone, caption-only posts up to
CHUNK together), collects their results, journals them and writes the reports exactly as a local
scan does. Each worker checks a chunk on its own local pool (complianceguard/batch/pool.py), so a
hung or crashing post is that post's `error`, never the worker's.

Huey does not redeliver a task whose worker dies, so the scan does: a worker holds a lease on the
chunk it is checking (`lease:<batch>:<chunk>:<attempt>` = worker name and expiry, renewed every
HEARTBEAT_S), and a chunk whose lease has expired with no result is enqueued again as a new
attempt. The first attempt to answer wins; a late answer from a worker presumed dead is dropped,
so every post is reported exactly once. A worker skips chunks of a scan that has stopped
(`alive:<batch>`, renewed by the submitter), and refuses a scan whose packs or version differ
from its own (the settings' fingerprint), so all machines give the report one machine would.

Workers read media by the paths the submitter resolved: the batch folder must be mounted at the
same path on every machine (a post whose files are missing there is that post's `error`).
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from complianceguard.batch.work import Checker, ScanSettings, UnitResult, WorkUnit, failure_result

if TYPE_CHECKING:
    from huey import Huey

    from complianceguard.batch.pool import WorkerPool
    from complianceguard.packs.loader import PackLibrary

QUEUE_NAME = "complianceguard-scan"
TASK_NAME = "complianceguard.scan_chunk"
CHUNK = 32  # caption-only posts per task: a few hundred milliseconds of work
WINDOW = 256  # chunks enqueued and not yet answered, at most (bounds the queue's memory)
HEARTBEAT_S = 1.0
ALIVE_S = 120.0  # a scan whose submitter has not been heard of for this long is abandoned
NEVER_STARTED_S = 60.0  # a chunk passed over by the queue this long ago was lost with its worker

log = logging.getLogger("complianceguard.worker")


def scan_huey(url: str) -> Huey:
    from complianceguard.queue import make_huey

    return make_huey(url, name=QUEUE_NAME)


def connect(url: str) -> Huey:
    """The scan queue at `url`, checked to answer: a one-line error when it does not."""
    from complianceguard.errors import ComplianceGuardError

    huey = scan_huey(url)
    try:
        huey.pending_count()
    except Exception as exc:  # noqa: BLE001 - redis.ConnectionError, sqlite3.Error ...: "not usable"
        raise ComplianceGuardError(f"{url}: cannot reach the queue ({str(exc).splitlines()[0]})") from None
    return huey


def register(huey: Huey) -> Any:
    """The chunk task on this Huey instance (submitter and workers register the same name)."""
    return huey.task(name=TASK_NAME)(_scan_chunk)


_RUNTIME: WorkerRuntime | None = None  # set by `serve` in a worker process


def _scan_chunk(batch: str, chunk: int, attempt: int, settings: ScanSettings, fingerprint: str,
                units: list[WorkUnit]) -> dict[str, Any] | None:
    if _RUNTIME is None:
        raise RuntimeError("scan chunks run in `complianceguard worker` processes")
    try:
        return _RUNTIME.run_chunk(batch, chunk, attempt, settings, fingerprint, units)
    except Exception as exc:  # answered per post, so the scan does not wait forever
        log.exception("chunk %d of scan %s failed", chunk, batch[:8])
        reason = f"worker {_RUNTIME.name} failed ({type(exc).__name__}: {exc})"
        return {"worker": _RUNTIME.name, "results": [asdict(failure_result(u, reason)) for u in units]}


def _lease_key(batch: str, chunk: int, attempt: int) -> str:
    return f"lease:{batch}:{chunk}:{attempt}"


# ------------------------------------------------------------------------------------- worker


@lru_cache(maxsize=4)
def _checker(settings: ScanSettings) -> Checker:
    """One checker per scan's settings, built in the pool process that first needs it."""
    return Checker.from_settings(settings)


def _check_in_child(task: tuple[ScanSettings, WorkUnit]) -> UnitResult:
    settings, unit = task
    return _checker(settings).safe_check(unit)


@lru_cache(maxsize=4)
def _fingerprint(settings: ScanSettings) -> str:
    from complianceguard.batch.work import settings_library

    return settings.fingerprint(settings_library(settings))


def _warm_up() -> None:
    """Load the checking code and every language's spaCy pipeline before the pool is forked, so
    each pool process starts with them (French alone takes seconds)."""
    from complianceguard.analyze import Analyzer, pipeline
    from complianceguard.packs.loader import PackLibrary

    analyzer = Analyzer([p for p in PackLibrary().packs if not p.pack.abstract])
    for language in (*analyzer.candidate_languages, "xx", "zh", "ko"):  # + the by-script fallbacks
        pipeline(language)


class WorkerRuntime:
    """A worker machine: its process pool, its name, and how it runs one chunk."""

    def __init__(self, huey: Huey, jobs: int, lease_s: float, name: str):
        from complianceguard.batch.pool import WorkerPool

        self.huey, self.lease_s, self.name = huey, lease_s, name
        self.pool: WorkerPool = WorkerPool(jobs, _check_in_child, timeout_s=600.0)

    def run_chunk(self, batch: str, chunk: int, attempt: int, settings: ScanSettings, fingerprint: str,
                  units: list[WorkUnit]) -> dict[str, Any] | None:
        alive = self.huey.get(f"alive:{batch}", peek=True)
        if alive is None or alive < time.time():
            log.info("skipping chunk %d of scan %s: the scan has stopped", chunk, batch[:8])
            return None
        started = time.monotonic()
        try:
            mine = _fingerprint(settings)
        except Exception as exc:  # noqa: BLE001 - a worker that cannot load the scan's packs says so per post
            mine = f"unusable ({type(exc).__name__}: {exc})"
        if mine != fingerprint:
            reason = (f"worker {self.name} checks with other rule packs or another complianceguard version than "
                      f"the scan ({mine[:12]} vs {fingerprint[:12]}); install the same on every machine")
            results = [failure_result(u, reason) for u in units]
        else:
            results = self._check(batch, chunk, attempt, settings, units)
        log.info("checked chunk %d of scan %s (%d posts) in %.1f s", chunk, batch[:8], len(units),
                 time.monotonic() - started)
        return {"worker": self.name, "results": [asdict(r) for r in results]}

    def _check(self, batch: str, chunk: int, attempt: int, settings: ScanSettings,
               units: list[WorkUnit]) -> list[UnitResult]:
        from complianceguard.batch.pool import Failure

        key = _lease_key(batch, chunk, attempt)
        renewed = 0.0

        def heartbeat() -> None:
            nonlocal renewed
            if time.monotonic() - renewed >= HEARTBEAT_S:
                self.huey.put(key, (self.name, time.time() + self.lease_s))
                renewed = time.monotonic()

        heartbeat()
        by_index = {u.index: u for u in units}
        results: dict[int, UnitResult] = {}

        def answered(index: int, result: UnitResult | Failure) -> None:
            results[index] = failure_result(by_index[index], result.reason) if isinstance(result, Failure) else result

        self.pool.timeout_s = settings.timeout_s
        self.pool.run([(u.index, (settings, u)) for u in units], answered, heavy=lambda t: t[1].heavy,
                      tick=heartbeat)
        return [results[u.index] for u in units]

    def close(self) -> None:
        self.pool.close()


def serve(url: str, jobs: int, lease_s: float = 30.0, name: str | None = None) -> None:
    """Run a worker until SIGINT/SIGTERM: the pool first (forked before Huey starts its threads)."""
    global _RUNTIME
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("huey").setLevel(logging.WARNING)
    huey = connect(url)
    name = name or f"{socket.gethostname()}:{os.getpid()}"
    _warm_up()
    _RUNTIME = WorkerRuntime(huey, jobs, lease_s, name)
    register(huey)
    log.info("worker %s: %d processes on %s (queue %s)", name, jobs, url, QUEUE_NAME)
    try:
        huey.create_consumer(workers=1, worker_type="thread", periodic=False).run()
    finally:
        _RUNTIME.close()
        _RUNTIME = None


# ---------------------------------------------------------------------------------- submitter


@dataclass
class _Chunk:
    number: int
    units: list[WorkUnit]
    task_ids: list[str] = field(default_factory=list)  # one per attempt; the first to answer wins
    sequence: int = 0  # enqueue order of the current attempt (the queue is first in, first out)
    started: bool = False  # the current attempt's lease has been seen


@dataclass
class _Tracker:
    """What the submitter knows about the chunks it has out."""

    open: dict[int, _Chunk] = field(default_factory=dict)
    sequence: int = 0
    newest_started: int = -1  # the latest-enqueued attempt known to have reached a worker ...
    newest_started_at: float = 0.0  # ... and when that was first seen


def _chunks(units: list[WorkUnit]) -> list[_Chunk]:
    chunks: list[_Chunk] = []
    light: list[WorkUnit] = []
    for unit in units:
        if unit.heavy:
            chunks.append(_Chunk(len(chunks), [unit]))
            continue
        light.append(unit)
        if len(light) == CHUNK:
            chunks.append(_Chunk(len(chunks), light))
            light = []
    if light:
        chunks.append(_Chunk(len(chunks), light))
    return chunks


class _Submission:
    """One scan on the queue: enqueue, collect, and re-enqueue what dead workers took."""

    def __init__(self, url: str, settings: ScanSettings, library: PackLibrary, say: Callable[[str], None]):
        self.huey = connect(url)
        self.task = register(self.huey)
        self.batch = uuid.uuid4().hex
        self.settings = settings
        self.fingerprint = settings.fingerprint(library)
        self.say = say
        self.track = _Tracker()

    def enqueue(self, chunk: _Chunk) -> None:
        attempt = len(chunk.task_ids)
        handle = self.task(self.batch, chunk.number, attempt, self.settings, self.fingerprint, chunk.units)
        chunk.task_ids.append(handle.id)
        chunk.sequence, chunk.started = self.track.sequence, False
        self.track.sequence += 1
        self.track.open[chunk.number] = chunk

    def collect(self) -> list[tuple[_Chunk, list[UnitResult]]]:
        """Answers that arrived: one read for every attempt of every open chunk."""
        owner = {task_id: chunk for chunk in self.track.open.values() for task_id in chunk.task_ids}
        if not owner:
            return []
        answered: dict[int, tuple[_Chunk, list[UnitResult]]] = {}
        for task_id, value in self.huey.storage.peek_many(list(owner)).items():
            key = task_id.decode() if isinstance(task_id, bytes) else task_id
            self.huey.storage.delete_data(key)
            chunk = owner[key]
            if chunk.number in answered:
                continue  # a late second answer for the same posts: dropped
            data = self.huey.serializer.deserialize(value)
            if isinstance(data, dict) and "results" in data:
                results = [UnitResult(**r) for r in data["results"]]
            else:  # the task raised inside Huey: each post says so, and is tried again next run
                results = [failure_result(u, f"the worker failed on this chunk ({data})") for u in chunk.units]
            answered[chunk.number] = (chunk, results)
            self._started(chunk)
        for chunk, _ in answered.values():
            del self.track.open[chunk.number]
            for attempt in range(len(chunk.task_ids)):
                self.huey.storage.delete_data(_lease_key(self.batch, chunk.number, attempt))
        return list(answered.values())

    def _started(self, chunk: _Chunk) -> None:
        chunk.started = True
        if chunk.sequence > self.track.newest_started:
            self.track.newest_started, self.track.newest_started_at = chunk.sequence, time.monotonic()

    def requeue_lost(self) -> None:
        """Enqueue again each open chunk whose worker stopped renewing its lease, or that a worker
        took from the queue and died before its first heartbeat (a later chunk has started long ago
        and this one never did: the queue is first in, first out)."""
        current = {_lease_key(self.batch, c.number, len(c.task_ids) - 1): c for c in self.track.open.values()}
        if not current:
            return
        leases = self.huey.storage.peek_many(list(current))
        now = time.time()
        for key, value in leases.items():
            key = key.decode() if isinstance(key, bytes) else key
            worker, expires = self.huey.serializer.deserialize(value)
            chunk = current.pop(key)
            self._started(chunk)
            if expires < now:
                self.huey.storage.delete_data(key)
                self.say(f"worker {worker} stopped answering; its {len(chunk.units)} post(s) go to another worker")
                self.enqueue(chunk)
        overdue = time.monotonic() - self.track.newest_started_at > NEVER_STARTED_S
        for chunk in current.values():  # no lease now
            if not chunk.started and chunk.sequence < self.track.newest_started and overdue:
                self.say(f"{len(chunk.units)} post(s) were taken from the queue but never started; enqueued again")
                self.enqueue(chunk)


def submit(url: str, settings: ScanSettings, library: PackLibrary, units: list[WorkUnit],
           finished: Callable[[WorkUnit, UnitResult], None], tick: Callable[[], None] | None = None,
           warn: Callable[[str], None] | None = None) -> None:
    """Enqueue `units` on the queue at `url`; call finished(unit, result) once per unit as workers
    answer; re-enqueue the chunks of workers that stop renewing their lease."""
    scan = _Submission(url, settings, library, warn or (lambda message: log.warning("%s", message)))
    pending = _chunks(units)
    pending.reverse()  # pop() from the end: first chunks first
    last_beat = 0.0
    try:
        while pending or scan.track.open:
            if time.monotonic() - last_beat >= HEARTBEAT_S:
                scan.huey.put(f"alive:{scan.batch}", time.time() + ALIVE_S)
                scan.requeue_lost()
                last_beat = time.monotonic()
            while pending and len(scan.track.open) < WINDOW:
                scan.enqueue(pending.pop())
            answered = scan.collect()
            for chunk, results in answered:
                by_key = {u.key: u for u in chunk.units}
                for result in results:
                    finished(by_key[result.key], result)
            if tick:
                tick()
            if not answered:
                time.sleep(0.05)
    finally:
        scan.huey.delete(f"alive:{scan.batch}")
