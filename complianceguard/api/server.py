"""`serve` as processes: this supervisor, the HTTP process (uvicorn) and the Huey consumer.

The supervisor owns the data directory (a lock: one server per directory). It checks the keys file
(and --pack files), binds the socket and starts the HTTP process first, so /healthz answers within a
second or two; then it puts jobs left running by a dead server back to queued, rebuilds the queue
from the store and only then starts the consumer (the HTTP process may accept jobs meanwhile: each is
in the store before it is enqueued, so the rebuild enqueues it at least once). It starts again a child
that stops (up to 3 times a minute), keeps releasing jobs whose worker process died, and stops
everything when it is asked to. Children die with their parent
(Linux parent-death signal), so a SIGKILL of the supervisor never leaves workers running that no one
will recover.

    python -m complianceguard.api.server http FD   the HTTP process, on the socket the supervisor bound
    python -m complianceguard.api.server worker    the Huey consumer and its worker processes
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from typing import IO, Any

from complianceguard.api.settings import SETTINGS_ENV, WEBHOOK_SECRET_ENV, Settings
from complianceguard.errors import InputError

PARENT_ENV = "COMPLIANCEGUARD_API_PARENT"
PIXELS_ENV = "COMPLIANCEGUARD_MAX_PIXELS"  # complianceguard.extract.limits reads it
ORPHAN_SWEEP_S = 2.0
NUDGE_AFTER_S = 60.0
STOP_GRACE_S = 10.0
MAX_RESTARTS, RESTART_WINDOW_S = 3, 60.0  # a child that stops more often than this stops the server
PR_SET_PDEATHSIG = 1

log = logging.getLogger("complianceguard.api")


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    for noisy in ("huey", "faster_whisper", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies; exit now if it already has."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the supervisor still stops its children on every exit it sees
    if os.getppid() != parent_pid:
        os._exit(1)


def lock_data_dir(settings: Settings) -> IO[Any]:
    """One server per data directory; a new one is private to its owner (drafts are confidential)."""
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle = (settings.data_dir / "serve.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise InputError(f"{settings.data_dir}: another `complianceguard serve` is using this data directory") from None
    return handle


def ensure_webhook_secret(settings: Settings) -> None:
    """A server-wide secret for keys without their own `webhook_secret`: the environment's, else one
    made on first start and kept (0600) in the data directory."""
    from complianceguard.report import atomic_write

    if os.environ.get(WEBHOOK_SECRET_ENV) or settings.webhook_secret_file.is_file():
        return
    atomic_write(settings.webhook_secret_file, secrets.token_urlsafe(32) + "\n", mode=0o600)
    log.info("webhook signing secret made: %s (or set %s)", settings.webhook_secret_file, WEBHOOK_SECRET_ENV)


def bind(settings: Settings) -> socket.socket:
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    try:
        return socket.create_server((settings.host, settings.port), family=family, backlog=2048)
    except OSError as exc:
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise InputError(f"{settings.host}:{settings.port}: cannot listen ({reason})") from None


class Supervisor:
    def __init__(self, settings: Settings):
        from complianceguard.api.auth import KeyRing

        self.settings = settings
        self.lock = lock_data_dir(settings)
        KeyRing(settings.keys_file)  # a bad keys file is one line now, before anything starts
        if settings.packs:  # and a bad --pack (the children load their packs in the background)
            from pathlib import Path

            from complianceguard.packs.loader import PackLibrary

            PackLibrary(extra=[Path(p) for p in settings.packs])
        ensure_webhook_secret(settings)
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False
        self.started = time.monotonic()
        self.nudged: set[str] = set()  # jobs given a spare task already (at most one each)

    def open_jobs(self) -> None:
        """The job store and the queue (the queue client imports Huey and Redis: after the HTTP start)."""
        from complianceguard.api.store import Store
        from complianceguard.api.tasks import QUEUE_NAME, JobQueue
        from complianceguard.queue import make_huey

        self.store = Store(self.settings.jobs_db)
        self.queue = JobQueue(make_huey(self.settings.queue, QUEUE_NAME))

    def recover(self) -> tuple[int, int]:
        """Jobs and webhooks a dead server held go back to queued / pending; the queue is rebuilt."""
        from complianceguard.api.tasks import owner_alive

        self.store.release_orphans(owner_alive)
        try:
            return self.queue.rebuild(self.store)
        except Exception as exc:  # noqa: BLE001 - a queue that is down or refuses us: one line, no traceback
            raise InputError(f"{self.settings.queue}: cannot use the queue ({type(exc).__name__}: {exc})") from None

    def sweep(self) -> None:
        """Requeue what a worker that died (the consumer restarts it) was holding, and give work that
        has waited a long time one more task: a spare task finds the job taken and does nothing, a
        missing one (a process died between committing and enqueueing) is replaced."""
        from complianceguard.api.store import now
        from complianceguard.api.tasks import owner_alive

        evaluate, deliver = self.store.release_orphans(owner_alive)
        for job_id in evaluate:
            log.warning("job %s: its worker died; queued again", job_id)
            self.queue.evaluate(job_id)
        for job_id in deliver:
            log.warning("job %s: its worker died while sending the webhook; sending again", job_id)
            self.queue.deliver(job_id)
        if time.monotonic() - self.started < NUDGE_AFTER_S:
            return
        queued, pending = self.store.waiting_since(now(-NUDGE_AFTER_S))
        for job_id in set(queued) - self.nudged:
            self.queue.evaluate(job_id)
        for job_id in set(pending) - self.nudged:
            self.queue.deliver(job_id)
        self.nudged = set(queued) | set(pending)  # forget what has moved on

    def expire(self, clock: Any = time.time) -> list[str]:
        """Retention: delete finished jobs created more than --retention-days ago, then their media,
        reports and review log; also media and report folders of no job that are that old (what a
        process that died between the two left). `clock` is seconds since the epoch (a test fakes it)."""
        import datetime as dt
        import shutil

        days = self.settings.retention_days
        if days <= 0:
            return []
        cutoff_s = clock() - days * 86400.0
        cutoff = dt.datetime.fromtimestamp(cutoff_s, dt.UTC).isoformat(timespec="milliseconds")
        expired = self.store.expire(cutoff)
        for job_id in expired:
            for parent in (self.settings.media_dir, self.settings.reports_dir):
                shutil.rmtree(parent / job_id, ignore_errors=True)
        stale = []
        for parent in (self.settings.media_dir, self.settings.reports_dir):
            if parent.is_dir():
                for folder in parent.iterdir():
                    try:
                        if folder.is_dir() and folder.stat().st_mtime < cutoff_s:
                            stale.append(folder)
                    except OSError:
                        continue
        if stale:
            known = self.store.job_ids(sorted({f.name for f in stale}))
            for folder in stale:
                if folder.name not in known:
                    shutil.rmtree(folder, ignore_errors=True)
        if expired:
            log.info("retention: deleted %d jobs created before %s (--retention-days %d)", len(expired), cutoff, days)
        return expired

    def start_http(self) -> None:
        self.sock = bind(self.settings)
        self.env = {**os.environ, SETTINGS_ENV: self.settings.to_json(), PARENT_ENV: str(os.getpid())}
        if self.settings.max_image_pixels:  # the extractors in every child read the same pixel budget
            self.env[PIXELS_ENV] = str(self.settings.max_image_pixels)
        self.spawn("http")

    def spawn(self, name: str) -> None:
        """The HTTP process (on the socket bound here, kept for restarts) or the consumer."""
        command = [sys.executable, "-m", "complianceguard.api.server"]
        if name == "http":
            fd = self.sock.fileno()
            self.children[name] = subprocess.Popen([*command, "http", str(fd)], env=self.env, pass_fds=(fd,))
        else:
            self.children[name] = subprocess.Popen([*command, "worker"], env=self.env)

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        self.start_http()
        try:
            self.open_jobs()
            queued, pending = self.recover()
        except BaseException:
            self.stop()
            raise
        try:
            self.expire()
        except Exception:
            log.exception("the retention sweep failed")
        last_expiry = time.monotonic()
        if not self.stopping:
            self.spawn("worker")
        resumed = f"; resumed {queued} jobs and {pending} webhooks" if queued or pending else ""
        log.info("complianceguard API starting on http://%s:%d (data: %s, %d worker processes%s)", self.settings.host,
                 self.settings.port, self.settings.data_dir, self.settings.workers, resumed)
        last_sweep = time.monotonic()
        restarts: dict[str, list[float]] = {name: [] for name in self.children}
        exit_code = 0
        while not self.stopping:
            time.sleep(0.2)
            now = time.monotonic()
            for name, child in list(self.children.items()):
                if child.poll() is None or self.stopping:
                    continue
                restarts[name] = [t for t in restarts[name] if now - t < RESTART_WINDOW_S]
                if len(restarts[name]) >= MAX_RESTARTS:
                    log.error("the %s process keeps stopping (exit %s); stopping the server", name, child.returncode)
                    self.stopping, exit_code = True, 1
                else:
                    log.warning("the %s process stopped (exit %s); starting it again", name, child.returncode)
                    restarts[name].append(now)
                    self.spawn(name)
            if not self.stopping and now - last_sweep >= ORPHAN_SWEEP_S:
                last_sweep = now
                try:
                    self.sweep()
                except Exception:
                    log.exception("sweeping for jobs of dead workers failed")
            if not self.stopping and now - last_expiry >= self.settings.retention_sweep_s:
                last_expiry = now
                try:
                    self.expire()
                except Exception:
                    log.exception("the retention sweep failed")
        self.stop()
        return exit_code

    def _on_signal(self, signum: int, _frame: Any) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        self.stopping = True

    def stop(self) -> None:
        """SIGTERM to both (uvicorn finishes open requests; Huey interrupts its tasks, which the next
        start requeues), then SIGKILL whatever is left after the grace period."""
        for child in self.children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for child in self.children.values():
            try:
                child.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def serve(settings: Settings) -> int:
    configure_logging()
    return Supervisor(settings).run()


# -- the children --


KEEP_ALIVE_S = 5  # an idle keep-alive connection is closed after this


def run_http(settings: Settings, fd: int) -> None:
    """uvicorn on the supervisor's socket (a real socket object: uvicorn's own `fd` option takes every
    descriptor for a Unix socket, which would leave TCP_NODELAY off)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    sock = socket.socket(fileno=fd)
    config = uvicorn.Config("complianceguard.api.starting:app_from_env", factory=True, workers=settings.http_workers,
                            log_level="warning", access_log=settings.access_log, timeout_graceful_shutdown=5,
                            backlog=2048, lifespan="off", timeout_keep_alive=KEEP_ALIVE_S,
                            http="complianceguard.api.protocol:HeaderDeadline")  # importable: spawned workers
    if settings.http_workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])


