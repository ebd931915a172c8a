"""The API rows of the hostile-input probe (shared/research/probe-2026-12.md, issue #19), as code, for
bench/hostile.py: each row sends its hostile requests to a real `complianceguard serve` on a loopback
port (started once, on first use, with its defaults and short header/body deadlines; stopped at
exit) and says whether they were handled cleanly.

    API_ROWS  = [(row, description, check)]   check(work_dir=None) -> True, or raises saying why
    API_CASES = the same as objects with .row .description .check .media, the shape of hostile.Case

    .venv/bin/python bench/hostile_api.py        # the API rows alone
"""

from __future__ import annotations

import atexit
import io
import json
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from serve_process import ServeProcess  # noqa: E402 - the harness tests/test_api.py shares
KEY_A, KEY_B = "probe-a-0123456789abcdef", "probe-b-0123456789abcdef"
HEADER_TIMEOUT_S, BODY_TIMEOUT_S = 2, 3
CHECK = {"regions": ["GB"], "caption": "#ad new serum", "relationship": "paid"}


def expect(condition: object, message: str) -> None:
    if not condition:
        raise AssertionError(message)


# ---------------------------------------------------------------- the server, started once


class _Serve(ServeProcess):
    """The probe's server (bench/serve_process.py): two keys, short deadlines, a throw-away folder."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="hostile-api-"))
        env = {"COMPLIANCEGUARD_API_KEYS": f"a:{KEY_A},b:{KEY_B}", "COMPLIANCEGUARD_CACHE": str(self.root / "cache")}
        super().__init__(self.root / "data", "--workers", "1", "--rate-limit", "1000", "--burst", "1000",
                         "--header-timeout", str(HEADER_TIMEOUT_S), "--body-timeout", str(BODY_TIMEOUT_S),
                         env=env, log=self.root / "serve.log")
        atexit.register(self.stop)

    def client(self, key: str | None = KEY_A, **options: Any) -> httpx.Client:
        return super().client(key, timeout=60, **options)

    def stop(self) -> int:
        code = super().stop()
        shutil.rmtree(self.root, ignore_errors=True)
        return code


_server: _Serve | None = None


def serve() -> _Serve:
    global _server
    if _server is None:
        _server = _Serve()
    return _server


class _Listener:
    """A loopback webhook receiver that records the paths it is sent."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                calls.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _png(side: int, seed: int | None = None) -> bytes:
    from PIL import Image, ImageDraw

    if seed is None:  # a bomb: a small file that decodes to side x side grey pixels
        image = Image.new("L", (side, side))
    else:  # a large image with text to read: a check that takes a while
        image = Image.new("RGB", (side, side), "white")
        draw = ImageDraw.Draw(image)
        for y in range(0, side, 250):
            draw.text((50, y), f"#ad paid partnership {seed} " * 8, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=seed is None)
    return buffer.getvalue()


def _problem(response: httpx.Response, status: int, field: str) -> str:
    expect(response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:300]}")
    problem = response.json()
    expect(problem.get("field") == field and problem["detail"].startswith(f"field {field}:")
           and "\n" not in problem["detail"], f"expected a one-line problem naming {field}: {problem}")
    return str(problem["detail"])


def _job(client: httpx.Client, submission: Any, files: list[tuple[str, bytes]] = (), **form: str) -> httpx.Response:
    text = submission if isinstance(submission, str) else json.dumps(submission)
    return client.post("/v1/jobs", data={"submission": text, **form},
                       files=[("media", (name, data)) for name, data in files])


# ---------------------------------------------------------------- the rows


def row_bomb(_: Path | None = None) -> bool:
    """#1: a 900 MP PNG is refused from its header (checks and jobs), and key a's slow checks leave key b fast."""
    server = serve()
    bomb = _png(30000)
    with server.client() as api:
        started = time.monotonic()
        detail = _problem(api.post("/v1/checks", data={"submission": json.dumps(CHECK)},
                                   files=[("media", ("bomb.png", bomb))]), 413, "media")
        expect(time.monotonic() - started < 5, "the bomb took long to refuse (was it decoded?)")
        expect("bomb.png" in detail and f"{len(bomb):,} bytes" in detail and "limit" in detail,
               f"the detail should name the file, its size and the limit: {detail}")
        _problem(_job(api, CHECK, [("bomb.png", bomb)]), 413, "media")

        def heavy(image: bytes) -> float:
            response = api.post("/v1/checks", data={"submission": json.dumps(CHECK)},
                                files=[("media", ("big.png", image))], timeout=180)
            expect(response.status_code == 200, f"a large image check failed: {response.text[:300]}")
            return time.monotonic()

        images = [_png(6000, seed) for seed in range(int(time.time()) % 1000, int(time.time()) % 1000 + 4)]
        with ThreadPoolExecutor(len(images)) as pool, server.client(KEY_B) as other:
            pending = [pool.submit(heavy, image) for image in images]
            time.sleep(1.0)
            started = time.monotonic()
            light = other.post("/v1/checks", json=CHECK)
            answered = time.monotonic()
            last = max(f.result(timeout=300) for f in pending)
    expect(light.status_code == 200, f"key b's check: {light.status_code} {light.text[:200]}")
    expect(answered - started < 3, f"key b waited {answered - started:.1f} s behind key a's checks")
    expect(answered < last, "key a's checks were over before key b's came in: the row proved nothing")
    return True


