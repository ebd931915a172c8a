"""Where `POST /v1/checks` runs: a small pool of check processes, shared fairly between keys.

Each process has its own warmed-up pipeline (the engine, its matchers and caches, is never shared
between threads), so checks run side by side on separate cores, and an image that takes long, or
a process that dies (out of memory), holds up only its own request. A key may hold at most
`workers - 1` of the processes at once (1 with 2 workers), so one key's slow or numerous checks
leave a process free for the other keys. Requests over that wait, in order, in the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

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


def _evaluate(submission: Submission) -> ItemResult:
    assert _pipeline is not None, "the check process was not started"
    return _pipeline.evaluate(submission)


def _ready() -> int:
    return os.getpid()


class CheckPool:
    """`workers` check processes and a per-key share of them."""

    def __init__(self, workers: int, data_dir: str, packs: tuple[str, ...], ocr_fps: float):
        self.workers = max(1, workers)
        self.per_key = max(1, self.workers - 1)
        self._args = (os.getpid(), data_dir, packs, ocr_fps)
        self._keys: dict[str, anyio.CapacityLimiter] = {}
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start, initargs=self._args)
        for _ in range(self.workers):  # start (and warm up) every process now, not on a client's request
            pool.submit(_ready)
        return pool

    def _limiter(self, key_name: str) -> anyio.CapacityLimiter:
        limiter = self._keys.get(key_name)
        if limiter is None:
            if len(self._keys) > 10_000:  # forget idle keys (a key ring this large is unusual)
                self._keys = {k: v for k, v in self._keys.items() if v.borrowed_tokens}
            limiter = self._keys[key_name] = anyio.CapacityLimiter(self.per_key)
        return limiter

    async def evaluate(self, key_name: str, submission: Submission) -> ItemResult:
        async with self._limiter(key_name):
            pool = self._pool
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
        self._pool.shutdown(wait=False, cancel_futures=True)


class InlineChecks:
    """Checks on one thread of this process, with a given pipeline (tests and embedding)."""

    def __init__(self, pipeline: Pipeline):
        self.pipeline = pipeline
        self._thread = anyio.CapacityLimiter(1)

    async def evaluate(self, key_name: str, submission: Submission) -> ItemResult:
        return await anyio.to_thread.run_sync(self.pipeline.evaluate, submission, limiter=self._thread)

    def close(self) -> None:
        pass


Checks = CheckPool | InlineChecks
