"""The HTTP API against the hostile inputs of the December 2026 probe (research/probe-2026-12.md),
one test per row: the real `complianceguard serve` on a loopback port, as in tests/test_api.py,
started with its defaults (no --callback-host: callbacks to loopback must be refused) and short
header/body deadlines. Every network wait in here is bounded.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw
from test_api import Server, png, submit_job, wait_for

from complianceguard.api import webhooks
from complianceguard.api.callbacks import CallbackPolicy, CallbackRefused

pytestmark = pytest.mark.server  # starts servers, browsers or redis: not in `make test-fast`

KEY_A = "hostile-a-0123456789abcdef"
KEY_B = "hostile-b-0123456789abcdef"
HEADER_TIMEOUT_S, BODY_TIMEOUT_S = 2, 3
CHECK = {"regions": ["GB"], "caption": "#ad new serum", "relationship": "paid"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("hostile")
    keys = root / "keys.yaml"
    keys.write_text(f"""keys:
  - {{name: a, key: {KEY_A}, rate_limit: 1000, burst: 1000}}
  - {{name: b, key: {KEY_B}, rate_limit: 1000, burst: 1000}}
""")
    server = Server(root / "data", "--keys-file", str(keys), "--workers", "1", "--check-workers", "2",
                    "--header-timeout", str(HEADER_TIMEOUT_S), "--body-timeout", str(BODY_TIMEOUT_S),
                    env={"COMPLIANCEGUARD_CACHE": str(root / "cache")})
    yield server
    assert server.stop() == 0, server.log.read_text()[-3000:]


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client(KEY_A) as client:
        yield client


class Listener:
    """A loopback receiver that records every request; /redirect answers 302 to /elsewhere."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                listener.calls.append(self.path)
                self.send_response(302 if self.path == "/redirect" else 200)
                if self.path == "/redirect":
                    self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.server.shutdown()