SSRF_TARGETS = ["http://127.0.0.1:{port}/loopback", "http://localhost:{port}/localhost",
                "http://evil.example@127.0.0.1:{port}/userinfo", "http://2130706433:{port}/decimal",
                "http://[::ffff:127.0.0.1]:{port}/mapped", "{own}/v1/checks", "http://169.254.169.254/latest/",
                "http://10.0.0.1/", "http://192.168.0.1/", "http://[fd00::1]/", "http://0.0.0.0:{port}/"]


def row_ssrf(_: Path | None = None) -> bool:
    """#2: callbacks to loopback, private, link-local and the server itself are refused (422), nothing sent."""
    server = serve()
    listener = _Listener()
    try:
        with server.client() as api:
            for target in SSRF_TARGETS:
                url = target.format(port=listener.port, own=server.url)
                _problem(_job(api, CHECK, callback_url=url), 422, "callback_url")
            accepted = _job(api, CHECK, callback_url="https://93.184.215.14/hooks/cg")  # public: accepted
            expect(accepted.status_code == 202, f"a public callback was refused: {accepted.text[:300]}")
        time.sleep(1.0)
        expect(listener.calls == [], f"the listener on loopback was sent {listener.calls}")
    finally:
        listener.server.shutdown()
    return True


def row_huge_caption(_: Path | None = None) -> bool:
    """#12: a 9 MB caption is a 422 naming caption, at once (checks and jobs)."""
    with serve().client() as api:
        body = json.dumps({**CHECK, "caption": "#ad " + "x" * 9_000_000})
        started = time.monotonic()
        _problem(api.post("/v1/checks", content=body, headers={"Content-Type": "application/json"}), 422, "caption")
        expect(time.monotonic() - started < 10, "the huge caption took long to refuse")
        _problem(_job(api, {**CHECK, "caption": "y" * 200_000}), 422, "caption")
    return True


def row_surrogate(_: Path | None = None) -> bool:
    """#13: a lone surrogate (\\udcff) in a caption or handle is a 422 naming the field."""
    raw = '{"regions":["GB"],"caption":"#ad \\udcff","relationship":"paid"}'
    with serve().client() as api:
        _problem(api.post("/v1/checks", content=raw, headers={"Content-Type": "application/json"}), 422, "caption")
        handles = '{"regions":["GB"],"caption":"#ad x","brand_handles":["@\\ud800"]}'
        _problem(api.post("/v1/checks", content=handles, headers={"Content-Type": "application/json"}), 422,
                 "brand_handles.0")
        _problem(_job(api, raw), 422, "caption")
    return True


def row_deep_json(_: Path | None = None) -> bool:
    """#14: JSON nested 100,000 deep is a 422 (body, or the job's submission), not a 500."""
    deep = '{"regions":["GB"],"caption":"x","brand_handles":' + "[" * 100_000 + "]" * 100_000 + "}"
    with serve().client() as api:
        _problem(api.post("/v1/checks", content=deep, headers={"Content-Type": "application/json"}), 422, "body")
        _problem(_job(api, deep), 422, "submission")
    return True


