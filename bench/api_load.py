"""Load on `POST /v1/checks` over loopback (issue: HTTP API). Prints its figures; run with
`.venv/bin/python bench/api_load.py` (add `-h` for options).

Starts `complianceguard serve` itself on a free loopback port with a throw-away data directory (or
uses `--url` of a running server), warms it up, then runs CONCURRENCY clients, each sending its next
check as soon as the last one is answered (closed loop), until REQUESTS have been sent or DURATION
seconds have passed. Captions vary (labels, placement, brands, regions) so no two consecutive
requests are the same. Prints throughput, latency percentiles and the error count.
Target: p95 <= 50 ms with 20 clients and no errors. The load generator shares the machine's cores
with the server, so the figures include its own cost.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-" + "k" * 32

LABELS = ["#ad", "Ad |", "#sponsored", "#sp", "Paid partnership with", "", "Anzeige |", "#werbung", "#collab"]
BODIES = [
    "My new favourite lipstick from {brand}", "Morning routine with {brand} serum, use code GLOW20 for 20% off",
    "Trying the new {brand} running shoes this week", "Link in bio for the {brand} giveaway!",
    "Our weekend at the lake, nothing sponsored here", "Unboxing the {brand} spring collection",
]
BRANDS = ["@glowskincare", "@lipco", "@acmeprotein", "Glow Skincare", "@runfast"]
TAILS = ["", " #skincare #beauty", " #fitness #running #gym #health #motivation #fit", " ✨"]
REGION_SETS = [["US"], ["GB"], ["DE"], ["US", "GB"], ["FR"], ["AU"], ["GB", "DE"], ["CA"]]
RELATIONSHIPS = ["paid", "gifted", "affiliate", "unknown", "none"]
PLATFORMS = ["instagram", "tiktok", "youtube", "x"]


def submissions(seed: int = 7) -> list[dict[str, object]]:
    rng = random.Random(seed)
    posts = []
    for number in range(500):
        label, body, brand, tail = rng.choice(LABELS), rng.choice(BODIES), rng.choice(BRANDS), rng.choice(TAILS)
        caption = body.format(brand=brand) + tail
        caption = f"{label} {caption}" if rng.random() < 0.6 else f"{caption} {label}"
        posts.append({"id": f"bench-{number}", "regions": rng.choice(REGION_SETS), "caption": caption.strip(),
                      "relationship": rng.choice(RELATIONSHIPS), "platform": rng.choice(PLATFORMS)})
    return posts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(http_workers: int, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "COMPLIANCEGUARD_API_KEYS": f"bench:{KEY}"}
    command = [sys.executable, "-m", "complianceguard", "serve", "--port", str(port), "--data-dir", str(data_dir),
               "--workers", "1", "--http-workers", str(http_workers), "--rate-limit", "1000000",
               "--burst", "1000000", "--asr-backend", "none"]
    with (data_dir / "serve.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"serve exited ({process.returncode}); see {data_dir / 'serve.log'}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("serve did not answer /healthz within 120 s")


async def run_load(url: str, concurrency: int, requests: int, duration: float, posts: list[dict[str, object]],
                   rate: float | None = None) -> tuple[list[float], int, float, dict[str, int]]:
    """Closed loop (each client sends its next request when answered), or with `rate` an open loop:
    request N is due at N/rate seconds and its latency counts from then, so a server that falls
    behind is charged for the wait (no coordinated omission)."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    counter = itertools.count()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(base_url=url, limits=limits, headers=headers, timeout=30) as client:
        started = time.perf_counter()
        stop_at = started + duration

        async def one_client() -> None:
            while True:
                number = next(counter)
                if number >= requests or time.perf_counter() >= stop_at:
                    return
                sent = time.perf_counter()
                if rate:
                    due = started + number / rate
                    await asyncio.sleep(max(0.0, due - sent))
                    sent = due  # a request sent late (every client busy) is charged from when it was due
                try:
                    response = await client.post("/v1/checks", json=posts[number % len(posts)])
                    ok = response.status_code == 200 and response.content.startswith(b"{")
                    reason = f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    ok, reason = False, type(exc).__name__
                latencies.append(time.perf_counter() - sent)
                if not ok:
                    errors[reason] = errors.get(reason, 0) + 1

        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, sum(errors.values()), elapsed, errors


def server_cpu(process: subprocess.Popen[bytes] | None) -> float:
    """CPU seconds used so far by the server and its children (0 for a server given by --url)."""
    if process is None:
        return 0.0
    total = 0.0
    parent = psutil.Process(process.pid)
    for proc in [parent, *parent.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--requests", type=int, default=3000, help="stop after this many requests")
    parser.add_argument("--duration", type=float, default=60.0, help="... or after this many seconds")
    parser.add_argument("--warm-up", type=int, default=200, help="requests sent first, not measured")
    parser.add_argument("--http-workers", type=int, default=2, help="uvicorn processes of the server started")
    parser.add_argument("--rate", type=float, help="open loop: offer this many requests per second in all "
                                                   "(default: closed loop, as fast as answers come)")
    parser.add_argument("--url", help="an already running server (its key must be the bench key) instead")
    args = parser.parse_args()

    posts = submissions()
    process = None
    with tempfile.TemporaryDirectory(prefix="cg-api-bench-") as tmp:
        try:
            url = args.url
            if url is None:
                process, url = start_server(args.http_workers, Path(tmp))
            asyncio.run(run_load(url, args.concurrency, args.warm_up, 60, posts[::-1]))
            cpu_before, client_before = server_cpu(process), time.process_time()
            latencies, errors, elapsed, reasons = asyncio.run(
                run_load(url, args.concurrency, args.requests, args.duration, posts, args.rate))
            cpu_used, client_used = server_cpu(process) - cpu_before, time.process_time() - client_before
        finally:
            if process is not None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(30)
    ms = [v * 1000 for v in latencies]
    mode = f"open loop at {args.rate:g} req/s" if args.rate else "closed loop"
    print(f"POST /v1/checks, {args.concurrency} concurrent clients ({mode}), loopback, "
          f"{args.http_workers if not args.url else '?'} HTTP worker process(es), {os.cpu_count()} CPUs")
    print(f"requests {len(ms)} in {elapsed:.1f} s: {len(ms) / elapsed:.0f} req/s, errors {errors}"
          + (f" {reasons}" if reasons else ""))
    print(f"latency ms: p50 {percentile(ms, 0.50):.1f}  p95 {percentile(ms, 0.95):.1f}  "
          f"p99 {percentile(ms, 0.99):.1f}  max {max(ms):.1f}  mean {statistics.fmean(ms):.1f}")
    if process is not None:
        per_request = (cpu_used + client_used) / len(ms)
        print(f"CPU per request: server {cpu_used / len(ms) * 1000:.2f} ms (all its processes), load generator "
              f"{client_used / len(ms) * 1000:.2f} ms; so {os.cpu_count()} idle CPUs could answer about "
              f"{(os.cpu_count() or 1) / per_request:.0f} req/s. Load average at the end: {os.getloadavg()[0]:.1f} "
              "(anything above 0 is other work sharing the CPUs)")
    p95 = percentile(ms, 0.95)
    print(f"target p95 <= 50 ms, no errors: {'met' if p95 <= 50 and errors == 0 else 'NOT met'}")


if __name__ == "__main__":
    main()
