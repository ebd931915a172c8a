"""Scale-out on a real Redis server: two `complianceguard worker` processes stand in for two
machines, one dies mid-batch (SIGKILL) holding a chunk, Dramatiq redelivers that chunk to the
other, and every post is still reported exactly once, with the report a one-machine scan gives.
redis-server is a Debian package installed by `make` (scripts/setup-system.sh)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import redis

from complianceguard.batch.distributed import QUEUE_NAME
from test_batch import captions_csv, report_without_time

pytestmark = pytest.mark.server  # starts servers, browsers or redis: not in `make test-fast`

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    assert Path(REDIS_SERVER).is_file(), "redis-server is missing: run `make` (scripts/setup-system.sh installs it)"
    port = free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    server = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                               "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert time.monotonic() < deadline and server.poll() is None, "redis-server did not start"
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(10)


def start_worker(url: str, name: str, log: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "complianceguard", "worker", "--queue", url, "--jobs", "1",
                             "--dead-after", "3", "--name", name], stdout=log.open("w"), stderr=subprocess.STDOUT,
                            env=env, start_new_session=True)


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def chunks_held_by(url: str, worker: str) -> list[str]:
    """The chunks `worker` has taken and the submitter has no answer for (`<batch>:chunks` in
    complianceguard/batch/distributed.py: chunk -> the worker that took it, or `answered`)."""
    client = redis.Redis.from_url(url)
    return [f"{key.decode()}/{chunk.decode()}" for key in client.scan_iter(f"{QUEUE_NAME}:*:chunks")
            for chunk, holder in client.hgetall(key).items() if holder == worker.encode()]


def kill_tree(process: subprocess.Popen) -> None:
    """A machine dying: the worker and its pool processes, all at once, no clean-up."""
    tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    for member in tree:
        member.send_signal(signal.SIGKILL)
    psutil.wait_procs(tree, timeout=10)


def test_two_workers_one_killed_mid_batch_every_post_reported_once(tmp_path, redis_url):
    posts = captions_csv(tmp_path / "posts.csv", 800)
    env = {**os.environ, "COMPLIANCEGUARD_CACHE": str(tmp_path / "cache")}
    logs = {name: tmp_path / f"worker-{name}.log" for name in ("A", "B")}
    workers = {name: start_worker(redis_url, name, log, env) for name, log in logs.items()}
    try:
        for name, log in logs.items():
            wait_for(lambda log=log: "processes on" in log.read_text(), 300, f"worker {name} to start")
        submitter = subprocess.Popen([sys.executable, "-m", "complianceguard", "scan", str(posts), "--queue", redis_url,
                                      "--out", str(tmp_path / "out"), "--format", "json", "--quiet"],
                                     cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Freeze A while it holds a chunk; if it was only between chunks, let it go and try again.
        victim = psutil.Process(workers["A"].pid)
        while True:
            wait_for(lambda: chunks_held_by(redis_url, "A") or submitter.poll() is not None, 300, "A to take a chunk")
            assert submitter.poll() is None, "the batch ended before A could be caught holding a chunk"
            victim.suspend()
            time.sleep(0.5)  # the submitter marks a chunk it has an answer for as answered
            if chunks_held_by(redis_url, "A"):
                break
            victim.resume()
        kill_tree(workers["A"])
        out, err = submitter.communicate(timeout=600)
        assert submitter.returncode == 1, err
        assert "worker A stopped answering" in err and "checked by B" in err
        assert "checked chunk" in logs["B"].read_text()
    finally:
        for process in workers.values():
            if process.poll() is None:
                kill_tree(process)

    report = json.loads((tmp_path / "out" / "report.json").read_text())
    ids = [item["id"] for item in report["items"]]
    assert len(ids) == 800 and len(set(ids)) == 800  # every post, exactly once
    one_machine = subprocess.run([sys.executable, "-m", "complianceguard", "scan", str(posts), "--jobs", "2",
                                  "--out", str(tmp_path / "one-machine"), "--format", "json", "--quiet"],
                                 cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert one_machine.returncode == 1, one_machine.stderr
    assert report_without_time(tmp_path / "out") == report_without_time(tmp_path / "one-machine")


def test_an_unreachable_queue_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "complianceguard", "scan", str(captions_csv(tmp_path / "p.csv", 3)),
                             "--queue", f"redis://127.0.0.1:{free_port()}/0", "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot reach the queue" in result.stderr
