"""The HTTP API, driven over HTTP: the real `complianceguard serve` on a loopback port, in its own
process group, with its real workers, and a webhook receiver on loopback.

One server serves the module (started once); the durability test, last, kills its whole process
group with SIGKILL while jobs are queued and running, and starts it again on the same data.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, ImageDraw

pytestmark = pytest.mark.server  # starts servers, browsers or redis: not in `make test-fast`

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from serve_process import ServeProcess, free_port  # noqa: E402 - the harness bench/hostile_api.py shares
VIDEO = ROOT / "fixtures" / "media" / "spoken-disclosure-start.mp4"
OTHER_VIDEO = ROOT / "fixtures" / "media" / "sponsor-read-undisclosed.mp4"

MAIN_KEY = "main-key-0123456789abcdef"
MAIN_SECRET = "main-webhook-secret-0123456789"
OTHER_KEY = "other-key-0123456789abcdef"
LIMITED_KEY = "limited-key-0123456789abcdef"
REVOKED_KEY = "revoked-key-0123456789abcdef"
HASHED_KEY = "hashed-key-0123456789abcdef"
ROTATING_KEY = "rotating-key-0123456789abcdef"
MAX_CHECK_MB, MAX_JOB_MB = 1, 3


# -- helpers --


def wait_for(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Server(ServeProcess):
    """`complianceguard serve` as a subprocess (bench/serve_process.py), answering for MAIN_KEY by default."""

    def client(self, key: str | None = MAIN_KEY, **options: Any) -> httpx.Client:
        return super().client(key, **options)


class Receiver:
    """A webhook receiver on loopback; paths starting /fail-once/ answer 500 the first time."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    seen = sum(1 for c in receiver.calls if c["path"] == self.path)
                    receiver.calls.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(500 if self.path.startswith("/fail-once/") and seen == 0 else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def to(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c for c in self.calls if c["path"] == path]

    def for_job(self, job_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c for c in self.calls if json.loads(c["body"])["id"] == job_id]


def png(text: str = "#ad") -> bytes:
    image = Image.new("RGB", (320, 180), "white")
    ImageDraw.Draw(image).text((20, 70), text, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def submit_job(client: httpx.Client, submission: dict[str, Any], files: list[tuple[str, bytes]] = (),
               **form: str) -> httpx.Response:
    return client.post("/v1/jobs", data={"submission": json.dumps(submission), **form},
                       files=[("media", (name, data)) for name, data in files])


def finished(client: httpx.Client, job_id: str, timeout: float = 90) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = client.get(f"/v1/jobs/{job_id}").json()
        return job if job["state"] in ("done", "failed") else None

    return wait_for(done, timeout, f"job {job_id} to finish", every=0.2)


def expected_signature(body: bytes, secret: str = MAIN_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -- the shared server --


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keys.yaml"
    path.write_text(f"""keys:
  - {{name: main, key: {MAIN_KEY}, webhook_secret: {MAIN_SECRET}, rate_limit: 1000, burst: 1000}}
  - {{name: other, key: {OTHER_KEY}}}
  - {{name: limited, key: {LIMITED_KEY}, rate_limit: 0.2, burst: 2}}
  - {{name: gone, key: {REVOKED_KEY}, revoked: true}}
  - {{name: hashed, sha256: {hashlib.sha256(HASHED_KEY.encode()).hexdigest()}}}
  - {{name: rotating, key: {ROTATING_KEY}}}
""")
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, keys_file: Path) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("serve")
    server = Server(root / "data", "--keys-file", str(keys_file), "--workers", "1",
                    "--max-check-mb", str(MAX_CHECK_MB), "--max-job-mb", str(MAX_JOB_MB), "--max-files", "3",
                    "--webhook-backoff", "0.3", "--webhook-attempts", "3", "--ocr-fps", "0.5",
                    "--callback-host", "127.0.0.1",  # the receivers are on loopback: allowed explicitly
                    env={"COMPLIANCEGUARD_CACHE": str(root / "cache")})  # real transcription, no old cache
    yield server
    assert server.stop() == 0, server.log.read_text()[-3000:]


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


# -- checks --


def test_healthz_needs_no_key(server: Server) -> None:
    with server.client(key=None) as anonymous:
        response = anonymous.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_check_answers_the_same_item_json_as_the_cli(api: httpx.Client) -> None:
    fields = {"regions": ["GB", "US"], "caption": "Loving my new serum #sp @glowskincare", "relationship": "paid",
              "platform": "instagram", "brand_handles": ["@glowskincare"]}
    response = api.post("/v1/checks", json=fields)
    assert response.status_code == 200, response.text
    cli = subprocess.run(
        [sys.executable, "-m", "complianceguard", "check", "--caption", fields["caption"], "--region", "GB",
         "--region", "US", "--relationship", "paid", "--platform", "instagram", "--brand-handle", "@glowskincare",
         "--format", "json"], check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 1, cli.stderr  # a failing item
    assert response.json() == json.loads(cli.stdout)
    assert response.json()["regions"]["GB"]["verdict"] == "fail"


def test_check_with_an_image_stores_it_under_a_generated_name_only(api: httpx.Client, server: Server) -> None:
    submission = {"id": "draft-7", "regions": ["US"], "caption": "#ad New lipstick from @lipco",
                  "relationship": "paid"}
    response = api.post("/v1/checks", data={"submission": json.dumps(submission)},
                        files=[("media", ("../../etc/cover photo.png", png()))])
    assert response.status_code == 200, response.text
    item = response.json()
    assert item["id"] == "draft-7" and item["verdict"] in ("pass", "warn", "fail", "inconclusive")
    assert "cover photo" not in response.text, "the client's file name is never used"
    overlay = [c for f in item["regions"]["US"]["findings"] for c in f["coverage"] if c["channel"] == "overlay"]
    assert overlay, "the image's on-screen text is accounted for (read, or reported as not read)"
    assert not any((server.data_dir / "checks").glob("*/*")), "a check's images are not kept"


# -- jobs --


def test_image_job_runs_and_renders_every_report_format(api: httpx.Client, server: Server) -> None:
    image = png()
    response = submit_job(api, {"id": "glow-cover", "regions": ["GB"], "caption": "Ad | Glow serum",
                                "relationship": "paid", "platform": "instagram"}, [("cover.png", image)])
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert response.headers["Location"] == accepted["url"] == f"/v1/jobs/{accepted['id']}"
    job = finished(api, accepted["id"])
    assert job["state"] == "done" and job["attempts"] == 1
    assert job["result"]["id"] == "glow-cover" and job["verdict"] == job["result"]["verdict"]
    [media] = job["media"]
    assert media["filename"] == "cover.png" and media["name"].endswith(".png") and media["name"] != "cover.png"
    assert media["sha256"] == hashlib.sha256(image).hexdigest() and media["kind"] == "image"
    assert not (server.data_dir / "media" / job["id"]).exists(), "media is dropped once evaluated"

    reports = {fmt: api.get(url) for fmt, url in job["reports"].items()}
    assert {fmt: r.status_code for fmt, r in reports.items()} == dict.fromkeys(
        ["json", "csv", "html", "sarif", "junit", "md"], 200)
    report = reports["json"].json()
    assert [i["id"] for i in report["items"]] == ["glow-cover"]
    assert report["inputs"] == [{"path": f"media/{job['id']}/{media['name']}", "sha256": media["sha256"]}]
    assert reports["html"].headers["content-type"].startswith("text/html") and "glow-cover" in reports["html"].text
    assert reports["sarif"].json()["runs"][0]["tool"]["driver"]["name"] == "complianceguard"
    assert ET.fromstring(reports["junit"].content).tag in ("testsuites", "testsuite")
    assert reports["csv"].text.splitlines()[0].startswith(("id", "item"))
    assert reports["md"].text.startswith("# ") and reports["md"].headers["content-type"].startswith("text/markdown")
    assert api.get(job["reports"]["html"]).content == reports["html"].content, "rendered once, then reused"


@pytest.mark.media
def test_video_job_is_transcribed_and_its_webhook_signed(api: httpx.Client, receiver: Receiver) -> None:
    callback = f"{receiver.url}/hooks/video"
    response = submit_job(api, {"id": "glow-reel", "regions": ["US"], "caption": "My morning routine",
                                "relationship": "paid", "platform": "youtube"},
                          [("reel.mp4", VIDEO.read_bytes())], callback_url=callback)
    assert response.status_code == 202, response.text
    job = finished(api, response.json()["id"], timeout=120)
    speech = [s["text"] for s in job["result"]["segments"] if s["channel"] == "speech"]
    assert any("sponsored" in text.lower() for text in speech), speech

    [call] = wait_for(lambda: receiver.to("/hooks/video"), 30, "the webhook")
    assert call["headers"]["X-ComplianceGuard-Signature"] == expected_signature(call["body"])
    assert call["headers"]["X-ComplianceGuard-Delivery"] == job["id"]
    delivered = json.loads(call["body"])
    assert delivered["id"] == job["id"] and delivered["state"] == "done"
    assert delivered["result"] == job["result"]
    job = wait_for(lambda: (j := api.get(job["url"]).json())["webhook"]["state"] == "delivered" and j, 10,
                   "the delivery to be recorded")
    [delivery] = job["webhook"]["deliveries"]
    assert delivery["outcome"] == "delivered" and delivery["status_code"] == 200 and delivery["url"] == callback


def test_webhook_is_retried_with_backoff_and_every_attempt_recorded(api: httpx.Client, receiver: Receiver) -> None:
    response = submit_job(api, {"regions": ["GB"], "caption": "#ad Glow serum", "relationship": "paid"},
                          callback_url=f"{receiver.url}/fail-once/retry")
    job_id = response.json()["id"]
    job = wait_for(lambda: (j := api.get(f"/v1/jobs/{job_id}").json()).get("webhook", {}).get("state")
                   == "delivered" and j, 30, "the retried webhook")
    first, second = job["webhook"]["deliveries"]
    assert (first["outcome"], first["status_code"]) == ("failed", 500)
    assert (second["outcome"], second["status_code"]) == ("delivered", 200)
    calls = receiver.to("/fail-once/retry")
    assert len(calls) == 2 and calls[0]["body"] == calls[1]["body"]
    assert {c["headers"]["X-ComplianceGuard-Delivery"] for c in calls} == {job_id}
    assert all(c["headers"]["X-ComplianceGuard-Signature"] == expected_signature(c["body"]) for c in calls)


def test_idempotency_key_gives_the_same_job_for_the_same_request(api: httpx.Client, server: Server) -> None:
    headers = {"Idempotency-Key": "draft-42-v1"}
    fields = {"regions": ["US"], "caption": "#ad hello", "relationship": "paid"}
    first = api.post("/v1/jobs", headers=headers, data={"submission": json.dumps(fields)},
                     files=[("media", ("a.png", png("one")))])
    reordered = json.dumps(dict(reversed(fields.items())), indent=2)  # same fields, other spelling
    again = api.post("/v1/jobs", headers=headers, data={"submission": reordered},
                     files=[("media", ("b.png", png("one")))])
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers

    different = api.post("/v1/jobs", headers=headers, data={"submission": json.dumps(fields)},
                         files=[("media", ("a.png", png("two")))])
    assert different.status_code == 422 and different.json()["field"] == "Idempotency-Key"
    assert first.json()["id"] in different.json()["detail"]
    with server.client(OTHER_KEY) as other:  # keys are per API key
        theirs = other.post("/v1/jobs", headers=headers, data={"submission": json.dumps(fields)})
    assert theirs.status_code == 202 and theirs.json()["id"] != first.json()["id"]

    media = server.data_dir / "media"
    before = set(media.iterdir())
    assert api.post("/v1/jobs", headers=headers, data={"submission": json.dumps(fields)},
                    files=[("media", ("a.png", png("one")))]).status_code == 202
    assert set(media.iterdir()) <= before, "a replay's uploads are not kept"


# -- errors --


def test_401_without_or_with_an_unknown_key(server: Server) -> None:
    for key, header in ((None, None), ("nope-0123456789abcdef", None), (None, "Basic bWFpbjprZXk=")):
        with server.client(key) as client:
            headers = {"Authorization": header} if header else {}
            for method, path in (("GET", "/v1/packs"), ("POST", "/v1/jobs"), ("POST", "/v1/checks"),
                                 ("GET", "/v1/openapi.json"), ("GET", "/v1/jobs/x")):
                response = client.request(method, path, headers=headers)
                assert response.status_code == 401, (key, header, path, response.text)
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                assert response.json()["detail"]
    with server.client(HASHED_KEY) as hashed:  # a key given in the file only by its SHA-256
        assert hashed.get("/v1/packs").status_code == 200


def test_403_for_a_revoked_key_and_revocation_without_restart(server: Server, keys_file: Path) -> None:
    with server.client(REVOKED_KEY) as client:
        response = client.get("/v1/packs")
    assert response.status_code == 403 and "revoked" in response.json()["detail"]

    with server.client(ROTATING_KEY) as rotating:
        assert rotating.get("/v1/packs").status_code == 200
        original = keys_file.read_text()
        keys_file.write_text(original.replace(f"key: {ROTATING_KEY}}}", f"key: {ROTATING_KEY}, revoked: true}}"))
        try:
            wait_for(lambda: rotating.get("/v1/packs").status_code == 403, 10, "the revocation to apply")
        finally:
            keys_file.write_text(original)


def test_413_for_bodies_over_the_limits(api: httpx.Client) -> None:
    big_caption = {"regions": ["US"], "caption": "x" * (MAX_CHECK_MB * 1024 * 1024 + 10)}
    assert api.post("/v1/checks", json=big_caption).status_code == 413
    big_video = [("big.mp4", b"\0\0\0\x18ftypmp42" + b"\0" * (MAX_JOB_MB * 1024 * 1024))]
    response = submit_job(api, {"regions": ["US"]}, big_video)
    assert response.status_code == 413 and "larger than" in response.json()["detail"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield (b'--b\r\nContent-Disposition: form-data; name="submission"\r\n\r\n{"regions": ["US"]}\r\n'
               b'--b\r\nContent-Disposition: form-data; name="media"; filename="x.png"\r\n\r\n\x89PNG\r\n\x1a\n')
        for _ in range(MAX_JOB_MB * 4 + 4):
            yield b"\0" * 262144
        yield b"\r\n--b--\r\n"

    response = api.post("/v1/jobs", content=chunked(), headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert response.status_code == 413
    too_many = [(f"{n}.png", png()) for n in range(4)]
    assert submit_job(api, {"regions": ["US"]}, too_many).status_code == 413


def test_415_for_media_types_not_allowed(api: httpx.Client, server: Server) -> None:
    response = submit_job(api, {"regions": ["US"]}, [("notes.txt", b"just some text, not media")])
    assert response.status_code == 415 and response.json()["field"] == "media"
    assert "notes.txt" in response.json()["detail"]
    renamed = submit_job(api, {"regions": ["US"]}, [("cover.png", b"%PDF-1.7 not an image")])
    assert renamed.status_code == 415, "the type comes from the bytes, not the file name"
    video_as_check = api.post("/v1/checks", data={"submission": json.dumps({"regions": ["US"]})},
                              files=[("media", ("reel.mp4", b"\0\0\0\x18ftypmp42" + b"\0" * 64))])
    assert video_as_check.status_code == 415 and "video/mp4" in video_as_check.json()["detail"]
    assert api.post("/v1/checks", content=b"caption", headers={"Content-Type": "text/plain"}).status_code == 415
    assert not any((server.data_dir / "media").glob("*/*.txt"))


@pytest.mark.parametrize(("request_args", "field"), [
    ({"json": {"regions": ["XX"], "caption": "hi"}}, "regions"),
    ({"json": {"caption": "hi"}}, "regions"),
    ({"json": {"regions": ["US"], "colour": "red"}}, "colour"),
    ({"json": {"regions": ["US"], "relationship": "sponsor"}}, "relationship"),
    ({"json": {"regions": ["US"], "media": ["/etc/passwd"]}}, "media"),
    ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, "body"),
    ({"json": ["US"]}, "body"),
])
def test_422_names_the_field_of_a_bad_check(api: httpx.Client, request_args: dict[str, Any], field: str) -> None:
    response = api.post("/v1/checks", **request_args)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["field"] == field and problem["detail"].startswith(f"field {field}:")
    assert "\n" not in problem["detail"]


def test_422_names_the_field_of_a_bad_job_or_report_request(api: httpx.Client) -> None:
    cases = [
        (api.post("/v1/jobs", data={}), "submission"),
        (api.post("/v1/jobs", data={"submission": "{oops"}), "submission"),
        (submit_job(api, {"regions": ["US"]}, callback_url="ftp://example.com/hook"), "callback_url"),
        (submit_job(api, {"regions": ["US"], "platform": "myspace"}), "platform"),
        (api.get("/v1/jobs/whatever/report", params={"format": "pdf"}), "format"),
    ]
    for response, field in cases:
        assert response.status_code == 422, response.text
        assert response.json()["field"] == field, response.text


def test_429_when_a_key_exceeds_its_rate(server: Server) -> None:
    with server.client(LIMITED_KEY) as client:
        answers = [client.get("/v1/packs") for _ in range(3)]  # burst 2, then 0.2 a second
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert int(answers[2].headers["Retry-After"]) >= 1 and "limited" in answers[2].json()["detail"]


def test_404_for_jobs_of_other_keys_and_unknown_things(api: httpx.Client, server: Server) -> None:
    job_id = submit_job(api, {"regions": ["US"], "caption": "#ad hi"}).json()["id"]
    with server.client(OTHER_KEY) as other:
        assert other.get(f"/v1/jobs/{job_id}").status_code == 404
        assert other.get(f"/v1/jobs/{job_id}/report").status_code == 404
    assert api.get("/v1/jobs/0000").status_code == 404
    assert api.get("/v1/rules/ZZ999").status_code == 404


# -- reading packs, rules and the API description --


def test_packs_and_rules(api: httpx.Client) -> None:
    packs = api.get("/v1/packs").json()
    us = next(p for p in packs if p.get("region") == "US")
    assert "US108" in us["rules"] and len(us["sha256"]) == 64
    rule = api.get("/v1/rules/us108").json()
    assert rule["code"] == "US108" and rule["region"] == "US" and rule["packs"] == [f"{us['id']}@{us['version']}"]
    assert rule["rule"]["fix"] and rule["source"]["url"].startswith("http")


def test_openapi_describes_every_endpoint(api: httpx.Client) -> None:
    document = api.get("/v1/openapi.json").json()
    assert {"/healthz", "/v1/checks", "/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/report", "/v1/packs",
            "/v1/rules/{code}"} <= set(document["paths"])
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    check_body = document["paths"]["/v1/checks"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(check_body)
    assert "regions" in check_body["application/json"]["schema"]["properties"]


# -- durability --


def test_a_second_server_on_the_same_data_dir_is_refused(server: Server) -> None:
    result = subprocess.run([sys.executable, "-m", "complianceguard", "serve", "--port", str(free_port()),
                             "--data-dir", str(server.data_dir)], check=False, cwd=ROOT, capture_output=True, text=True,
                            timeout=60, env={**os.environ, "COMPLIANCEGUARD_API_KEYS": f"x:{MAIN_KEY}"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {server.data_dir}: another `complianceguard serve` is using this data directory"]


@pytest.mark.media
def test_sigkill_and_restart_finish_every_job_once_with_one_webhook_each(server: Server, receiver: Receiver) -> None:
    """Last in the module: it kills the module's server (SIGKILL to its whole process group) while a
    video job runs and others wait, and starts it again on the same data directory."""
    hook = f"{receiver.url}/hooks/durable"
    with server.client() as api:  # a video not transcribed before in this module: its job takes seconds
        video = submit_job(api, {"id": "reel", "regions": ["US"], "caption": "My routine", "relationship": "paid"},
                           [("reel.mp4", OTHER_VIDEO.read_bytes())], callback_url=hook)
        ids = [video.json()["id"]] + [
            submit_job(api, {"id": f"post-{n}", "regions": ["GB"], "caption": f"#ad Glow serum, day {n}",
                             "relationship": "paid"}, callback_url=hook).json()["id"]
            for n in range(5)]
        wait_for(lambda: api.get(f"/v1/jobs/{ids[0]}").json()["state"] == "running", 60, "the video job to run",
                 every=0.05)
        states = {job_id: api.get(f"/v1/jobs/{job_id}").json()["state"] for job_id in ids}
        assert api.get(f"/v1/jobs/{ids[-1]}/report").status_code == 409  # not finished: no report yet
    server.kill()
    assert states[ids[0]] == "running" and "queued" in states.values(), states

    server.start()
    with server.client() as api:
        for job_id in ids:
            finished(api, job_id, timeout=120)
        wait_for(lambda: all(api.get(f"/v1/jobs/{i}").json()["webhook"]["state"] == "delivered" for i in ids),
                 30, "every webhook")
        time.sleep(1.5)  # room for a duplicate to show up, were one sent
        jobs = [api.get(f"/v1/jobs/{job_id}").json() for job_id in ids]
    assert [j["state"] for j in jobs] == ["done"] * len(ids)
    assert jobs[0]["attempts"] == 2, "the video job was running when killed, and ran again"
    assert all(j["attempts"] == 1 for j in jobs[1:] if states[j["id"]] == "queued")
    for job in jobs:
        calls = receiver.for_job(job["id"])
        assert len(calls) == 1, f"{job['id']}: {len(calls)} webhooks"
        assert calls[0]["headers"]["X-ComplianceGuard-Signature"] == expected_signature(calls[0]["body"])
        assert [d["outcome"] for d in job["webhook"]["deliveries"]] == ["delivered"]
    assert re.search(r"resumed [1-6] jobs", server.log.read_text())