def bomb_png(side: int = 30000) -> bytes:
    """A small file that decodes to side x side 8-bit grey pixels (900 MP by default)."""
    buffer = io.BytesIO()
    Image.new("L", (side, side)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def big_text_png(seed: int, side: int = 6000) -> bytes:
    """A large image under the pixel budget, with text to read: a check that takes a while."""
    image = Image.new("RGB", (side, side), "white")
    draw = ImageDraw.Draw(image)
    for y in range(0, side, 250):
        draw.text((50, y), f"#ad paid partnership {seed} " * 8, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def assert_field_problem(response: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["field"] == field and problem["detail"].startswith(f"field {field}:"), problem
    assert "\n" not in problem["detail"]
    return problem


# -- row 1: decompression bomb, and one key's heavy checks do not stall the others --


def test_row01_png_bomb_is_refused_before_decoding(api: httpx.Client, server: Server) -> None:
    bomb = bomb_png()
    assert len(bomb) < 1_000_000
    started = time.monotonic()
    response = api.post("/v1/checks", data={"submission": json.dumps(CHECK)},
                        files=[("media", ("bomb.png", bomb))])
    problem = assert_field_problem(response, 413, "media")
    assert time.monotonic() - started < 5, "refused from the header, not after decoding"
    assert "bomb.png" in problem["detail"] and f"{len(bomb):,} bytes" in problem["detail"]
    assert "900,000,000 pixels" in problem["detail"] and "limit of 64,000,000 pixels" in problem["detail"]
    job = submit_job(api, CHECK, [("bomb.png", bomb)])
    assert_field_problem(job, 413, "media")
    medium = submit_job(api, CHECK, [("wide.png", bomb_png(8200))])  # 67 MP: under Pillow's limit, over ours
    assert "8200x8200 = 67,240,000 pixels" in assert_field_problem(medium, 413, "media")["detail"]
    assert not any((server.data_dir / "media").glob("*/*")) and not any((server.data_dir / "checks").glob("*/*"))


def test_row01_one_keys_heavy_checks_do_not_stall_another_key(api: httpx.Client, server: Server) -> None:
    images = [big_text_png(seed) for seed in range(6)]  # distinct bytes: nothing comes from the cache

    def heavy(image: bytes) -> tuple[float, int]:
        response = api.post("/v1/checks", data={"submission": json.dumps(CHECK)},
                            files=[("media", ("big.png", image))], timeout=120)
        return time.monotonic(), response.status_code

    with ThreadPoolExecutor(len(images)) as pool, server.client(KEY_B) as other:
        pending = [pool.submit(heavy, image) for image in images]
        time.sleep(1.0)  # key a's checks are running and queued
        started = time.monotonic()
        light = other.post("/v1/checks", json=CHECK, timeout=60)
        answered = time.monotonic()
        results = [f.result(timeout=180) for f in pending]
    assert light.status_code == 200, light.text
    assert [status for _, status in results] == [200] * len(images)
    assert answered - started < 4, f"key b waited {answered - started:.1f} s behind key a"  # one thread: ~10 s
    assert answered < max(done for done, _ in results), "key b was answered while key a's checks still ran"


# -- row 2: webhook SSRF --


@pytest.mark.parametrize("target", [
    "http://127.0.0.1:{port}/ssrf-loopback",
    "http://localhost:{port}/ssrf-localhost",
    "http://evil.example@127.0.0.1:{port}/ssrf-userinfo",
    "http://2130706433:{port}/ssrf-decimal",
    "http://0x7f.1:{port}/ssrf-hex",
    "http://[::1]:{port}/ssrf-v6",
    "http://[::ffff:127.0.0.1]:{port}/ssrf-mapped",
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1/hook",
    "http://192.168.1.1/hook",
    "http://[fd00::1]/hook",
    "http://224.0.0.1/hook",
    "http://0.0.0.0:{port}/hook",
    "{own}/v1/checks",
])
def test_row02_callbacks_to_internal_addresses_are_refused(api: httpx.Client, server: Server, listener: Listener,
                                                           target: str) -> None:
    url = target.format(port=listener.port, own=server.url)
    response = submit_job(api, CHECK, [("small.png", png())], callback_url=url)
    assert_field_problem(response, 422, "callback_url")
    assert listener.calls == []


def test_row02_a_public_callback_is_accepted(api: httpx.Client) -> None:
    response = submit_job(api, CHECK, callback_url="https://93.184.215.14/hooks/cg")  # a public address
    assert response.status_code == 202, response.text


def test_row02_each_delivery_resolves_again_dns_rebinding(listener: Listener) -> None:
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])  # public when submitted, loopback when delivered
    policy = CallbackPolicy(resolver=lambda host, port: next(answers))
    url = f"http://rebind.example:{listener.port}/rebound"
    assert policy.check(url).addresses  # accepted at submission
    outcome = webhooks.post(url, b"{}", "secret-0123456789abcdef", "job-1", 2.0, policy)
    assert not outcome.delivered and outcome.error and outcome.error.startswith("refused: ")
    assert "loopback" in outcome.error and "/rebound" not in listener.calls


def test_row02_allow_listed_loopback_is_delivered_to_the_checked_address_and_redirects_not_followed(
        listener: Listener) -> None:
    policy = CallbackPolicy(["localhost"], resolver=lambda host, port: ["127.0.0.1"])
    delivered = webhooks.post(f"http://localhost:{listener.port}/allowed", b"{}", "s" * 16, "job-2", 5.0, policy)
    assert delivered.delivered and "/allowed" in listener.calls
    redirected = webhooks.post(f"http://localhost:{listener.port}/redirect", b"{}", "s" * 16, "job-3", 5.0, policy)
    assert (redirected.delivered, redirected.status_code) == (False, 302)
    assert "/elsewhere" not in listener.calls
    with pytest.raises(CallbackRefused, match="not allowed"):
        policy.check(f"http://127.0.0.2:{listener.port}/other")  # the allow-list is the only list


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"), ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"), ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.0.1", "private"),
    ("fc00::1", "private"), ("100.64.0.1", "shared"), ("224.0.0.251", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("240.0.0.1", "reserved"),
    ("::ffff:10.0.0.1", "inside an IPv6 address"), ("2002:a00:1::", "inside an IPv6 address"),
    ("64:ff9b::a9fe:a9fe", "inside an IPv6 address"), ("93.184.215.14", None), ("2606:4700::1111", None),
])
def test_row02_address_kinds(address: str, kind: str | None) -> None:
    import ipaddress

    from complianceguard.api.callbacks import why_not_public

    reason = why_not_public(ipaddress.ip_address(address))
    assert (reason is None) if kind is None else (reason is not None and kind in reason), (address, reason)


# -- row 12: huge caption --


def test_row12_huge_caption_is_a_field_error(api: httpx.Client) -> None:
    body = json.dumps({**CHECK, "caption": "#ad " + "x" * 9_000_000})
    started = time.monotonic()
    response = api.post("/v1/checks", content=body, headers={"Content-Type": "application/json"})
    problem = assert_field_problem(response, 422, "caption")
    assert "the limit is 100,000" in problem["detail"] and time.monotonic() - started < 10
    job = submit_job(api, {**CHECK, "caption": "y" * 200_000})
    assert_field_problem(job, 422, "caption")


# -- row 13: lone surrogates --


def test_row13_lone_surrogate_is_a_field_error(api: httpx.Client) -> None:
    raw = b'{"regions":["GB"],"caption":"#ad \\udcff","relationship":"paid"}'
    response = api.post("/v1/checks", content=raw, headers={"Content-Type": "application/json"})
    assert "surrogate" in assert_field_problem(response, 422, "caption")["detail"]
    handles = b'{"regions":["GB"],"caption":"#ad x","brand_handles":["@ok","@\\ud800"]}'
    response = api.post("/v1/checks", content=handles, headers={"Content-Type": "application/json"})
    assert_field_problem(response, 422, "brand_handles.1")
    job = api.post("/v1/jobs", data={"submission": raw.decode()})
    assert_field_problem(job, 422, "caption")


