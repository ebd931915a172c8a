"""The gate every request passes before the app reads its body: API key, rate limit, body size.

It is plain ASGI so that it runs before FastAPI parses a form: a caller without a valid key, or over
its rate, or announcing too large a body, is answered without one byte of the body being read.
A body without a Content-Length is counted as it arrives and refused (413) once over the limit.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from complianceguard.api.auth import ApiKey, KeyRing, RateLimiter

OPEN_PATHS = frozenset({"/healthz"})


def too_large(limit: int) -> str:
    return f"the request body is larger than this endpoint accepts ({limit:,} bytes; see --max-check-mb/--max-job-mb)"


class Gate:
    def __init__(self, app: ASGIApp, keys: KeyRing, limiter: RateLimiter, body_limit: Callable[[str, str], int]):
        self.app, self.keys, self.limiter, self.body_limit = app, keys, limiter, body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        key, problem = self._authenticate(headers.get(b"authorization", b"").decode("latin-1"))
        if problem is not None:
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
        await self.app(scope, _counting(receive, limit), send)

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


def _counting(receive: Receive, limit: int) -> Receive:
    """`receive`, refusing (413) once more than `limit` body bytes have come in. Raised as an
    HTTPException, which FastAPI passes through its body parsing to the app's error handler."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise HTTPException(413, too_large(limit), headers={"connection": "close"})
        return message

    return counted


async def _answer(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
