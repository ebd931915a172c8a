"""The HTTP process's first app: it answers /healthz at once while the real one is built.

Importing the app (FastAPI, pydantic models, the queue client) and starting its check processes take
seconds; uvicorn serves nothing until its factory returns. So the factory returns this small ASGI app,
which builds the real one (`app.app_from_env`) in a thread: meanwhile /healthz answers (the process
is alive), /readyz answers 503 (not ready), and every other request waits for the app and then goes
to it. An app that cannot be built ends the process (logged), so the supervisor sees it stop.

Imports nothing of the package beyond the version: it is what uvicorn loads first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from typing import Any

from complianceguard import __version__

log = logging.getLogger("complianceguard.api")
Scope = dict[str, Any]


class Starting:
    def __init__(self) -> None:
        self.app: Any = None
        self._built = threading.Event()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._lock = threading.Lock()
        try:  # uvicorn calls its factory inside the running loop
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        threading.Thread(target=self._build, name="cg-app", daemon=True).start()

    def _build(self) -> None:
        try:
            from complianceguard.api.app import app_from_env

            app = app_from_env()
        except BaseException:  # noqa: BLE001 - a process that cannot serve must not look alive
            log.exception("the HTTP app could not be built; this process stops")
            os._exit(3)
        if self._loop is not None:  # the check processes start from the loop's thread, which lives as long as we do
            self._loop.call_soon_threadsafe(self._serve, app)
        else:
            self._serve(app)

    def _serve(self, app: Any) -> None:
        checks = getattr(app.state, "checks", None)
        if checks is not None:
            checks.start()
        with self._lock:
            self.app = app
            self._built.set()
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            loop.call_soon_threadsafe(_done, future)

    async def _wait(self) -> None:
        with self._lock:
            if self._built.is_set():
                return
            loop = asyncio.get_running_loop()
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, future))
        await future

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if self.app is None and scope["type"] == "http" and scope["path"] in ("/healthz", "/readyz"):
            ready = scope["path"] == "/healthz"
            body = {"status": "ok", "version": __version__} if ready else {
                "status": "starting", "detail": "loading: the app"}
            await _answer(send, 200 if ready else 503, body)
            return
        if self.app is None:
            await self._wait()
        await self.app(scope, receive, send)


def _done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _answer(send: Any, status: int, document: dict[str, str]) -> None:
    body = json.dumps(document).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 503:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def app_from_env() -> Starting:
    """uvicorn's factory in the HTTP process(es) that `serve` starts (in each one's main thread: the
    parent-death signal belongs to the thread that asks for it)."""
    from complianceguard.api.server import die_with_parent

    die_with_parent(os.getppid())  # with several uvicorn processes, each dies with their parent
    return Starting()