def run_worker(settings: Settings) -> None:
    from huey.consumer import Consumer, Scheduler
    from huey.consumer import Worker as HueyWorker

    from complianceguard.api.auth import KeyRing
    from complianceguard.api.pipeline import Pipeline
    from complianceguard.api.store import Store
    from complianceguard.api.tasks import QUEUE_NAME, JobQueue, JobRunner
    from complianceguard.queue import make_huey

    os.chdir(settings.data_dir)  # media paths in results are relative to the data directory
    pipeline = Pipeline(settings.packs, settings.asr_backend, settings.asr_model, settings.ocr_fps)
    pipeline.warm_up()  # before forking: every worker process starts with the matchers compiled
    runner = JobRunner(settings, Store(settings.jobs_db), pipeline, KeyRing(settings.keys_file))
    huey = make_huey(settings.queue, QUEUE_NAME)
    JobQueue(huey, runner)
    consumer_pid = os.getpid()

    class WorkerDyingWithConsumer(HueyWorker):  # type: ignore[misc]
        def initialize(self) -> None:
            die_with_parent(consumer_pid)
            super().initialize()

    class SchedulerDyingWithConsumer(Scheduler):  # type: ignore[misc]
        def initialize(self) -> None:
            die_with_parent(consumer_pid)
            super().initialize()

    class ApiConsumer(Consumer):  # type: ignore[misc]
        worker_class, scheduler_class = WorkerDyingWithConsumer, SchedulerDyingWithConsumer

    ApiConsumer(huey, workers=settings.workers, worker_type="process", periodic=False, initial_delay=0.05,
                backoff=1.5, max_delay=0.5, check_worker_health=True, health_check_interval=1).run()


def main(argv: list[str]) -> None:
    configure_logging()
    die_with_parent(int(os.environ.get(PARENT_ENV, os.getppid())))
    settings = Settings.from_env()
    if argv[:1] == ["http"] and len(argv) == 2:
        run_http(settings, int(argv[1]))
    elif argv == ["worker"]:
        run_worker(settings)
    else:
        raise SystemExit("usage: python -m complianceguard.api.server http FD | worker")


if __name__ == "__main__":
    main(sys.argv[1:])
