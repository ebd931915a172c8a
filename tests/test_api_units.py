"""The HTTP API's parts that carry its promises, without a server: the job store's state changes
(a job finished once, a webhook delivered once, whatever races or restarts), API keys, the rate
limit, media recognition and webhook signatures. tests/test_api.py drives the real server."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import pytest

from complianceguard.api.auth import (
    ApiKey,
    KeyRing,
    RateLimiter,
    hash_key,
    load_keys,
    parse_env_keys,
)
from complianceguard.api.store import IdempotencyConflict, Owner, Store, now
from complianceguard.api.uploads import recognise
from complianceguard.api.webhooks import backoff, sign, verify
from complianceguard.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
A, B = Owner(101, 1.0), Owner(202, 2.0)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "jobs.db")


def add(store: Store, job_id: str = "j1", callback: str | None = "http://127.0.0.1:9/hook", key: str = "k",
        idempotency: str | None = None, request_hash: str = "h1"):
    return store.add_job(job_id, key, idempotency, request_hash, {"id": job_id, "regions": ["US"]}, [], callback)


def test_a_job_is_claimed_by_one_worker_and_finished_once(store: Store) -> None:
    job, created = add(store)
    assert created and job.state == "queued"
    assert store.claim("j1", A, max_attempts=3).state == "running"
    assert store.claim("j1", B, max_attempts=3) is None, "a second task for the same job does nothing"
    assert store.finish("j1", B, "pass", "{}", "{}", None, None) is None, "only the holder finishes it"
    finished = store.finish("j1", A, "pass", "{}", "{}", {"json": "report.json"}, None)
    assert finished.state == "done" and finished.webhook_state == "pending" and finished.report_files
    assert store.finish("j1", A, "fail", "{}", "{}", None, None) is None, "finished once"
    assert store.claim("j1", A, max_attempts=3) is None


def test_an_error_item_fails_the_job_and_no_callback_means_no_webhook(store: Store) -> None:
    add(store, callback=None)
    store.claim("j1", A, max_attempts=3)
    job = store.finish("j1", A, "error", "{}", None, None, "clip.mp4: could not decode")
    assert (job.state, job.webhook_state, job.error) == ("failed", "none", "clip.mp4: could not decode")


def test_a_job_whose_worker_died_is_queued_again_then_given_up(store: Store) -> None:
    add(store)
    for attempt in (1, 2, 3):
        assert store.claim("j1", A, max_attempts=3).attempts == attempt
        assert store.release_orphans(lambda owner: owner != A) == (["j1"], [])
    assert store.release_orphans(lambda owner: False) == ([], []), "nothing held, nothing released"
    job = store.claim("j1", A, max_attempts=3)
    assert job.state == "failed" and "interrupted 3 times" in job.error and job.webhook_state == "pending"


def test_a_live_worker_keeps_its_job(store: Store) -> None:
    add(store)
    store.claim("j1", A, max_attempts=3)
    assert store.release_orphans(lambda owner: owner == A) == ([], [])
    assert store.job("j1").state == "running"


def test_a_webhook_is_sent_by_one_worker_and_an_interrupted_attempt_is_resent(store: Store) -> None:
    add(store)
    store.claim("j1", A, max_attempts=3)
    store.finish("j1", A, "pass", "{}", "{}", None, None)
    _, attempt = store.begin_delivery("j1", A)
    assert attempt == 1 and store.begin_delivery("j1", B) is None
    assert store.release_orphans(lambda owner: False) == ([], ["j1"])  # the server died mid-attempt
    assert [d.outcome for d in store.deliveries("j1")] == ["interrupted"]
    _, attempt = store.begin_delivery("j1", B)
    assert store.end_delivery("j1", attempt, False, 500, "HTTP 500", max_attempts=3) == "pending"
    _, attempt = store.begin_delivery("j1", B)
    assert store.end_delivery("j1", attempt, True, 200, None, max_attempts=3) == "delivered"
    assert store.begin_delivery("j1", A) is None, "delivered once"
    assert [(d.attempt, d.outcome) for d in store.deliveries("j1")] == [
        (1, "interrupted"), (2, "failed"), (3, "delivered")]


def test_webhook_attempts_run_out(store: Store) -> None:
    add(store)
    store.claim("j1", A, max_attempts=3)
    store.finish("j1", A, "pass", "{}", "{}", None, None)
    states = []
    for _ in range(2):
        _, attempt = store.begin_delivery("j1", A)
        states.append(store.end_delivery("j1", attempt, False, None, "ConnectError", max_attempts=2))
    assert states == ["pending", "exhausted"] and store.begin_delivery("j1", A) is None


def test_idempotency_keys_are_per_api_key_and_bound_to_the_request(store: Store) -> None:
    first, created = add(store, "j1", idempotency="draft-1")
    again, created_again = add(store, "j2", idempotency="draft-1")
    assert created and not created_again and again.id == first.id
    with pytest.raises(IdempotencyConflict) as conflict:
        add(store, "j3", idempotency="draft-1", request_hash="h2")
    assert conflict.value.job_id == "j1"
    other, created_other = add(store, "j4", key="other", idempotency="draft-1")
    assert created_other and other.id == "j4"
    assert store.job("j1", key_name="other") is None, "a job is read only with the key that made it"


def test_the_queue_is_rebuilt_from_queued_jobs_and_untried_webhooks(store: Store) -> None:
    add(store, "j1")
    add(store, "j2")
    store.claim("j2", A, max_attempts=3)
    store.finish("j2", A, "pass", "{}", "{}", None, None)
    assert store.unfinished() == (["j1"], ["j2"])


def test_keys_file_entries_and_one_line_errors(tmp_path: Path) -> None:
    keys = tmp_path / "keys.yaml"
    keys.write_text("keys:\n  - {name: a, key: 0123456789abcdef}\n"
                    f"  - {{name: b, sha256: {hash_key('fedcba9876543210')}, revoked: true}}\n")
    ring = KeyRing(keys, env_value="")
    assert ring.lookup("0123456789abcdef").name == "a" and ring.lookup("fedcba9876543210").revoked
    assert ring.lookup("0123456789abcdeX") is None
    for text, message in [
        ("keys:\n  - {name: a}\n", "keys[0]: give exactly one of `key` and `sha256`"),
        ("keys:\n  - {name: a, key: short}\n", "keys[0].key: String should have at least 16 characters"),
        ("keys:\n  - {name: a, key: 0123456789abcdef, colour: red}\n", "keys[0].colour: unknown field"),
        ("- {name: a, sha256: nothex}\n", "keys[0].sha256: String should match pattern"),
        ("keys: [\n", "line 2: not valid YAML or JSON"),
    ]:
        keys.write_text(text)
        with pytest.raises(InputError) as error:
            load_keys(keys, None)
        assert str(error.value).startswith(f"{keys}: {message}"), str(error.value)


def test_keys_from_the_environment() -> None:
    keys = parse_env_keys("irm:0123456789abcdef, 0123456789abcdefXYZ")
    assert [k.name for k in keys] == ["irm", "env-2"] and keys[0].sha256 == hash_key("0123456789abcdef")
    with pytest.raises(InputError, match="entry 1: a key needs at least 16 characters"):
        parse_env_keys("irm:short")
    with pytest.raises(InputError, match="the name 'irm' is used twice"):
        load_keys(None, "irm:0123456789abcdef,irm:0123456789abcdeX")


def test_rate_limit_is_a_token_bucket_per_key() -> None:
    clock = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: clock[0])
    key, slow = ApiKey("k", "x"), ApiKey("s", "y", rate_limit=0.5, burst=1)
    assert [limiter.take(key) for _ in range(4)] == [0, 0, 0, 0.5]
    clock[0] = 0.5
    assert limiter.take(key) == 0 and limiter.take(key) == pytest.approx(0.5)
    assert limiter.take(slow) == 0 and limiter.take(slow) == pytest.approx(2.0), "a key's own rate wins"


@pytest.mark.parametrize(("head", "content_type"), [
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 8, "image/png"),
    (b"\xff\xd8\xff\xe0\0\x10JFIF", "image/jpeg"),
    (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
    (b"RIFF\0\0\0\0WAVEfmt ", "audio/wav"),
    (b"\0\0\0\x20ftypM4A \0\0\0\0", "audio/mp4"),
    (b"\0\0\0\x14ftypqt  \0\0\0\0", "video/quicktime"),
    (b"ID3\x04\0\0\0\0\0\0", "audio/mpeg"),
    (b"OggS\0\x02", "audio/ogg"),
    (b"fLaC\0\0\0\x22", "audio/flac"),
    (b"%PDF-1.7\n", None),
    (b"<svg xmlns=", None),
    (b"just text", None),
])
def test_media_types_are_recognised_from_their_bytes(head: bytes, content_type: str | None) -> None:
    found = recognise(head)
    assert (found.content_type if found else None) == content_type


def test_fixture_video_is_recognised_as_mp4() -> None:
    head = (ROOT / "fixtures" / "media" / "silence.mp4").read_bytes()[:64]
    assert recognise(head).content_type == "video/mp4"


def test_webhook_signature_is_hmac_sha256_of_the_body() -> None:
    body = b'{"id": "j1", "state": "done"}'
    signature = sign("secret-0123456789", body)
    assert signature == "sha256=" + hmac.new(b"secret-0123456789", body, hashlib.sha256).hexdigest()
    assert verify("secret-0123456789", body, signature)
    assert not verify("secret-0123456789", body + b" ", signature) and not verify("other", body, signature)
    assert not verify("secret-0123456789", body, None)


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n, 2.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0] and backoff(30, 2.0) == 3600.0


def test_work_waiting_long_is_found_for_a_spare_task(store: Store) -> None:
    add(store, "j1")
    add(store, "j2")
    store.claim("j2", A, max_attempts=3)
    store.finish("j2", A, "pass", "{}", "{}", None, None)
    assert store.waiting_since(now(-60)) == ([], []), "nothing has waited a minute yet"
    assert store.waiting_since(now(+1)) == (["j1"], ["j2"])
    _, attempt = store.begin_delivery("j2", A)
    store.end_delivery("j2", attempt, False, 500, "HTTP 500", max_attempts=3)
    assert store.waiting_since(now(+1)) == (["j1"], []), "a retried webhook has its scheduled task"
