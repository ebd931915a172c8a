"""Load on `POST /v1/checks` over loopback (issue: HTTP API). Prints its figures; run with
`.venv/bin/python bench/api_load.py` (add `-h` for options).

Starts `complianceguard serve` itself on a free loopback port with a throw-away data directory (or
uses `--url` of a running server), warms it up, then runs CONCURRENCY clients on keep-alive
connections until REQUESTS have been sent or DURATION seconds have passed. Closed loop by default
(each client sends its next check as soon as the last is answered); `--rate` makes it an open loop
(request N is due at N/rate s and its latency counts from then, so a server that falls behind is
charged for the wait). Captions vary (labels, placement, brands, regions, relationships).
Prints throughput, latency percentiles, errors, and the CPU each side used per request, and how long
the server took from its start to answer /healthz and to be ready (/readyz).
Targets (issue #16): >= 1,000 requests/s and p95 <= 50 ms with 20 clients and no errors; /healthz
within 3 s of start.

The server answers a caption the same key checked before from its result cache (the answer is a
function of the fields and the packs). By default 500 posts repeat; `--distinct` gives every request
its own id, so every check runs; the cache hits are printed either way.

The load generator shares the CPUs with the server. httpx's async client costs about 6 ms of CPU a
request here, more than the server itself, so by default each client speaks HTTP/1.1 over a plain
asyncio connection (about 0.3 ms a request); `--client httpx` measures with httpx instead.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from serve_process import ServeProcess, tree_cpu_s  # noqa: E402 - the harness tests/test_api.py shares
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


def start_server(http_workers: int, check_workers: int, data_dir: Path, cache: bool = True) -> ServeProcess:
    """`serve` started (bench/serve_process.py), ready; `started_s` says when /healthz and /readyz answered."""
    return ServeProcess(data_dir / "data", "--workers", "1", "--http-workers", str(http_workers),
                        "--check-workers", str(check_workers), "--rate-limit", "1000000", "--burst", "1000000",
                        "--asr-backend", "none", *([] if cache else ["--check-cache-mb", "0"]),
                        env={"COMPLIANCEGUARD_API_KEYS": f"bench:{KEY}"}, log=data_dir / "serve.log")


class RawConnection:
    """One keep-alive HTTP/1.1 connection speaking just what this benchmark needs."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.head = (f"POST /v1/checks HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAuthorization: Bearer {KEY}\r\n"
                     "Content-Type: application/json\r\nContent-Length: ").encode()
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.hits = 0  # answers from the server's result cache

    async def send(self, body: bytes) -> bool:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        try:
            writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
            head = await reader.readuntil(b"\r\n\r\n")
            fields = {k.strip().lower(): v.strip() for k, v in
                      (line.split(b":", 1) for line in head.split(b"\r\n")[1:] if b":" in line)}
            length = int(fields[b"content-length"])
            answer = await reader.readexactly(length)
            self.hits += fields.get(b"x-check-cache") == b"hit"
        except (OSError, asyncio.IncompleteReadError, KeyError, ValueError):
            writer.close()
            self.streams = None
            return False
        return head.startswith(b"HTTP/1.1 200") and answer.startswith(b"{")


class HttpxSender:
    def __init__(self, client: httpx.AsyncClient):
        self.client, self.hits = client, 0

    async def send(self, body: bytes) -> bool:
        try:
            response = await self.client.post("/v1/checks", content=body)
        except httpx.HTTPError:
            return False
        self.hits += response.headers.get("x-check-cache") == "hit"
        return response.status_code == 200 and response.content.startswith(b"{")


async def run_load(url: str, concurrency: int, requests: int, duration: float, bodies: list[bytes],
                   rate: float | None, client_kind: str) -> tuple[list[float], int, float, int]:
    latencies: list[float] = []
    errors = 0
    counter = itertools.count()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(base_url=url, limits=limits, headers=headers, timeout=30, trust_env=False) as client:
        senders = [HttpxSender(client) if client_kind == "httpx" else RawConnection(url) for _ in range(concurrency)]
        started = time.perf_counter()
        stop_at = started + duration

        async def one_client(sender: RawConnection | HttpxSender) -> None:
            nonlocal errors
            while True:
                number = next(counter)
                if number >= requests or time.perf_counter() >= stop_at:
                    return
                sent = time.perf_counter()
                if rate:
                    due = started + number / rate
                    await asyncio.sleep(max(0.0, due - sent))
                    sent = due  # a request sent late (every client busy) is charged from when it was due
                ok = await sender.send(bodies[number % len(bodies)])
                latencies.append(time.perf_counter() - sent)
                errors += not ok

        await asyncio.gather(*(one_client(sender) for sender in senders))
        elapsed = time.perf_counter() - started
    return latencies, errors, elapsed, sum(s.hits for s in senders)


