"""uvicorn's HTTP protocol with a deadline on request headers.

A connection whose request line and headers have not all arrived `--header-timeout` seconds after
it opened (or after the previous response) is closed: a client trickling its headers a byte at a
time would otherwise hold the connection for ever (uvicorn's keep-alive timer only runs between
requests, and any byte restarts it). The body has its own deadline, in the gate (408).

Named by import path in uvicorn's config, so that `--http-workers N` (spawned processes) can load it.
"""

from __future__ import annotations

import asyncio
from functools import lru_cache
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from complianceguard.api.settings import Settings


@lru_cache(maxsize=1)
def header_timeout_s() -> float:
    return Settings.from_env().header_timeout_s


class HeaderDeadline(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    _deadline: asyncio.TimerHandle | None = None
    _waiting_after: Any = None  # the request cycle current when the deadline was set

    def _arm(self) -> None:
        self._disarm()
        self._waiting_after = self.cycle
        self._deadline = self.loop.call_later(header_timeout_s(), self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        idle = self.cycle is None or self.cycle.response_complete  # no request being answered
        if self.cycle is self._waiting_after and idle and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.cycle is not self._waiting_after:  # a new request's headers are complete
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
