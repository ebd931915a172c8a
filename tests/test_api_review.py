"""The API for platforms (issue #18): job listing, retention, review decisions and the review page.

The store and the retention sweep are tested directly (a fake clock, backdated rows); the endpoints
over HTTP on the real `complianceguard serve` (loopback, its own data directory and workers); the
review page in headless Chromium, driven through the DevTools protocol on a pipe (no driver
library): it loads the page, types the key, clicks overrule with a reason, and the decision is in
GET /v1/jobs/{id}/reviews.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from complianceguard.api.server import Supervisor
from complianceguard.api.settings import Settings
from complianceguard.api.store import Store
from complianceguard.review import GENESIS, ChainBroken, entry_hash
from test_api import Server, finished, submit_job, wait_for

pytestmark = pytest.mark.server  # starts servers, browsers or redis: not in `make test-fast`

MAIN_KEY = "review-main-key-0123456789abcdef"
OTHER_KEY = "review-other-key-0123456789abcdef"
FAILING = {"regions": ["GB"], "caption": "Loving my new serum #sp @glowskincare", "relationship": "paid",
           "platform": "instagram", "brand_handles": ["@glowskincare"]}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--window-size=1280,2000"]


# -- the store and the sweep, directly --


def _add(store: Store, job_id: str, key: str = "main", created_at: str | None = None, regions: tuple = ("GB",),
         verdict: str | None = "fail", state: str = "done") -> None:
    store.add_job(job_id, key, None, "h" + job_id, {"id": job_id, "regions": list(regions), "caption": "c"}, [], None)
    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE jobs SET state = ?, verdict = ?, created_at = COALESCE(?, created_at), "
                   "finished_at = created_at WHERE id = ?", (state, verdict, created_at, job_id))


def _entry_fields(n: int) -> dict[str, Any]:
    return {"time": f"2026-01-0{n}T00:00:00+00:00", "reviewer": "Ann", "decision": "overrule", "reason": f"r{n}",
            "item": "post", "region": "GB", "rule": "GB103", "content_sha256": "0" * 64, "machine_status": "fail"}


def test_listing_is_per_key_newest_first_filtered_and_paged(tmp_path: Path) -> None:
    store = Store(tmp_path / "jobs.db")
    for n in range(7):
        _add(store, f"{n:032x}", created_at=f"2026-01-0{n + 1}T00:00:00.000+00:00",
             regions=("GB",) if n % 2 else ("US", "GB") if n == 4 else ("US",), verdict="fail" if n < 5 else "pass")
    _add(store, "f" * 32, key="other")
    everything = store.list_jobs("main", 100)
    assert [j.id for j in everything] == [f"{n:032x}" for n in reversed(range(7))]
    seen, after = [], None
    while True:
        page = store.list_jobs("main", 3, after=after)
        seen += [j.id for j in page]
        if len(page) < 3:
            break
        after = (page[-1].created_at, page[-1].id)
    assert seen == [j.id for j in everything]
    assert {j.id for j in store.list_jobs("main", 100, region="US")} == {f"{n:032x}" for n in (0, 2, 4, 6)}
    assert {j.id for j in store.list_jobs("main", 100, verdict="pass")} == {f"{n:032x}" for n in (5, 6)}
    window = store.list_jobs("main", 100, created_after="2026-01-02T00:00:00.000+00:00",
                             created_before="2026-01-05T00:00:00.000+00:00")
    assert [j.id for j in window] == [f"{n:032x}" for n in (3, 2)]
    assert [j.id for j in store.list_jobs("other", 100)] == ["f" * 32]


def test_review_log_is_a_verified_append_only_chain(tmp_path: Path) -> None:
    store = Store(tmp_path / "jobs.db")
    job = "a" * 32
    _add(store, job)
    first = store.add_review(job, "main", _entry_fields(1))
    second = store.add_review(job, "main", _entry_fields(2))
    assert first["prev"] == GENESIS and second["prev"] == first["hash"] and second["hash"] == entry_hash(second)
    assert store.reviews(job) == [first, second]
    with sqlite3.connect(store.path) as db:
        for sql in ("UPDATE reviews SET entry = entry WHERE seq = 1", "DELETE FROM reviews WHERE seq = 2"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(sql)
    # Someone who drops the trigger to edit a reason is found on the next read.
    with sqlite3.connect(store.path) as db:
        db.execute("DROP TRIGGER reviews_append_only")
        db.execute("UPDATE reviews SET entry = replace(entry, '\"r1\"', '\"edited\"') WHERE seq = 1")
    with pytest.raises(ChainBroken, match="altered"):
        store.reviews(job)
    with pytest.raises(ChainBroken):
        store.add_review(job, "main", _entry_fields(3))


def test_a_decision_needs_a_finished_job_and_a_version_1_store_is_upgraded(tmp_path: Path) -> None:
    from complianceguard.api.reviews import ReviewRefused, entry_fields
    from complianceguard.api.schemas import ReviewIn
    from complianceguard.api.store import SCHEMA

    old = tmp_path / "old.db"
    with sqlite3.connect(old) as db:  # a store written by the version before reviews
        db.executescript(SCHEMA)
        db.execute("PRAGMA user_version=1")
    store = Store(old)
    with sqlite3.connect(old) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    _add(store, "b" * 32, state="queued", verdict=None)
    job = store.job("b" * 32)
    assert job is not None
    body = ReviewIn(region="GB", rule="GB103", decision="confirm", reviewer="A", reason="r")
    with pytest.raises(ReviewRefused) as refused:
        entry_fields(job, body)
    assert refused.value.status == 409 and "queued" in refused.value.detail


def test_retention_sweep_deletes_old_jobs_their_media_and_log_with_a_fake_clock(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, retention_days=30)
    store = Store(settings.jobs_db)
    old, fresh, busy = "1" * 32, "2" * 32, "3" * 32
    _add(store, old, created_at="2026-01-01T00:00:00.000+00:00")
    _add(store, fresh, created_at="2026-02-20T00:00:00.000+00:00")
    _add(store, busy, created_at="2026-01-01T00:00:00.000+00:00", state="running", verdict=None)
    store.add_review(old, "main", _entry_fields(1))
    for parent in (settings.media_dir, settings.reports_dir):
        for job_id in (old, fresh, busy, "9" * 32):  # 9...: a folder of no job (a crash between the two)
            (parent / job_id).mkdir(parents=True)
            (parent / job_id / "f").write_text("x")
    ancient = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    os.utime(settings.media_dir / ("9" * 32), (ancient, ancient))
    clock = dt.datetime(2026, 3, 1, tzinfo=dt.UTC).timestamp  # 2026-03-01: 30 days back is 2026-01-30
    sweeper = SimpleNamespace(settings=settings, store=store)
    assert Supervisor.expire(sweeper, clock) == [old]
    assert store.job(old) is None and store.job(fresh) and store.job(busy)
    assert store.reviews(old) == []
    assert not (settings.media_dir / old).exists() and not (settings.reports_dir / old).exists()
    assert not (settings.media_dir / ("9" * 32)).exists(), "an old folder of no job goes too"
    assert (settings.reports_dir / ("9" * 32)).exists(), "a recent one stays (a job being accepted)"
    assert (settings.media_dir / fresh).exists() and (settings.media_dir / busy).exists()
    forever = SimpleNamespace(settings=Settings(data_dir=tmp_path, retention_days=0), store=store)
    assert Supervisor.expire(forever, lambda: clock() + 1e9) == []
    assert store.job(fresh) is not None


# -- over HTTP --


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("serve-review")
    keys = root / "keys.yaml"
    keys.write_text(f"keys:\n  - {{name: main, key: {MAIN_KEY}, rate_limit: 1000, burst: 1000}}\n"
                    f"  - {{name: other, key: {OTHER_KEY}}}\n")
    server = Server(root / "data", "--keys-file", str(keys), "--workers", "1", "--check-workers", "1",
                    "--asr-backend", "none", "--ocr-fps", "0", "--retention-days", "30", "--retention-interval", "1",
                    env={"COMPLIANCEGUARD_CACHE": str(root / "cache")})
    yield server
    assert server.stop() == 0, server.log.read_text()[-3000:]


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client(MAIN_KEY) as client:
        yield client


@pytest.fixture(scope="module")
def failing_job(api: httpx.Client) -> dict[str, Any]:
    response = submit_job(api, {"id": "draft-review", **FAILING})
    assert response.status_code == 202, response.text
    job = finished(api, response.json()["id"])
    assert job["state"] == "done" and job["result"]["regions"]["GB"]["verdict"] == "fail"
    return job


def _failing_rule(job: dict[str, Any]) -> str:
    return next(f["rule"] for f in job["result"]["regions"]["GB"]["findings"] if f["status"] == "fail")


def test_jobs_are_listed_per_key_newest_first_with_filters_and_pages(api: httpx.Client, server: Server,
                                                                    failing_job: dict[str, Any]) -> None:
    ids = []
    for n, regions in enumerate((["US"], ["GB"], ["US"], ["GB"])):
        response = submit_job(api, {**FAILING, "id": f"list-{n}", "regions": regions})
        ids.append(response.json()["id"])
    jobs = {i: finished(api, i) for i in ids}
    listing = api.get("/v1/jobs", params={"limit": 100})
    assert listing.status_code == 200, listing.text
    body = listing.json()
    assert "next" not in body
    listed = [j["id"] for j in body["jobs"]]
    assert set(ids) | {failing_job["id"]} <= set(listed)
    created = [j["created_at"] for j in body["jobs"]]
    assert created == sorted(created, reverse=True), "newest first"
    assert body["jobs"][listed.index(ids[0])]["item"] == "list-0"
    pages, cursor = [], None
    while True:
        page = api.get("/v1/jobs", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        pages.append([j["id"] for j in page["jobs"]])
        cursor = page.get("next")
        if cursor is None:
            break
    assert [i for p in pages for i in p] == listed and all(len(p) == 2 for p in pages[:-1])
    us = [j["id"] for j in api.get("/v1/jobs", params={"region": "us"}).json()["jobs"]]
    assert set(us) == {ids[0], ids[2]}
    done = api.get("/v1/jobs", params={"status": "done", "verdict": "fail"}).json()["jobs"]
    assert {j["id"] for j in done} == {i for i in listed if (jobs.get(i) or failing_job)["verdict"] == "fail"}
    middle = jobs[ids[1]]["created_at"]
    after = [j["id"] for j in api.get("/v1/jobs", params={"created_after": middle}).json()["jobs"]]
    before = [j["id"] for j in api.get("/v1/jobs", params={"created_before": middle}).json()["jobs"]]
    assert after == [ids[3], ids[2]] and ids[0] in before and ids[1] not in before + after
    with server.client(OTHER_KEY) as other:
        assert other.get("/v1/jobs").json()["jobs"] == [], "never another key's jobs"
        assert other.get(f"/v1/jobs/{ids[0]}/reviews").status_code == 404
    for params, field in (({"limit": 101}, "limit"), ({"cursor": "nonsense!"}, "cursor"),
                          ({"created_after": "yesterday"}, "created_after"), ({"status": "lost"}, "status")):
        response = api.get("/v1/jobs", params=params)
        assert response.status_code == 422 and response.json()["field"] == field, response.text
    spec = api.get("/v1/openapi.json").json()
    listing_doc = spec["paths"]["/v1/jobs"]["get"]
    assert {p["name"] for p in listing_doc["parameters"]} >= {"status", "verdict", "region", "created_after",
                                                              "created_before", "limit", "cursor"}
    assert "post" in spec["paths"]["/v1/jobs/{job_id}/reviews"] and "get" in spec["paths"]["/v1/jobs/{job_id}/reviews"]


def test_a_decision_is_recorded_chained_and_shown_with_the_machine_status(api: httpx.Client, server: Server,
                                                                         failing_job: dict[str, Any]) -> None:
    job_id, rule = failing_job["id"], _failing_rule(failing_job)
    url = f"/v1/jobs/{job_id}/reviews"
    assert api.get(url).json() == {"job": job_id, "entries": [], "head": GENESIS, "verified": True}
    first = api.post(url, json={"region": "gb", "rule": rule.lower(), "decision": "confirm", "reviewer": "Ann Lee",
                                "reason": "no label at all"})
    assert first.status_code == 201, first.text
    second = api.post(url, json={"region": "GB", "rule": rule, "decision": "overrule", "reviewer": "Bo Chen",
                                 "reason": "the brand's own account: not an ad"})
    assert second.status_code == 201, second.text
    a, b = first.json(), second.json()
    assert (a["seq"], a["prev"], b["seq"], b["prev"]) == (1, GENESIS, 2, a["hash"])
    assert a["region"] == "GB" and a["rule"] == rule and a["machine_status"] == "fail" and a["key"] == "main"
    log = api.get(url).json()
    assert [e["hash"] for e in log["entries"]] == [a["hash"], b["hash"]] and log["head"] == b["hash"]
    assert all(e["hash"] == entry_hash({k: v for k, v in e.items() if k != "key"}) for e in log["entries"])

    job = api.get(f"/v1/jobs/{job_id}").json()
    finding = next(f for f in job["result"]["regions"]["GB"]["findings"] if f["rule"] == rule)
    assert finding["status"] == "fail", "the machine's status stays"
    assert [r["decision"] for r in finding["reviews"]] == ["confirm", "overrule"]
    shown = next(f for f in job["review"]["findings"] if f["rule"] == rule)
    assert shown == {**shown, "machine_status": "fail", "decision": "overrule", "reviewer": "Bo Chen",
                     "reason": "the brand's own account: not an ad", "entry": b["hash"], "decisions": 2}
    assert job["review"]["entries"] == 2 and job["review"]["page"] == f"/review/{job_id}"

    html = api.get(f"/v1/jobs/{job_id}/report", params={"format": "html"}).text
    assert "Overruled</b> by Bo Chen" in html and "Confirmed</b> by Ann Lee" in html
    report = api.get(f"/v1/jobs/{job_id}/report", params={"format": "json"}).text
    assert "the brand's own account" in report

    for body, field, status in (
            ({"region": "FR", "rule": rule, "decision": "confirm", "reviewer": "A", "reason": "r"}, "region", 422),
            ({"region": "GB", "rule": "XX999", "decision": "confirm", "reviewer": "A", "reason": "r"}, "rule", 422),
            ({"region": "GB", "rule": rule, "decision": "maybe", "reviewer": "A", "reason": "r"}, "decision", 422),
            ({"region": "GB", "rule": rule, "decision": "confirm", "reviewer": "A", "reason": "  "}, "reason", 422),
            ({"region": "GB", "rule": rule, "decision": "confirm", "reviewer": "A"}, "reason", 422)):
        response = api.post(url, json=body)
        assert response.status_code == status and response.json()["field"] == field, response.text
    with server.client(OTHER_KEY) as other:
        assert other.post(url, json={"region": "GB", "rule": rule, "decision": "confirm", "reviewer": "X",
                                     "reason": "r"}).status_code == 404
    with server.client(None) as anonymous:
        assert anonymous.get(url).status_code == 401
    assert len(api.get(url).json()["entries"]) == 2, "refused decisions leave no entry"


def test_retention_deletes_a_backdated_job_with_its_media_and_log(api: httpx.Client, server: Server) -> None:
    old = finished(api, submit_job(api, {**FAILING, "id": "old-post"}).json()["id"])
    keep = finished(api, submit_job(api, {**FAILING, "id": "new-post"}).json()["id"])
    rule = _failing_rule(old)
    assert api.post(f"/v1/jobs/{old['id']}/reviews", json={"region": "GB", "rule": rule, "decision": "confirm",
                                                           "reviewer": "A", "reason": "r"}).status_code == 201
    media = server.data_dir / "media" / old["id"]
    media.mkdir(parents=True, exist_ok=True)
    (media / "kept.png").write_bytes(b"x")  # as --keep-media would have left it
    backdated = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).isoformat(timespec="milliseconds")
    with sqlite3.connect(server.data_dir / "jobs.db", timeout=30) as db:
        db.execute("UPDATE jobs SET created_at = ? WHERE id = ?", (backdated, old["id"]))
    reports = server.data_dir / "reports" / old["id"]
    assert reports.is_dir()
    # The row goes first (a 404 at once), then its folders, in the same sweep.
    wait_for(lambda: api.get(f"/v1/jobs/{old['id']}").status_code == 404 and not media.exists()
             and not reports.exists(), 60, "the sweep to delete the old job and its folders")
    with sqlite3.connect(server.data_dir / "jobs.db", timeout=30) as db:
        assert db.execute("SELECT COUNT(*) FROM reviews WHERE job_id = ?", (old["id"],)).fetchone()[0] == 0
    assert api.get(f"/v1/jobs/{keep['id']}").status_code == 200
    assert old["id"] not in [j["id"] for j in api.get("/v1/jobs", params={"limit": 100}).json()["jobs"]]


# -- the review page in a real browser --


class Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe: it
    reads commands on fd 3 and writes answers and events on fd 4, each a JSON text ending in NUL)."""

    def __init__(self, profile: Path):
        binary = shutil.which("chromium")
        if binary is None:
            pytest.fail("Debian chromium is not installed: `apt-get install chromium`")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def plumb() -> None:  # in the child: the pipe ends become fds 3 and 4
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.stderr = (profile.parent / "chromium.log").open("wb")
        self.process = subprocess.Popen(
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr, preexec_fn=plumb,
            close_fds=False)
        os.close(to_child_r)
        os.close(from_child_w)
        self._next = 0
        self._answers: dict[int, queue.Queue] = {}
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        targets = self.send("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.send(domain, session=True)

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_child, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        box = self._answers.get(message["id"])
                    if box is not None:
                        box.put(message)
                else:
                    self.events.append(message)

    def send(self, method: str, session: bool = False, timeout: float = 60, **params: Any) -> dict[str, Any]:
        with self._lock:
            self._next += 1
            number = self._next
            box: queue.Queue = queue.Queue()
            self._answers[number] = box
        message: dict[str, Any] = {"id": number, "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        try:
            answer = box.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"Chromium did not answer {method} within {timeout} s") from None
        if "error" in answer:
            raise AssertionError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def js(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", session=True, expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def attribute(self, name: str) -> Any:
        """An attribute of the page's <html>, or None (also while a navigation replaces the document)."""
        try:
            return self.js(f"document.documentElement && document.documentElement.getAttribute({json.dumps(name)})")
        except AssertionError:
            return None

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) in the middle of the element."""
        box = self.js(f"(function () {{ var e = document.querySelector({json.dumps(selector)});"
                      " if (!e) return null; e.scrollIntoView({block: 'center'});"
                      " var r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }())")
        assert box is not None, f"no element {selector}"
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", session=True, type=kind, x=box[0], y=box[1], button="left",
                      clickCount=1)

    def type_into(self, selector: str, text: str) -> None:
        assert self.js(f"(function () {{ var e = document.querySelector({json.dumps(selector)});"
                       " if (!e) return false; e.focus(); return true; }())"), f"no element {selector}"
        self.send("Input.insertText", session=True, text=text)

    def problems(self) -> list[Any]:
        """Uncaught exceptions, console errors, failed loads and CSP reports."""
        found = []
        for event in list(self.events):
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(params["exceptionDetails"])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append(params)
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(params["entry"])
        return found

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=10)
        except (AssertionError, OSError):
            pass
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        os.close(self._to_child)
        self.stderr.close()


def test_review_page_in_chromium_records_an_overrule(api: httpx.Client, server: Server, tmp_path: Path) -> None:
    job = finished(api, submit_job(api, {**FAILING, "id": "browser-post"}).json()["id"])
    rule = _failing_rule(job)
    with server.client(None) as anonymous:  # the page itself needs no key and holds no job data
        page = anonymous.get(f"/review/{job['id']}")
        assert page.status_code == 200 and "Loving my new serum" not in page.text
        assert "script-src 'sha256-" in page.headers["content-security-policy"]
        assert anonymous.get("/review/not-a-job").status_code == 404
    browser = Chromium(tmp_path / "profile")
    try:
        browser.send("Page.navigate", session=True, url=f"{server.url}/review/{job['id']}")
        wait_for(lambda: browser.attribute("data-js") == "ready", 60,
                 "the review page's script to run")
        assert browser.js("document.getElementById('view').children.length") == 0, "nothing shown before the key"
        browser.type_into("#api-key", MAIN_KEY)
        browser.type_into("#reviewer", "Dana Legal")
        browser.click("#open")
        wait_for(lambda: browser.attribute("data-state") == "ready", 60,
                 "the job's findings to load", every=0.2)
        assert browser.js("sessionStorage.getItem('complianceguard.api-key')") == MAIN_KEY
        assert browser.js("document.cookie") == ""
        assert "Loving my new serum" in browser.js("document.getElementById('view').textContent")
        controls = f'.review-controls[data-review-region="GB"][data-review-rule="{rule}"]'
        assert browser.js(f"!!document.querySelector('.finding[data-rule=\"{rule}\"] {controls}')"), \
            "the controls sit in the report's finding block"
        browser.type_into(f"{controls} textarea", "Creator's own product; no brand relationship")
        browser.click(f'{controls} button[data-decision="overrule"]')
        wait_for(lambda: browser.attribute("data-recorded") == "1", 60,
                 "the decision to be recorded", every=0.2)
        wait_for(lambda: browser.attribute("data-entries") == "1", 60,
                 "the page to show it", every=0.2)
        text = browser.js("document.getElementById('view').textContent")
        assert "Overruled by Dana Legal" in text and "Machine status: fail" in text
        assert "Recorded: overruled GB " + rule in browser.js("document.getElementById('message').textContent")
        assert browser.problems() == []
    finally:
        browser.close()
    entries = api.get(f"/v1/jobs/{job['id']}/reviews").json()["entries"]
    assert [(e["decision"], e["reviewer"], e["reason"], e["rule"], e["machine_status"]) for e in entries] == [
        ("overrule", "Dana Legal", "Creator's own product; no brand relationship", rule, "fail")]


def test_review_page_refuses_a_wrong_key(server: Server, failing_job: dict[str, Any], tmp_path: Path) -> None:
    browser = Chromium(tmp_path / "profile")
    try:
        browser.send("Page.navigate", session=True, url=f"{server.url}/review/{failing_job['id']}")
        wait_for(lambda: browser.attribute("data-js") == "ready", 60, "the page")
        browser.type_into("#api-key", "not-a-key-0123456789abcdef")
        browser.type_into("#reviewer", "Eve")
        browser.click("#open")
        wait_for(lambda: "unknown API key" in browser.js("document.getElementById('message').textContent"), 60,
                 "the refusal")
        assert browser.js("document.getElementById('unlock').hidden") is False
        assert browser.js("sessionStorage.getItem('complianceguard.api-key')") is None
        assert browser.js("document.getElementById('view').children.length") == 0
    finally:
        browser.close()
