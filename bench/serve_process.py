"""`complianceguard serve` as a subprocess on a free loopback port, in its own session (so SIGKILL can
take all of it): the one harness of tests/test_api*.py, bench/hostile_api.py and bench/api_load.py.

`start()` returns once /readyz says ready (the app built, its check processes warmed up) and keeps
how long /healthz and readiness took from the start (`started_s`), and the CPU seconds all of the
server's processes had used by then (`started_cpu_s`: wall time on a loaded machine says little).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its descendants."""
    total = 0.0
    try:
        parent = psutil.Process(pid)
        processes = [parent, *parent.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServeProcess:
    def __init__(self, data_dir: Path, *options: str, env: dict[str, str] | None = None,
                 log: Path | None = None, timeout_s: float = 300.0):
        self.data_dir, self.options, self.env = data_dir, options, {**os.environ, **(env or {})}
        self.log_path, self.timeout_s = log, timeout_s
        self.started_s: dict[str, float] = {}
        self.started_cpu_s: dict[str, float] = {}
        self.start()

    @property
    def log(self) -> Path:
        return self.log_path or self.data_dir.parent / f"serve-{self.port}.log"

    def start(self) -> None:
        """Start (again, after a kill) on the same data directory, on a new port; wait until ready."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "complianceguard", "serve", "--port", str(self.port),
                   "--data-dir", str(self.data_dir), *self.options]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        begun = time.monotonic()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self.started_s, self.started_cpu_s = {}, {}
        with httpx.Client(timeout=2, trust_env=False) as client:
            while time.monotonic() - begun < self.timeout_s:
                if self.process.poll() is not None:
                    raise AssertionError(f"serve exited with {self.process.returncode}:\n"
                                         f"{self.log.read_text(errors='replace')[-3000:]}")
                for path in ("/healthz", "/readyz"):
                    try:
                        if path not in self.started_s and client.get(self.url + path).status_code == 200:
                            self.started_s[path] = time.monotonic() - begun
                            self.started_cpu_s[path] = tree_cpu_s(self.process.pid)
                    except httpx.HTTPError:
                        pass
                if "/readyz" in self.started_s:
                    return
                time.sleep(0.05)
        self.kill()
        raise AssertionError(f"serve was not ready (/readyz) within {self.timeout_s:g} s (log: {self.log})")

    def client(self, key: str | None, **options: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=options.pop("timeout", 30),  # type: ignore[arg-type]
                            **options)  # type: ignore[arg-type]

    def kill(self) -> None:
        """SIGKILL to the whole server: supervisor, HTTP process, consumer and its workers at once."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)

    def stop(self) -> int:
        """SIGTERM (a clean stop), SIGKILL to all of it after 30 s; the supervisor's exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode
