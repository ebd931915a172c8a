"""`POST /v1/checks` in process (no server): the JSON fast lane answers exactly as the route did, the
result cache is per key and honest, and the start-up app answers /healthz before the real app exists.
tests/test_api.py drives the real server (and its /readyz)."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import httpx
import pytest

from complianceguard.api.app import create_app
from complianceguard.api.auth import KeyRing
from complianceguard.api.checks import InlineChecks, ResultCache
from complianceguard.api.pipeline import Pipeline
from complianceguard.api.settings import Settings

KEY_A, KEY_B = "key-a-0123456789abcdef", "key-b-0123456789abcdef"
POST = {"regions": ["GB"], "caption": "Loving this serum from @glowskincare #ad", "relationship": "paid"}


class CountingChecks(InlineChecks):
    """The inline checks, counting how many ran (a cached answer runs none)."""

    runs = 0

    async def evaluate(self, key_name, submission):
        self.runs += 1
        return await super().evaluate(key_name, submission)


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline()


@pytest.fixture
def served(tmp_path: Path, pipeline: Pipeline):
    settings = Settings(data_dir=tmp_path, rate_limit=1000, burst=1000, max_check_bytes=64 * 1024)
    checks = CountingChecks(pipeline)
    app = create_app(settings, KeyRing(None, f"a:{KEY_A},b:{KEY_B}"), pipeline, checks)
    return app, checks


def _post(app, key: str = KEY_A, content_type: str | None = None, **request) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if content_type:
        headers["Content-Type"] = content_type

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post("/v1/checks", headers=headers, **request)

    return asyncio.run(go())


def test_a_json_check_is_the_item_and_a_repeat_by_the_same_key_comes_from_the_cache(served, pipeline):
    app, checks = served
    first = _post(app, json=POST)
    assert first.status_code == 200 and first.headers["x-check-cache"] == "miss"
    item = first.json()
    assert item["id"] == "caption" and item["regions"]["GB"]["verdict"] == item["verdict"]
    again = _post(app, content=json.dumps(POST).encode())  # no content type: read as JSON
    assert again.headers["x-check-cache"] == "hit" and again.content == first.content
    assert checks.runs == 1
    other_key = _post(app, KEY_B, json=POST)
    assert other_key.headers["x-check-cache"] == "miss", "no key learns what another one checked"
    changed = _post(app, json={**POST, "caption": POST["caption"].replace("#ad", "")})
    assert changed.headers["x-check-cache"] == "miss" and changed.json()["verdict"] != "pass"
    assert checks.runs == 3


def test_the_lane_keeps_the_routes_errors(served):
    app, _ = served
    bad_json = _post(app, content=b"{nope", content_type="application/json")
    assert bad_json.status_code == 422 and bad_json.json()["field"] == "body"
    assert bad_json.json()["detail"].startswith("field body: not valid JSON")
    not_object = _post(app, json=[1, 2])
    assert not_object.status_code == 422 and not_object.json()["field"] == "body"
    bad_field = _post(app, json={**POST, "relationship": "friends"})
    assert bad_field.status_code == 422 and bad_field.json()["field"] == "relationship"
    too_large = _post(app, json={**POST, "caption": "x" * 70_000})
    assert too_large.status_code == 413
    no_key = _post(app, key="", json=POST)
    assert no_key.status_code == 401
    other_type = _post(app, content=b"caption", content_type="text/plain")
    assert other_type.status_code == 415, "not JSON: FastAPI's route answers it"


def test_a_multipart_check_still_goes_through_the_route(served):
    app, _ = served
    answer = _post(app, data={"submission": json.dumps(POST)}, files={"unused": ("a.txt", b"x")})
    assert answer.status_code == 200 and answer.json()["id"] == "caption"


def test_the_cache_drops_the_least_recently_used_past_its_size():
    cache = ResultCache(max_bytes=10)
    cache.put("a", "1", b"12345")
    cache.put("a", "2", b"12345")
    assert cache.get("a", "1") == b"12345"  # now the most recent
    cache.put("a", "3", b"12345")
    assert cache.get("a", "2") is None and cache.get("a", "1") and cache.get("a", "3")
    assert cache.get("b", "1") is None, "per key"
    cache.put("a", "big", b"x" * 11)
    assert cache.get("a", "big") is None, "an answer larger than the cache is not kept"
    assert ResultCache.digest({"b": 1, "a": [2]}) == ResultCache.digest({"a": [2], "b": 1})


def test_the_start_up_app_answers_healthz_before_the_real_app_and_then_hands_over(monkeypatch):
    from complianceguard.api import app as app_module
    from complianceguard.api import starting

    release = threading.Event()

    async def real_app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"real " + scope["path"].encode()})

    class State:
        checks = None

    real_app.state = State()

    def slow_build():
        release.wait(10)
        return real_app

    monkeypatch.setattr(app_module, "app_from_env", slow_build)

    async def go() -> list[tuple[int, bytes]]:
        wrapper = starting.Starting()
        transport = httpx.ASGITransport(app=wrapper)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            health = await client.get("/healthz")
            ready = await client.get("/readyz")
            waiting = asyncio.create_task(client.get("/v1/packs"))
            await asyncio.sleep(0.2)
            assert not waiting.done(), "other requests wait for the app"
            release.set()
            packs = await asyncio.wait_for(waiting, 10)
            after = await client.get("/healthz")
        return [(r.status_code, r.content) for r in (health, ready, packs, after)]

    health, ready, packs, after = asyncio.run(go())
    assert health[0] == 200 and json.loads(health[1])["status"] == "ok"
    assert ready[0] == 503 and json.loads(ready[1])["status"] == "starting"
    assert packs == (200, b"real /v1/packs")
    assert after == (200, b"real /healthz"), "once built, the real app answers everything"
