"""Scale-out: a scan's posts as Dramatiq messages on a shared Redis queue, checked by workers on any machine.

    complianceguard worker --queue redis://queue-host:6379/0      # on each machine
    complianceguard scan deliverables/ --queue redis://queue-host:6379/0 --out reports

The submitter enqueues chunks of work units (a post with media alone, caption-only posts up to
CHUNK together) on the queue `complianceguard-scan`, collects the answers, journals them and writes
the reports exactly as a local scan does. Each worker checks a chunk on its own local pool
(complianceguard/batch/pool.py), so a hung or crashing post is that post's `error`, never the worker's.

Redelivery is the engine's: Dramatiq's Redis broker delivers at least once. A worker acknowledges
a chunk's message only after it has answered it; a worker that dies (machine lost, SIGKILL) stops
sending heartbeats, and after `worker --dead-after` seconds the next worker to ask for work puts the
dead one's unacknowledged messages back on the queue (complianceguard/queue.py sets the broker up).
At least once means a chunk may be checked twice (a worker presumed dead that was only slow, one
killed between answering and acknowledging), so the submitter keeps the report exactly-once: the
first answer for a chunk finishes its work units (matched by unit key) and any later answer for that
chunk is dropped.

Engine: Dramatiq (LGPL-3.0-or-later) rather than Celery (BSD-3-Clause). Dramatiq's Redis broker
tracks each worker by heartbeat, so a dead worker's chunk is redelivered within seconds while a live
worker's ten-minute video is never delivered twice; Celery on Redis redelivers an unacknowledged
task only when its `visibility_timeout` expires, which must exceed the longest task (so a lost
machine's posts wait that long, or a long task runs twice), even with `acks_late` and
`task_reject_on_worker_lost`. Dramatiq is one package (redis is already a dependency) against
Celery's eight (kombu, billiard, vine, amqp, click plugins ...), and its one worker thread leaves the
processes to our pool, where Celery brings a prefork pool of its own. The LGPL asks nothing of an
Apache-2.0 program that imports an unmodified Dramatiq installed from PyPI; it would matter only to
whoever ships a modified Dramatiq or a bundle (a frozen executable) that prevents replacing it.
The HTTP API's jobs stay on Huey: see complianceguard/queue.py.

Per scan, beside Dramatiq's own keys, three Redis keys (deleted when the scan ends, expiring if the
submitter is killed): `complianceguard-scan:<batch>:alive` (renewed by the submitter: workers skip
the chunks of a scan that has stopped), `...:results` (the workers' answers, a list the submitter
pops) and `...:chunks` (chunk -> the worker that last took it, or `answered`: a redelivered chunk
already answered is skipped, and one taken before by another worker is reported as that worker lost).
Workers refuse a scan whose packs or version differ from their own (the settings' fingerprint), so
all machines give the report one machine would.

Workers read media by the paths the submitter resolved: the batch folder must be mounted at the
same path on every machine (a post whose files are missing there is that post's `error`).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from complianceguard.batch.work import Checker, ScanSettings, UnitResult, WorkUnit, failure_result

if TYPE_CHECKING:
    from dramatiq import Actor
    from dramatiq.brokers.redis import RedisBroker

    from complianceguard.batch.pool import WorkerPool
    from complianceguard.packs.loader import PackLibrary

QUEUE_NAME = "complianceguard-scan"
TASK_NAME = "complianceguard.scan_chunk"
CHUNK = 32  # caption-only posts per task: a few hundred milliseconds of work
WINDOW = 256  # chunks enqueued and not yet answered, at most (bounds the queue's memory)
ALIVE_S = 120.0  # a scan whose submitter has not been heard of for this long is abandoned
BEAT_S = 1.0  # how often the submitter renews its scan's `alive` key
KEEP_S = 86400  # the results and chunks keys of a submitter killed without cleaning up expire after this
ANSWERED = b"answered"
DEAD_AFTER_S = 30.0
STOP_GRACE_S = 5.0  # a stopped worker answers the chunk it is checking if it finishes within this

log = logging.getLogger("complianceguard.worker")


@dataclass(frozen=True)
class Keys:
    """The Redis keys of one scan (see the module docstring)."""

    batch: str

    @property
    def alive(self) -> str:
        return f"{QUEUE_NAME}:{self.batch}:alive"

    @property
    def results(self) -> str:
        return f"{QUEUE_NAME}:{self.batch}:results"

    @property
    def chunks(self) -> str:
        return f"{QUEUE_NAME}:{self.batch}:chunks"


def connect(url: str, dead_after_s: float = DEAD_AFTER_S) -> RedisBroker:
    """The scan queue at `url`, checked to answer: a one-line error when it does not."""
    from complianceguard.errors import ComplianceGuardError
    from complianceguard.queue import make_broker

    broker = make_broker(url, dead_after_s)
    try:
        broker.client.ping()
    except Exception as exc:  # noqa: BLE001 - redis.ConnectionError, AuthenticationError ...: "not usable"
        raise ComplianceGuardError(f"{url}: cannot reach the queue ({str(exc).splitlines()[0]})") from None
    return broker


def register(broker: RedisBroker) -> Actor:
    """The chunk task on this broker (submitter and workers declare the same actor)."""
    import dramatiq

    return dramatiq.actor(_scan_chunk, broker=broker, actor_name=TASK_NAME, queue_name=QUEUE_NAME)


_RUNTIME: WorkerRuntime | None = None  # set by `serve` in a worker process


def _scan_chunk(batch: str, chunk: int, settings: ScanSettings, fingerprint: str, units: list[WorkUnit]) -> None:
    if _RUNTIME is None:
        raise RuntimeError("scan chunks run in `complianceguard worker` processes")
    _RUNTIME.run_chunk(batch, chunk, settings, fingerprint, units)


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
    """A worker machine: its process pool, its name, and how it answers one chunk."""

    def __init__(self, broker: RedisBroker, jobs: int, name: str):
        from complianceguard.batch.pool import WorkerPool

        self.broker, self.name = broker, name
        self.pool: WorkerPool = WorkerPool(jobs, _check_in_child, timeout_s=600.0)
        self.stopping = False  # set once the worker is being stopped: what its closing pool says is not an answer

    def run_chunk(self, batch: str, chunk: int, settings: ScanSettings, fingerprint: str,
                  units: list[WorkUnit]) -> None:
        keys, client = Keys(batch), self.broker.client
        if not client.exists(keys.alive):
            log.info("skipping chunk %d of scan %s: the scan has stopped", chunk, batch[:8])
            return
        previous = client.hget(keys.chunks, chunk)
        if previous == ANSWERED:
            log.info("skipping chunk %d of scan %s: answered already (delivered again)", chunk, batch[:8])
            return
        with client.pipeline() as taken:
            taken.hset(keys.chunks, chunk, self.name).expire(keys.chunks, KEEP_S).execute()
        started = time.monotonic()
        try:
            results = self._answer(settings, fingerprint, units)
        except Exception as exc:  # answered per post, so the scan does not wait forever
            log.exception("chunk %d of scan %s failed", chunk, batch[:8])
            reason = f"worker {self.name} failed ({type(exc).__name__}: {exc})"
            results = [failure_result(u, reason) for u in units]
        if self.stopping:  # Dramatiq gives the chunk to another worker (a retry, or this one's heartbeats stop)
            raise RuntimeError(f"worker {self.name} stopped while checking chunk {chunk} of scan {batch[:8]}")
        log.info("checked chunk %d of scan %s (%d posts) in %.1f s", chunk, batch[:8], len(units),
                 time.monotonic() - started)
        after = previous.decode("utf-8", "replace") if previous else None  # the worker that took it before
        answer = {"chunk": chunk, "worker": self.name, "after": after, "results": [asdict(r) for r in results]}
        with client.pipeline() as reply:  # raises if Redis is gone: Dramatiq tries the message again
            reply.rpush(keys.results, json.dumps(answer)).expire(keys.results, KEEP_S).execute()

    def _answer(self, settings: ScanSettings, fingerprint: str, units: list[WorkUnit]) -> list[UnitResult]:
        try:
            mine = _fingerprint(settings)
        except Exception as exc:  # noqa: BLE001 - a worker that cannot load the scan's packs says so per post
            mine = f"unusable ({type(exc).__name__}: {exc})"
        if mine != fingerprint:
            reason = (f"worker {self.name} checks with other rule packs or another complianceguard version than "
                      f"the scan ({mine[:12]} vs {fingerprint[:12]}); install the same on every machine")
            return [failure_result(u, reason) for u in units]
        return self._check(settings, units)

    def _check(self, settings: ScanSettings, units: list[WorkUnit]) -> list[UnitResult]:
        from complianceguard.batch.pool import Failure

        by_index = {u.index: u for u in units}
        results: dict[int, UnitResult] = {}

        def answered(index: int, result: UnitResult | Failure) -> None:
            results[index] = failure_result(by_index[index], result.reason) if isinstance(result, Failure) else result

        self.pool.timeout_s = settings.timeout_s
        self.pool.run([(u.index, (settings, u)) for u in units], answered, heavy=lambda t: t[1].heavy)
        return [results[u.index] for u in units]

    def close(self) -> None:
        self.pool.close()


def serve(url: str, jobs: int, dead_after_s: float = DEAD_AFTER_S, name: str | None = None) -> None:
    """Run a worker until SIGINT/SIGTERM: the pool first (forked before Dramatiq starts its threads),
    then one Dramatiq worker thread that takes one chunk at a time (no prefetch: the last chunks of a
    scan go to whichever machine is free)."""
    import dramatiq

    global _RUNTIME
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("dramatiq").setLevel(logging.WARNING)
    broker = connect(url, dead_after_s)
    name = name or f"{socket.gethostname()}:{os.getpid()}"
    _warm_up()
    _RUNTIME = WorkerRuntime(broker, jobs, name)
    register(broker)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    worker = dramatiq.Worker(broker, queues={QUEUE_NAME}, worker_threads=1)
    worker.queue_prefetch = 1
    worker.start()
    log.info("worker %s: %d processes on %s (queue %s)", name, jobs, url, QUEUE_NAME)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        # A chunk that is not answered within STOP_GRACE_S is not answered at all: Dramatiq gives it to
        # another worker (its retry, or once this one's heartbeats have stopped for --dead-after seconds).
        worker.stop(timeout=int(STOP_GRACE_S * 1000))
        _RUNTIME.stopping = True
        _RUNTIME.close()
        _RUNTIME = None
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# ---------------------------------------------------------------------------------- submitter


@dataclass
class _Chunk:
    number: int
    units: list[WorkUnit]


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
    """One scan on the queue: enqueue chunks, collect each one's first answer."""

    def __init__(self, url: str, settings: ScanSettings, library: PackLibrary, say: Callable[[str], None]):
        self.broker = connect(url)
        self.client = self.broker.client
        self.actor = register(self.broker)
        self.batch = uuid.uuid4().hex
        self.keys = Keys(self.batch)
        self.settings = settings
        self.fingerprint = settings.fingerprint(library)
        self.say = say
        self.open: dict[int, _Chunk] = {}  # enqueued, not answered yet

    def beat(self) -> None:
        self.client.set(self.keys.alive, 1, ex=int(ALIVE_S))

    def enqueue(self, chunk: _Chunk) -> None:
        self.actor.send(self.batch, chunk.number, self.settings, self.fingerprint, chunk.units)
        self.open[chunk.number] = chunk

    def collect(self, wait_s: float) -> list[tuple[_Chunk, list[UnitResult]]]:
        """The answers that arrived within `wait_s`: the first for each chunk; later ones (the same
        chunk checked again after a redelivery) are dropped."""
        first = self.client.blpop([self.keys.results], timeout=wait_s)
        if first is None:
            return []
        replies = [first[1], *(self.client.lpop(self.keys.results, 1000) or [])]
        answered: list[tuple[_Chunk, list[UnitResult]]] = []
        for reply in replies:
            answer = json.loads(reply)
            chunk = self.open.pop(answer["chunk"], None)
            if chunk is None:
                continue  # answered already
            self.client.hset(self.keys.chunks, chunk.number, ANSWERED)
            if answer["after"]:
                self.say(f"worker {answer['after']} stopped answering; its {len(chunk.units)} post(s) were "
                         f"checked by {answer['worker']}")
            answered.append((chunk, [UnitResult(**r) for r in answer["results"]]))
        return answered

    def close(self) -> None:
        self.client.delete(self.keys.alive, self.keys.results, self.keys.chunks)


def submit(url: str, settings: ScanSettings, library: PackLibrary, units: list[WorkUnit],
           finished: Callable[[WorkUnit, UnitResult], None], tick: Callable[[], None] | None = None,
           warn: Callable[[str], None] | None = None) -> None:
    """Enqueue `units` on the queue at `url`; call finished(unit, result) exactly once per unit as
    workers answer (Dramatiq redelivers what dead workers took)."""
    scan = _Submission(url, settings, library, warn or (lambda message: log.warning("%s", message)))
    pending = _chunks(units)
    pending.reverse()  # pop() from the end: first chunks first
    last_beat = 0.0
    try:
        while pending or scan.open:
            if time.monotonic() - last_beat >= BEAT_S:
                scan.beat()
                last_beat = time.monotonic()
            while pending and len(scan.open) < WINDOW:
                scan.enqueue(pending.pop())
            for chunk, results in scan.collect(wait_s=0.2):
                by_key = {u.key: u for u in chunk.units}
                for result in results:
                    finished(by_key[result.key], result)
            if tick:
                tick()
    finally:
        scan.close()
