"""The task-queue engine shared by the HTTP API's workers and distributed scans: Huey.

Huey keeps the same task code on two storages: SQLite under a data directory for one machine (the
default, no server to run) and Redis for several machines. A queue is named by a URL:
`sqlite:///path/to/queue.db` (or a plain path) or `redis://host:port/db`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from huey import Huey, RedisHuey, SqliteHuey

from complianceguard.errors import ComplianceGuardError


def make_huey(url: str, name: str = "complianceguard", immediate: bool = False) -> Huey:
    """A Huey instance for a queue URL; raises a one-line error for a URL it cannot use."""
    parsed = urlparse(url)
    if parsed.scheme in ("redis", "rediss", "unix"):
        return RedisHuey(name, url=url, immediate=immediate)
    if parsed.scheme in ("sqlite", ""):
        path = Path(parsed.path if parsed.scheme else url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(path), immediate=immediate)
    raise ComplianceGuardError(f"{url}: unsupported queue URL (expected sqlite:///path or redis://host:port/db)")
