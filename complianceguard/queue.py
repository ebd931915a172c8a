"""The task-queue engines: Huey for the HTTP API's jobs, Dramatiq for distributed scans.

The API (complianceguard/api/tasks.py) keeps Huey: its SQLite job store is the source of truth (a
job is claimed by a conditional update naming the worker process, a dead worker's job is put back
to `queued` and enqueued again by the supervisor, and `serve` rebuilds the queue from the store),
so it needs no redelivery from the queue, and Huey runs the same tasks on SQLite under the data
directory (the default, no server) or on Redis. A queue is named by a URL: `sqlite:///path/to/queue.db`
(or a plain path) or `redis://host:port/db`.

Distributed scans (complianceguard/batch/distributed.py) use Dramatiq's Redis broker, whose
delivery is at-least-once: a worker acknowledges a message only when it has answered it, and a
worker that stops sending heartbeats for `dead_after_s` has its unacknowledged messages put back
on the queue by the next worker (or submitter) that talks to Redis. See that module for why
Dramatiq rather than Celery.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from huey import Huey, RedisHuey, SqliteHuey

from complianceguard.errors import ComplianceGuardError

if TYPE_CHECKING:
    from dramatiq.brokers.redis import RedisBroker

REDIS_SCHEMES = ("redis", "rediss", "unix")
BROKER_NAMESPACE = "complianceguard"  # Dramatiq's keys: complianceguard:<queue>, complianceguard:__heartbeats__ ...
RETRIES = 5  # a task that raises (only when Redis fails mid-answer: checks fail per post) is tried again
DEAD_MESSAGE_TTL_S = 86400.0  # how long Redis keeps a message that failed every retry (for inspection)


def make_huey(url: str, name: str = "complianceguard", immediate: bool = False) -> Huey:
    """A Huey instance for a queue URL; raises a one-line error for a URL it cannot use."""
    parsed = urlparse(url)
    if parsed.scheme in REDIS_SCHEMES:
        return RedisHuey(name, url=url, immediate=immediate)
    if parsed.scheme in ("sqlite", ""):
        path = Path(parsed.path if parsed.scheme else url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(path), immediate=immediate)
    raise ComplianceGuardError(f"{url}: unsupported queue URL (expected sqlite:///path or redis://host:port/db)")


def make_broker(url: str, dead_after_s: float = 30.0) -> RedisBroker:
    """A Dramatiq Redis broker for a queue URL; raises a one-line error for a URL it cannot use.

    `dead_after_s` is Dramatiq's heartbeat timeout: a worker process sends a heartbeat with every
    command (its consumers poll at least once a second, busy or not), and one not heard of for this
    long is dead: its unacknowledged messages go back on their queue. Every command runs that
    maintenance (Dramatiq's default is one in a thousand), so a dead worker's messages come back as
    soon as another worker asks for work, not minutes later; with no dead worker it is one sorted-set
    lookup. Messages are pickled (work units carry CSV rows keyed by None and other values JSON would
    change): like Huey's default, the Redis server must be trusted by every machine using it.
    """
    if urlparse(url).scheme not in REDIS_SCHEMES:
        raise ComplianceGuardError(f"{url}: unsupported queue URL for a scan (expected redis://host:port/db)")
    import dramatiq
    from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker
    from dramatiq.encoder import PickleEncoder
    from dramatiq.middleware import Retries

    dramatiq.set_encoder(PickleEncoder())
    try:
        return RedisBroker(url=url, namespace=BROKER_NAMESPACE, middleware=[Retries(max_retries=RETRIES)],
                           heartbeat_timeout=int(dead_after_s * 1000), maintenance_chance=MAINTENANCE_SCALE,
                           dead_message_ttl=int(DEAD_MESSAGE_TTL_S * 1000))
    except ValueError as exc:  # redis.ConnectionPool.from_url: a malformed URL
        raise ComplianceGuardError(f"{url}: unsupported queue URL ({exc})") from None