def server_cpu(process: subprocess.Popen[bytes] | None) -> float:
    """CPU seconds used so far by the server and its children (0 for a server given by --url)."""
    return 0.0 if process is None else tree_cpu_s(process.pid)


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
    parser.add_argument("--check-workers", type=int, default=2, help="check processes of each HTTP process")
    parser.add_argument("--distinct", action="store_true", help="every request a post of its own (no cache hit)")
    parser.add_argument("--no-cache", action="store_true", help="start the server with its result cache off")
    parser.add_argument("--rate", type=float, help="open loop: offer this many requests per second in all "
                                                   "(default: closed loop, as fast as answers come)")
    parser.add_argument("--client", choices=["raw", "httpx"], default="raw", help="the load generator's HTTP client")
    parser.add_argument("--url", help="an already running server (its key must be the bench key) instead")
    args = parser.parse_args()

    posts = submissions()
    if args.distinct:  # request N checks post N % 500 under an id of its own: the same work, never a cached answer
        posts = [{**posts[n % len(posts)], "id": f"bench-{n}"} for n in range(args.warm_up + args.requests)]
    bodies = [json.dumps(post).encode() for post in posts]
    warm_bodies, bodies = (bodies[:args.warm_up], bodies[args.warm_up:]) if args.distinct else (bodies[::-1], bodies)
    server, process, startup, startup_cpu = None, None, {}, {}
    with tempfile.TemporaryDirectory(prefix="cg-api-bench-") as tmp:
        try:
            url = args.url
            if url is None:
                server = start_server(args.http_workers, args.check_workers, Path(tmp), cache=not args.no_cache)
                process, url, startup, startup_cpu = server.process, server.url, server.started_s, server.started_cpu_s
            asyncio.run(run_load(url, args.concurrency, args.warm_up, 60, warm_bodies, None, args.client))
            cpu_before, client_before = server_cpu(process), time.process_time()
            latencies, errors, elapsed, hits = asyncio.run(
                run_load(url, args.concurrency, args.requests, args.duration, bodies, args.rate, args.client))
            cpu_used, client_used = server_cpu(process) - cpu_before, time.process_time() - client_before
            load = os.getloadavg()[0]
        finally:
            if server is not None:
                server.stop()
    ms = [v * 1000 for v in latencies]
    mode = f"open loop at {args.rate:g} req/s" if args.rate else "closed loop"
    print(f"POST /v1/checks, {args.concurrency} concurrent clients ({mode}, {args.client} client), loopback, "
          f"{args.http_workers if not args.url else '?'} HTTP worker process(es) x {args.check_workers} check "
          f"processes, {os.cpu_count()} CPUs")
    if startup:
        print(f"start: /healthz answered {startup['/healthz']:.2f} s after `serve` started "
              f"({startup_cpu['/healthz']:.2f} CPU s in its processes by then), /readyz ready at "
              f"{startup['/readyz']:.2f} s ({startup_cpu['/readyz']:.1f} CPU s) (target: /healthz within 3 s)")
    print(f"requests {len(ms)} in {elapsed:.1f} s: {len(ms) / elapsed:.0f} req/s, errors {errors}, "
          f"answered from the result cache {hits} ({'distinct posts' if args.distinct else '500 posts repeating'})")
    print(f"latency ms: p50 {percentile(ms, 0.50):.1f}  p95 {percentile(ms, 0.95):.1f}  "
          f"p99 {percentile(ms, 0.99):.1f}  max {max(ms):.1f}  mean {statistics.fmean(ms):.1f}")
    if process is not None:
        print(f"CPU per request: server {cpu_used / len(ms) * 1000:.2f} ms (all its processes), load generator "
              f"{client_used / len(ms) * 1000:.2f} ms; load average at the end {load:.1f} on {os.cpu_count()} CPUs "
              "(above 0: other work was sharing them)")
    p95 = percentile(ms, 0.95)
    met = p95 <= 50 and errors == 0 and len(ms) / elapsed >= 1000
    print(f"target >= 1,000 req/s, p95 <= 50 ms, no errors: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
