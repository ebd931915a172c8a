"""Webhooks: a job's result POSTed to its callback URL, signed, retried with back-off.

The signature is HMAC-SHA256 over the exact body bytes, hex, in `X-ComplianceGuard-Signature` as
`sha256=<hex>` (the GitHub convention). A receiver checks it with `verify()` or three lines of its
own. `X-ComplianceGuard-Delivery` is the same on every attempt for a job, so a receiver that sees
one twice (possible only when the server was killed between sending and recording a delivery)
can drop the repeat.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from typing import TYPE_CHECKING

import httpx

from complianceguard import __version__

if TYPE_CHECKING:
    from complianceguard.api.callbacks import CallbackPolicy

SIGNATURE_HEADER = "X-ComplianceGuard-Signature"
DELIVERY_HEADER = "X-ComplianceGuard-Delivery"
EVENT_HEADER = "X-ComplianceGuard-Event"
EVENT = "job.finished"
MAX_BACKOFF_S = 3600.0
MAX_ADDRESSES = 3  # addresses of the callback host tried in one attempt (each with the full timeout)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    return signature is not None and hmac.compare_digest(sign(secret, body), signature)


def backoff(attempt: int, base_s: float) -> float:
    """Seconds to wait after failed attempt `attempt` (1, 2, ...): base, 2x base, 4x base ... capped."""
    return min(base_s * 2 ** (attempt - 1), MAX_BACKOFF_S)


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    error: str | None = None


def post(url: str, body: bytes, secret: str, delivery_id: str, timeout_s: float,
         policy: CallbackPolicy | None = None) -> Outcome:
    """One attempt: delivered on any 2xx answer. Redirects are not followed (the URL is the contract).

    With a policy, the URL is checked again now (a fresh DNS lookup: a name that has come to point
    at a private address is refused) and the connection goes to the address that was checked."""
    from complianceguard.api.callbacks import CallbackRefused

    headers = {
        "Content-Type": "application/json", "User-Agent": f"complianceguard/{__version__}",
        SIGNATURE_HEADER: sign(secret, body), DELIVERY_HEADER: delivery_id, EVENT_HEADER: EVENT,
    }
    if policy is None:
        attempts: list[tuple[httpx.URL | str, dict[str, str], dict[str, object]]] = [(url, {}, {})]
    else:
        try:
            target = policy.check(url)
        except CallbackRefused as exc:
            return Outcome(False, None, f"refused: {exc}"[:500])
        attempts = [target.pinned(address) for address in target.addresses[:MAX_ADDRESSES]]
    try:
        with httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client:
            for number, (where, host, extensions) in enumerate(attempts, 1):
                try:
                    response = client.post(where, content=body, headers={**headers, **host}, extensions=extensions)
                    break
                except httpx.ConnectError:
                    if number == len(attempts):
                        raise  # every address of the host refused the connection
    except httpx.HTTPError as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= response.status_code < 300:
        return Outcome(True, response.status_code)
    return Outcome(False, response.status_code, f"HTTP {response.status_code} {response.reason_phrase}"[:500])
