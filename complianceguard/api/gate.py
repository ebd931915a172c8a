"""The gate every request passes before the app reads its body: API key, rate limit, body size.

It is plain ASGI so that it runs before FastAPI parses a form: a caller without a valid key, or over
its rate, or announcing too large a body, is answered without one byte of the body being read.
A body without a Content-Length is counted as it arrives and refused (413) once over the limit.
A client sending request after request without a valid key is throttled (429, per address), and a
body that has not all arrived within the body deadline is refused (408) and its connection closed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from complianceguard.api.auth import ApiKey, FailureThrottle, KeyRing, RateLimiter

OPEN_PATHS = frozenset({"/healthz", "/readyz"})
# The review page is a shell that holds no job data: it asks for the key and calls the API with it.
OPEN_PREFIXES = ("/review/",)


def too_large(limit: int) -> str:
    return f"the request body is larger than this endpoint accepts ({limit:,} bytes; see --max-check-mb/--max-job-mb)"


class Gate:
    def __init__(self, app: ASGIApp, keys: KeyRing, limiter: RateLimiter, body_limit: Callable[[str, str], int],
                 throttle: FailureThrottle | None = None, body_timeout_s: float | None = None):
        self.app, self.keys, self.limiter, self.body_limit = app, keys, limiter, body_limit
        self.throttle, self.body_timeout_s = throttle, body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or scope["path"].startswith(OPEN_PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        client = str((scope.get("client") or ("unknown",))[0])
        if self.throttle is not None and (wait := self.throttle.wait(client)) > 0:
            await _answer(send, 429, f"too many requests without a valid API key from {client}; retry in "
                                     f"{wait:.0f} s", {"retry-after": str(math.ceil(wait))})
            return
        key, problem = self._authenticate(headers.get(b"authorization", b"").decode("latin-1"))
        if problem is not None:
            if problem[0] == 401 and self.throttle is not None:
                self.throttle.failed(client)
            await _answer(send, *problem)
            return
        assert key is not None
        wait = self.limiter.take(key)
        if wait > 0:
            await _answer(send, 429, f"rate limit for key {key.name!r} reached; retry in {wait:.1f} s",
                          {"retry-after": str(math.ceil(wait))})
            return
        limit = self.body_limit(scope["method"], scope["path"])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _answer(send, 413, too_large(limit), {"connection": "close"})
            return
        scope.setdefault("state", {})["api_key"] = key
        await self.app(scope, _counting(receive, limit, self.body_timeout_s), send)

    def _authenticate(self, header: str) -> tuple[ApiKey | None, tuple[int, str, dict[str, str]] | None]:
        challenge = {"www-authenticate": 'Bearer realm="complianceguard"'}
        scheme, _, token = header.partition(" ")
        if not header:
            return None, (401, "an API key is needed: send `Authorization: Bearer <key>`", challenge)
        if scheme.lower() != "bearer" or not token.strip():
            return None, (401, "the Authorization header must be `Bearer <key>`", challenge)
        key = self.keys.lookup(token.strip())
        if key is None:
            return None, (401, "unknown API key", challenge)
        if key.revoked:
            return None, (403, f"the API key {key.name!r} has been revoked", {})
        return key, None


def _counting(receive: Receive, limit: int, timeout_s: float | None = None) -> Receive:
    """`receive`, refusing (413) once more than `limit` body bytes have come in, and (408) when the
    body has not all come in `timeout_s` after the headers. Raised as an HTTPException, which
    FastAPI passes through its body parsing to the app's error handler."""
    seen = 0
    complete = False
    deadline = anyio.current_time() + timeout_s if timeout_s else math.inf

    async def counted() -> Message:
        nonlocal seen, complete
        if complete:
            return await receive()  # the body is in: waiting for a disconnect has no deadline
        try:
            with anyio.fail_after(max(0.0, deadline - anyio.current_time()) if deadline < math.inf else None):
                message = await receive()
        except TimeoutError:
            raise HTTPException(408, f"the request body did not arrive within {timeout_s:g} s (see --body-timeout)",
                                headers={"connection": "close"}) from None
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, too_large(limit), headers={"connection": "close"})
            complete = not message.get("more_body", False)
        return message

    return counted


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
