"""Where `POST /v1/checks` runs: a small pool of check processes, shared fairly between keys.

Each process has its own warmed-up pipeline (the engine, its matchers and caches, is never shared
between threads), so checks run side by side on separate cores, and an image that takes long, or
a process that dies (out of memory), holds up only its own request. A key may hold at most
`workers - 1` of the processes at once (1 with 2 workers), so one key's slow or numerous checks
leave a process free for the other keys. Requests over that wait, in order, in the event loop.

A check process answers with the item's JSON bytes (what the client gets), not the item: pickling a
pydantic item there and back cost more than the HTTP side of a caption check. The processes start
in the background; `ready` says when all have warmed up (GET /readyz), and a request that comes
before waits for one. `ResultCache` answers a caption checked again by the same key.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import multiprocessing
import os
import threading
from collections import OrderedDict
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, NamedTuple

import anyio

if TYPE_CHECKING:
    from complianceguard.api.pipeline import Pipeline
    from complianceguard.model import ItemResult, Submission

log = logging.getLogger("complianceguard.api")

_pipeline: Pipeline | None = None  # in a check process: its own


class CheckProcessDied(Exception):
    """The process running a check died (killed, out of memory)."""


def _start(parent_pid: int, data_dir: str, packs: tuple[str, ...], ocr_fps: float) -> None:
    from complianceguard.api.pipeline import Pipeline
    from complianceguard.api.server import die_with_parent

    global _pipeline
    die_with_parent(parent_pid)
    os.chdir(data_dir)  # media paths are relative to the data directory
    _pipeline = Pipeline(packs, asr_backend="none", ocr_fps=ocr_fps)  # images only
    _pipeline.warm_up()


def answer(item: ItemResult) -> Answer:
    """The response body for `item` (as `check --format json` prints it), and whether it may be
    cached: an error may be passing (a process short of memory), a verdict is not."""
    from complianceguard.report.json_report import item_json

    return Answer(item_json(item).encode("utf-8"), item.verdict != "error")


def _evaluate(submission: Submission) -> Answer:
    assert _pipeline is not None, "the check process was not started"
    return answer(_pipeline.evaluate(submission))


def _ready() -> int:
    return os.getpid()


class Answer(NamedTuple):
    """What a check process sends back: the response body (a bytes pickle is nearly free)."""

    body: bytes
    cacheable: bool


class CheckPool:
    """`workers` check processes and a per-key share of them.

    `start()` (and every restart) runs on the event loop's thread: a check process dies with the
    *thread* that started it (Linux's parent-death signal), so not with a short-lived one."""

    def __init__(self, workers: int, data_dir: str, packs: tuple[str, ...], ocr_fps: float, start: bool = True):
        self.workers = max(1, workers)
        self.per_key = max(1, self.workers - 1)
        self._args = (os.getpid(), data_dir, packs, ocr_fps)
        self._keys: dict[str, anyio.CapacityLimiter] = {}
        self._warming: list[Future[int]] = []
        self._pool: ProcessPoolExecutor | None = None
        if start:
            self.start()

    def start(self) -> None:
        if self._pool is None:
            self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start, initargs=self._args)
        # start (and warm up) every process now, in the background, not on a client's request
        self._warming = [pool.submit(_ready) for _ in range(self.workers)]
        return pool

    @property
    def ready(self) -> bool:
        """Every check process has started and warmed up."""
        return self._pool is not None and all(f.done() and f.exception() is None for f in self._warming)

    def _limiter(self, key_name: str) -> anyio.CapacityLimiter:
        limiter = self._keys.get(key_name)
        if limiter is None:
            if len(self._keys) > 10_000:  # forget idle keys (a key ring this large is unusual)
                self._keys = {k: v for k, v in self._keys.items() if v.borrowed_tokens}
            limiter = self._keys[key_name] = anyio.CapacityLimiter(self.per_key)
        return limiter

    async def evaluate(self, key_name: str, submission: Submission) -> Answer:
        async with self._limiter(key_name):
            self.start()
            pool = self._pool
            assert pool is not None
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, _evaluate, submission)
            except BrokenProcessPool:
                if self._pool is pool:
                    log.error("a check process died (out of memory?); starting the check processes again")
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = self._new_pool()
                raise CheckProcessDied("the process checking this request died (out of memory?); "
                                       "try again, with smaller images") from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


class InlineChecks:
    """Checks on one thread of this process, with a given pipeline (tests and embedding)."""

    ready = True  # its engine builds on the first check

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self._thread = anyio.CapacityLimiter(1)

    def start(self) -> None:
        pass

    async def evaluate(self, key_name: str, submission: Submission) -> Answer:
        item = await anyio.to_thread.run_sync(self.pipeline.evaluate, submission, limiter=self._thread)
        return answer(item)

    def close(self) -> None:
        pass


Checks = CheckPool | InlineChecks


class ResultCache:
    """Answers to caption-only checks, by key and by the SHA-256 of the submission as validated (id
    included), least recently used dropped past `max_bytes`. Honest: an answer is a function of the
    submission and the packs alone, and the packs do not change while the server runs (a restart
    empties it). Per key, so that no key can time whether another one checked a caption."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._answers: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @staticmethod
    def digest(fields: dict[str, object]) -> str:
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()

    def get(self, key_name: str, digest: str) -> bytes | None:
        with self._lock:
            body = self._answers.get((key_name, digest))
            if body is not None:
                self._answers.move_to_end((key_name, digest))
            return body

    def put(self, key_name: str, digest: str, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        with self._lock:
            old = self._answers.pop((key_name, digest), None)
            self._size += len(body) - (len(old) if old is not None else 0)
            self._answers[(key_name, digest)] = body
            while self._size > self.max_bytes:
                _, dropped = self._answers.popitem(last=False)
                self._size -= len(dropped)