def _trickle(port: int, head: bytes, payload: bytes, limit_s: float) -> tuple[float, bytes]:
    """Send `head`, then `payload` a byte every 0.3 s; (seconds until the server answered or closed, answer)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=limit_s) as sock:
        try:
            sock.sendall(head)
            for byte in payload:
                if time.monotonic() - started > limit_s:
                    return limit_s, b"(still open)"
                sock.sendall(bytes([byte]))
                time.sleep(0.3)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(5)
        try:
            return time.monotonic() - started, sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            return time.monotonic() - started, b""


def row_slow_clients(_: Path | None = None) -> bool:
    """#24: clients trickling headers are disconnected, trickled bodies get 408, /healthz stays fast."""
    server = serve()
    headers = f"GET /v1/packs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY_A}\r\n\r\n".encode() * 4
    head = (f"POST /v1/checks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY_A}\r\n"
            "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{").encode()
    with ThreadPoolExecutor(20) as pool:
        slow_headers = [pool.submit(_trickle, server.port, b"", headers, 20) for _ in range(10)]
        slow_bodies = [pool.submit(_trickle, server.port, head, b" " * 100, 20) for _ in range(10)]
        time.sleep(0.5)
        health = []
        for _ in range(5):
            started = time.monotonic()
            expect(httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200, "/healthz failed")
            health.append(time.monotonic() - started)
            time.sleep(0.2)
        header_results = [f.result(timeout=60) for f in slow_headers]
        body_results = [f.result(timeout=60) for f in slow_bodies]
    expect(max(health) < 1.0, f"/healthz slowed down to {max(health):.2f} s")
    for seconds, answer in header_results:
        expect(answer != b"(still open)" and seconds < HEADER_TIMEOUT_S + 3,
               f"a connection trickling headers was still open after {seconds:.1f} s")
    for seconds, answer in body_results:
        expect(answer.startswith(b"HTTP/1.1 408") and seconds < BODY_TIMEOUT_S + 3,
               f"a trickled body got {answer[:60]!r} after {seconds:.1f} s")
    return True


def row_bad_keys(_: Path | None = None) -> bool:
    """#25: 200 unknown keys from one client: 401s, then 429 with Retry-After; other clients unaffected."""
    server = serve()
    transport = httpx.HTTPTransport(local_address="127.0.0.3")  # its own address: other rows go on
    with httpx.Client(base_url=server.url, transport=transport, timeout=10) as guesser:
        codes = [guesser.get("/v1/packs", headers={"Authorization": f"Bearer bad{n}"}).status_code
                 for n in range(200)]
        last = guesser.get("/v1/packs", headers={"Authorization": "Bearer bad-again"})
    expect(set(codes) == {401, 429} and codes[0] == 401 and codes.count(429) >= 150,
           f"expected 401s then 429s, got {sorted(set(codes))} ({codes.count(429)} x 429)")
    expect(last.status_code == 429 and int(last.headers.get("Retry-After", "0")) >= 1, "no Retry-After")
    with server.client() as api:
        expect(api.get("/v1/packs").status_code == 200, "another client was throttled too")
    return True


API_ROWS: list[tuple[str, str, Callable[..., bool]]] = [
    ("1", "API: PNG decompression bomb refused before decoding; one key's slow checks leave others fast", row_bomb),
    ("2", "API: webhook SSRF (loopback, localhost, decimal IP, userinfo, own API, metadata, RFC 1918) -> 422",
     row_ssrf),
    ("12", "API: 9 MB caption -> 422 field caption", row_huge_caption),
    ("13", "API: lone surrogate in caption / brand_handles -> 422 naming the field", row_surrogate),
    ("14", "API: JSON nested 100,000 deep -> 422, not 500", row_deep_json),
    ("24", "API: slow clients (trickled headers and bodies) cut off; /healthz fast", row_slow_clients),
    ("25", "API: repeated unknown keys from one client -> 429 with Retry-After", row_bad_keys),
]


@dataclass(frozen=True)
class ApiCase:
    """The shape of bench/hostile.py's Case, so its runner can take these rows as they are."""

    row: str
    description: str
    check: Callable[[Path], bool]
    media: bool = False


API_CASES = [ApiCase(row, description, check) for row, description, check in API_ROWS]


def main(argv: list[str]) -> int:
    wanted = set(argv)
    handled = tried = 0
    for row, description, check in API_ROWS:
        if wanted and row not in wanted:
            continue
        tried += 1
        started = time.monotonic()
        try:
            ok, why = bool(check(None)), ""
        except Exception as exc:  # noqa: BLE001 - a row that raises is a row not handled cleanly
            ok, why = False, f"{type(exc).__name__}: {exc}"
        handled += ok
        print(f"row {row:4} {'ok  ' if ok else 'NOT '}  {description} ({time.monotonic() - started:.1f} s)"
              + (f"\n          {why[:500]}" if why else ""))
    print(f"{tried} tried, {handled} handled cleanly")
    return 0 if handled == tried else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
