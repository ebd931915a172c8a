"""A local process pool where one item can hang or crash without taking the batch with it.

concurrent.futures' ProcessPoolExecutor cannot do this: a worker that dies breaks the whole pool
(BrokenProcessPool) and a hung task cannot be stopped. Here each worker is a forked process that
owns a pipe and its own process group; the parent hands it a few items at a time and waits on all
pipes and process sentinels at once (multiprocessing.connection.wait), so it always knows:

- which item a worker is on (a shared-memory slot the worker sets before each item; answers come
  back in batches, in order) and since when (its last answers);
- an item past its time limit: the worker's whole process group (with any ffmpeg or tesseract it
  started) is SIGKILLed, the item gets an `error` result naming the limit, and a fresh worker takes
  the rest of the chunk;
- a worker that died (segfault, OOM killer, os._exit): same, with the signal or exit code.

Workers are forked after the parent has built its engine, so they start warm (no re-import of
spaCy, no pack loading). The parent must not run threads while it forks (it does not: the progress
bar is refreshed from this loop). A worker whose parent disappears (SIGKILL) exits by itself, and
closes the parent files it is told to (the scan's journal, whose lock must die with the scan).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import select
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Self

MAX_CHUNK = 64  # light items per message: amortises the pipe round trip (~50 us) over many posts
POLL_S = 0.2  # how often the loop wakes to refresh progress and check deadlines when nothing arrives
# A worker sends what it has answered at least this often (and at a chunk's end): a caption is
# answered every ~1.5 ms, and a message (and a wake-up of the parent) for each cost the parent a
# fifth of a worker's time.
ANSWER_EVERY_S = 0.01
PREFETCH_BELOW = MAX_CHUNK  # a worker with at most this many light items left is sent its next chunk


@dataclass(frozen=True)
class Failure:
    """Why an item has no result: it ran past its time limit or its worker died."""

    reason: str


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


ORPHAN_CHECK_S = 0.25


def _watch_parent(parent: int) -> None:
    """A worker's watchdog thread: once the scan is gone (SIGKILL), kill this worker's whole group,
    with the ffmpeg or tesseract it is running, instead of finishing the item for nobody."""
    while True:
        time.sleep(ORPHAN_CHECK_S)
        if os.getppid() != parent:
            os.killpg(0, signal.SIGKILL)


def _child(conn: Connection, handle: Callable[[Any], Any], parent: int, close: tuple[int, ...],
           current: Any) -> None:
    """A worker: answer each item of each chunk in order, until told to stop or orphaned.

    Answers go in batches (ANSWER_EVERY_S), each a list of (index, result): one message per few
    captions instead of one each. `current` (shared memory) names the item being checked, so
    the parent blames the right one when this process hangs or dies with answers unsent."""
    os.setpgid(0, 0)  # its own group: a time-out kills it and whatever it started, nothing else
    threading.Thread(target=_watch_parent, args=(parent,), name="cg-orphan-watch", daemon=True).start()
    for fd in close:  # the parent's files (its journal and lock) are not the worker's
        try:
            os.close(fd)
        except OSError:
            pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the batch stops
    while True:
        if not conn.poll(1.0):
            if os.getppid() != parent:
                os._exit(0)  # the scan was killed: do not finish its work for nobody
            continue
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        if chunk is None:
            os._exit(0)
        answers: list[tuple[int, Any]] = []
        sent = time.monotonic()
        for position, (index, task) in enumerate(chunk, 1):
            current.value = index
            try:
                result = handle(task)
            except Exception as exc:  # noqa: BLE001 - handle() should not raise; if it does, one item fails
                result = Failure(f"internal error ({type(exc).__name__}: {exc})")
            answers.append((index, result))
            now = time.monotonic()
            if position == len(chunk) or now - sent >= ANSWER_EVERY_S:
                try:
                    conn.send(answers)
                except (BrokenPipeError, OSError):
                    os._exit(0)
                answers, sent = [], now
            if os.getppid() != parent:
                os._exit(0)


@dataclass
class _Worker:
    process: Any
    conn: Connection
    assigned: deque[tuple[int, Any]] = field(default_factory=deque)
    since: float = 0.0  # when the current item started (as far as the parent can tell)
    # Asks whether an answer is waiting with one poll(2) call: Connection.poll builds a selector
    # each time, which cost more than reading the answer.
    poller: Any = None
    current: Any = None  # shared with the process: the index of the item it is checking (-1: none yet)

    def __post_init__(self) -> None:
        self.adopt(self.process, self.conn, self.current)

    def adopt(self, process: Any, conn: Connection, current: Any) -> None:
        """Take over a freshly spawned process, its pipe and its current-item slot."""
        self.process, self.conn, self.current = process, conn, current
        self.poller = select.poll()
        self.poller.register(conn.fileno(), select.POLLIN)

    def has_answer(self) -> bool:
        """Something to read: an answer, or the end of the pipe (recv then says which)."""
        return bool(self.poller.poll(0))


class WorkerPool:
    """`jobs` forked workers running `handle(task)`; see the module docstring for the guarantees."""

    def __init__(self, jobs: int, handle: Callable[[Any], Any], timeout_s: float,
                 close_in_workers: list[int] | None = None):
        if "fork" not in multiprocessing.get_all_start_methods():
            raise RuntimeError("the worker pool needs the fork start method (Linux, macOS)")
        self.context = multiprocessing.get_context("fork")
        self.handle = handle
        self.timeout_s = timeout_s
        self.close_in_workers = tuple(close_in_workers or ())
        self.parent = os.getpid()
        gc.freeze()  # objects built so far stay shared with the workers, not copied by their GC
        self.workers: list[_Worker] = []
        for _ in range(max(1, jobs)):
            self.workers.append(self._spawn())

    def _spawn(self) -> _Worker:
        parent_end, child_end = self.context.Pipe(duplex=True)
        # A forked worker holds copies of the parent's pipe ends (its own and the other workers'):
        # it closes them, so that when the parent dies every worker's pipe has no reader left and
        # a worker blocked sending a result gets EPIPE and exits instead of waiting forever.
        others = [w.conn.fileno() for w in self.workers if not w.conn.closed]
        close = (*self.close_in_workers, parent_end.fileno(), *others)
        current = self.context.RawValue("q", -1)
        process = self.context.Process(target=_child, args=(child_end, self.handle, self.parent, close, current),
                                       daemon=True)
        process.start()
        child_end.close()
        return _Worker(process, parent_end, current=current)

    def pids(self) -> list[int]:
        return [w.process.pid for w in self.workers]

    def run(self, tasks: list[tuple[int, Any]], on_result: Callable[[int, Any], None],
            heavy: Callable[[Any], bool] = lambda task: False, tick: Callable[[], None] | None = None) -> None:
        """Run every (index, task); call on_result(index, result or Failure) as each finishes.

        `heavy(task)` marks tasks sent one at a time (media); light ones go in chunks that shrink
        towards the end so the last ones spread over all workers. `tick` runs at least every
        POLL_S seconds (progress, heartbeats).
        """
        retry: deque[tuple[int, Any]] = deque()  # the unanswered rest of a dead worker's chunk
        position = 0

        def next_chunk() -> list[tuple[int, Any]]:
            nonlocal position
            left = len(tasks) - position + len(retry)
            size = max(1, min(MAX_CHUNK, left // (4 * len(self.workers))))
            chunk: list[tuple[int, Any]] = []
            while len(chunk) < size and (retry or position < len(tasks)):
                if retry:
                    item = retry.popleft()
                else:
                    item, position = tasks[position], position + 1
                if heavy(item[1]) and chunk:
                    retry.appendleft(item)  # goes alone, in the next chunk
                    break
                chunk.append(item)
                if heavy(item[1]):
                    break
            return chunk

        def next_is_heavy() -> bool:
            if retry:
                return heavy(retry[0][1])
            return position < len(tasks) and heavy(tasks[position][1])

        def wants_chunk(worker: _Worker) -> bool:
            """Idle, or (double buffering) down to its last light items with light ones to come: a
            heavy item never waits behind another worker's queue, nor light ones behind a heavy one
            (a heavy item is always a chunk of its own, so the last assigned says which it holds)."""
            if not worker.assigned:
                return True
            return len(worker.assigned) <= PREFETCH_BELOW and not heavy(worker.assigned[-1][1]) and \
                not next_is_heavy()

        while True:
            for worker in self.workers:
                if wants_chunk(worker):
                    chunk = next_chunk()
                    if chunk:
                        self._send(worker, chunk)
            busy = [w for w in self.workers if w.assigned]
            if not busy:
                return
            deadline = min(w.since for w in busy) + self.timeout_s
            waits = [w.conn for w in busy] + [w.process.sentinel for w in busy]
            ready = set(wait(waits, timeout=max(0.0, min(POLL_S, deadline - time.monotonic()))))
            for worker in busy:
                if worker.conn in ready or worker.process.sentinel in ready:
                    alive = self._drain(worker, on_result)
                    if not alive or worker.process.sentinel in ready:
                        self._replace(worker, retry, on_result, self._death(worker))
            now = time.monotonic()
            for worker in busy:
                if worker.assigned and now - worker.since > self.timeout_s:
                    self._drain(worker, on_result)  # an answer may have arrived just now
                    if worker.assigned and time.monotonic() - worker.since > self.timeout_s:
                        self._kill(worker)
                        self._replace(worker, retry, on_result,
                                      f"timed out after {self.timeout_s:g} s (the per-item time limit, --timeout)")
            if tick:
                tick()

    def _send(self, worker: _Worker, chunk: list[tuple[int, Any]]) -> None:
        """Hand a chunk over; a worker that died while idle is replaced first."""
        if worker.assigned:  # a second chunk: the worker reads it when done with the first
            try:
                worker.conn.send(chunk)
            except OSError:
                pass  # it died on its first chunk: its sentinel says so, and this one goes back with the rest
            worker.assigned.extend(chunk)
            return
        for _ in range(2):
            try:
                worker.conn.send(chunk)
                break
            except OSError:
                self._kill(worker)
                worker.conn.close()
                fresh = self._spawn()
                worker.adopt(fresh.process, fresh.conn, fresh.current)
        else:
            raise RuntimeError("cannot start a worker process")
        worker.assigned.extend(chunk)
        worker.since = time.monotonic()

    def _drain(self, worker: _Worker, on_result: Callable[[int, Any], None]) -> bool:
        """Take every answer waiting in the pipe; False when the worker's end is closed.

        Only the pipe's errors mean a dead worker: an error raised by `on_result` (the journal
        cannot be written: a full disk) is the caller's and goes up, so the scan stops with it
        instead of blaming and respawning workers for ever."""
        while worker.assigned:
            try:
                if not worker.has_answer():
                    break
                answers = worker.conn.recv()
            except (EOFError, OSError):
                return False
            worker.since = time.monotonic()
            for index, result in answers:
                if not worker.assigned or worker.assigned[0][0] != index:  # answers come in order: else broken
                    return False
                worker.assigned.popleft()
                on_result(index, result)
        return True

    def _death(self, worker: _Worker) -> str:
        worker.process.join(timeout=5)
        code = worker.process.exitcode
        if code is None:
            self._kill(worker)
            return "its worker process stopped answering"
        if code < 0:
            hint = " (out of memory?)" if code == -signal.SIGKILL else ""
            return f"its worker process crashed (killed by {_signal_name(-code)}{hint})"
        return f"its worker process exited unexpectedly (exit code {code})"

    def _replace(self, worker: _Worker, retry: deque[tuple[int, Any]],
                 on_result: Callable[[int, Any], None], reason: str) -> None:
        """Blame the item in progress, give the rest back (with any it answered but had not sent
        yet: they are checked again), start a fresh worker."""
        if worker.assigned:
            indexes = [index for index, _ in worker.assigned]
            at = indexes.index(worker.current.value) if worker.current.value in indexes else 0
            index, _ = worker.assigned[at]
            del worker.assigned[at]
            on_result(index, Failure(reason))
        retry.extendleft(reversed(worker.assigned))
        worker.assigned.clear()
        worker.conn.close()
        fresh = self._spawn()
        worker.adopt(fresh.process, fresh.conn, fresh.current)
        worker.since = 0.0

    @staticmethod
    def _kill(worker: _Worker) -> None:
        try:
            os.killpg(worker.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        worker.process.join(timeout=5)

    def close(self) -> None:
        """Stop every worker (politely, then by force); safe to call twice."""
        for worker in self.workers:
            try:
                worker.conn.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 2
        for worker in self.workers:
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                self._kill(worker)
            worker.conn.close()
        self.workers = []

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