# -- row 14: deep JSON --


def test_row14_deeply_nested_json_is_a_422(api: httpx.Client) -> None:
    deep = '{"regions":["GB"],"caption":"x","brand_handles":' + "[" * 100_000 + "]" * 100_000 + "}"
    response = api.post("/v1/checks", content=deep, headers={"Content-Type": "application/json"})
    assert_field_problem(response, 422, "body")
    job = api.post("/v1/jobs", data={"submission": deep})
    assert_field_problem(job, 422, "submission")
    assert api.get("/healthz").status_code == 200


# -- row 24: slow clients --


def _trickle(server: Server, payload: bytes, every_s: float, limit_s: float) -> tuple[float, bytes]:
    """Send `payload` a byte at a time; (seconds until the server answered or closed, what it sent)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=limit_s) as sock:
        try:
            for byte in payload:
                sock.sendall(bytes([byte]))
                time.sleep(every_s)
                if time.monotonic() - started > limit_s:
                    break
            sock.settimeout(max(0.1, limit_s - (time.monotonic() - started)))
            answer = sock.recv(65536)
        except (BrokenPipeError, ConnectionResetError):
            answer = b""
        except TimeoutError:
            return limit_s, b"(still open)"
    return time.monotonic() - started, answer


def test_row24_slow_clients_are_cut_off_and_healthz_stays_fast(server: Server) -> None:
    headers = f"GET /v1/packs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY_A}\r\n\r\n".encode()
    body_head = (f"POST /v1/checks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY_A}\r\n"
                 "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n").encode()
    with ThreadPoolExecutor(12) as pool:
        slow_headers = [pool.submit(_trickle, server, headers, 0.3, 15) for _ in range(6)]
        slow_bodies = []
        for _ in range(6):
            slow_bodies.append(pool.submit(_body_trickle, server, body_head, 15))
        time.sleep(0.5)
        health = []
        for _ in range(5):
            started = time.monotonic()
            assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
            health.append(time.monotonic() - started)
            time.sleep(0.2)
        header_results = [f.result(timeout=30) for f in slow_headers]
        body_results = [f.result(timeout=30) for f in slow_bodies]
    assert max(health) < 1.0, health
    for seconds, answer in header_results:
        assert answer != b"(still open)" and not answer.startswith(b"HTTP/1.1 200"), answer
        assert seconds < HEADER_TIMEOUT_S + 3, seconds
    for seconds, answer in body_results:
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b"--body-timeout" in answer and seconds < BODY_TIMEOUT_S + 3, seconds


def _body_trickle(server: Server, head: bytes, limit_s: float) -> tuple[float, bytes]:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=limit_s) as sock:
        sock.sendall(head + b"{")
        try:
            while time.monotonic() - started < limit_s:
                sock.sendall(b" ")
                time.sleep(0.3)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(5)
        try:
            answer = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            answer = b""
    return time.monotonic() - started, answer


# -- row 25: guessing keys --


def test_row25_repeated_bad_keys_from_one_client_are_throttled(server: Server, api: httpx.Client) -> None:
    transport = httpx.HTTPTransport(local_address="127.0.0.2")  # its own client address: the others go on
    with httpx.Client(base_url=server.url, transport=transport, timeout=10) as guesser:
        codes = [guesser.get("/v1/packs", headers={"Authorization": f"Bearer guess-{n:04d}-0123456789"}).status_code
                 for n in range(30)]
        assert codes[:20] == [401] * 20 and codes[-1] == 429, codes
        throttled = guesser.get("/v1/packs", headers={"Authorization": f"Bearer {KEY_B}"})
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 1
    assert "valid API key" in throttled.json()["detail"]
    assert api.get("/v1/packs").status_code == 200, "another client is not affected"


def test_row25_the_bad_key_allowance_refills_per_client() -> None:
    from complianceguard.api.auth import FailureThrottle

    now = [0.0]
    throttle = FailureThrottle(burst=3, rate=0.5, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.wait("10.0.0.1") == 0
        throttle.failed("10.0.0.1")
    assert throttle.wait("10.0.0.1") == pytest.approx(2.0) and throttle.wait("10.0.0.2") == 0
    now[0] = 2.0
    assert throttle.wait("10.0.0.1") == 0, "one more try after 1/rate seconds"


def test_the_server_log_has_no_traceback(server: Server) -> None:
    wait_for(lambda: server.log.exists(), 5, "the log")
    assert "Traceback" not in Path(server.log).read_text()
