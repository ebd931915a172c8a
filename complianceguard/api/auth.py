"""API keys: who may call, how often, and with which secret their webhooks are signed.

Keys come from a keys file (YAML or JSON) and from `COMPLIANCEGUARD_API_KEYS`. A plaintext key is
hashed (SHA-256) as soon as it is read and only the hash is kept, so a file may carry hashes alone.
The file is read again when it changes, so revoking a key takes effect within a second, no restart.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from complianceguard.errors import InputError

KEYS_ENV = "COMPLIANCEGUARD_API_KEYS"
MIN_KEY_LENGTH = 16
RELOAD_EVERY_S = 1.0

log = logging.getLogger("complianceguard.api")


class KeyEntry(BaseModel):
    """One key as written in the keys file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="Who holds the key (logs, jobs).")
    key: str | None = Field(None, min_length=MIN_KEY_LENGTH, description="The key itself (hashed on reading).")
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="Or only its SHA-256, in hex.")
    revoked: bool = False
    rate_limit: float | None = Field(None, gt=0, description="Requests per second (default: --rate-limit).")
    burst: int | None = Field(None, ge=1, description="Requests at once before the rate applies (default: --burst).")
    webhook_secret: str | None = Field(None, min_length=16, description="Signs this key's webhooks.")

    @model_validator(mode="after")
    def _one_secret(self) -> KeyEntry:
        if (self.key is None) == (self.sha256 is None):
            raise ValueError("give exactly one of `key` and `sha256`")
        return self


@dataclass(frozen=True)
class ApiKey:
    name: str
    sha256: str
    revoked: bool = False
    rate_limit: float | None = None
    burst: int | None = None
    webhook_secret: str | None = None


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def read_keys_file(path: Path) -> list[ApiKey]:
    """Keys from a YAML/JSON file: a list of entries, or a mapping with a `keys` list."""
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such keys file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"{path}: line {mark.line + 1 if mark else '?'}: not valid YAML or JSON") from None
    entries = data.get("keys") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise InputError(f"{path}: expected a list of keys (or a mapping with a `keys` list)")
    keys = []
    for index, entry in enumerate(entries):
        try:
            parsed = KeyEntry.model_validate(entry)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"])
            message = "unknown field" if error["type"] == "extra_forbidden" else error["msg"].removeprefix(
                "Value error, ")
            raise InputError(f"{path}: keys[{index}]{'.' + where if where else ''}: {message}") from None
        keys.append(ApiKey(parsed.name, parsed.sha256 or hash_key(parsed.key or ""), parsed.revoked,
                           parsed.rate_limit, parsed.burst, parsed.webhook_secret))
    return keys


def parse_env_keys(value: str) -> list[ApiKey]:
    """`name:key,name2:key2` (a bare `key` is named env-N)."""
    keys = []
    for number, entry in enumerate((e.strip() for e in value.split(",")), 1):
        if not entry:
            continue
        name, _, secret = entry.partition(":") if ":" in entry else (f"env-{number}", "", entry)
        if len(secret) < MIN_KEY_LENGTH:
            raise InputError(f"{KEYS_ENV}: entry {number}: a key needs at least {MIN_KEY_LENGTH} characters")
        if not name:
            raise InputError(f"{KEYS_ENV}: entry {number}: empty name before ':'")
        keys.append(ApiKey(name, hash_key(secret)))
    return keys


def load_keys(file: Path | None, env_value: str | None) -> list[ApiKey]:
    keys = (read_keys_file(file) if file else []) + (parse_env_keys(env_value) if env_value else [])
    if not keys:
        raise InputError(f"no API keys: give --keys-file or set {KEYS_ENV} (e.g. name:a-long-random-key)")
    seen_names: set[str] = set()
    seen_hashes: set[str] = set()
    for key in keys:
        if key.name in seen_names:
            raise InputError(f"API keys: the name {key.name!r} is used twice")
        if key.sha256 in seen_hashes:
            raise InputError(f"API keys: the key named {key.name!r} is also given under another name")
        seen_names.add(key.name)
        seen_hashes.add(key.sha256)
    return keys


class KeyRing:
    """The configured keys by hash, kept fresh from the keys file."""

    def __init__(self, file: Path | None, env_value: str | None = None):
        self.file = file
        self.env_value = os.environ.get(KEYS_ENV) if env_value is None else env_value
        self._stamp = self._file_stamp()
        self._checked = time.monotonic()
        self._install(load_keys(file, self.env_value))

    def _install(self, keys: list[ApiKey]) -> None:
        self._by_hash = {k.sha256: k for k in keys}
        self._by_name = {k.name: k for k in keys}

    def _file_stamp(self) -> Any:
        if self.file is None:
            return None
        try:
            stat = self.file.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size, stat.st_ino

    def _refresh(self) -> None:
        now = time.monotonic()
        if self.file is None or now - self._checked < RELOAD_EVERY_S:
            return
        self._checked = now
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self._install(load_keys(self.file, self.env_value))
            log.info("API keys reloaded from %s", self.file)
        except InputError as exc:
            log.error("keeping the previous API keys: %s", exc)

    def lookup(self, token: str) -> ApiKey | None:
        self._refresh()
        return self._by_hash.get(hash_key(token))

    def get(self, name: str) -> ApiKey | None:
        self._refresh()
        return self._by_name.get(name)


class RateLimiter:
    """A token bucket per key: `burst` requests at once, then `rate` a second (in-process)."""

    def __init__(self, rate: float, burst: int, clock: Any = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key name -> (tokens, last refill)

    def take(self, key: ApiKey) -> float:
        """0 when the request may go ahead; otherwise the seconds until it may."""
        rate = key.rate_limit or self.rate
        burst = float(key.burst or self.burst)
        now = self.clock()
        tokens, last = self._buckets.get(key.name, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens >= 1:
            self._buckets[key.name] = (tokens - 1, now)
            return 0.0
        self._buckets[key.name] = (tokens, now)
        return (1 - tokens) / rate


class FailureThrottle:
    """Requests without a valid key (401), counted per client address: `burst` of them, then `rate`
    a second. Over that, the client's requests are answered 429 before any key is looked at, so
    guessing keys goes no faster than `rate` (a valid key from that address waits too, for a while)."""

    MAX_CLIENTS = 10_000

    def __init__(self, burst: int, rate: float, clock: Any = time.monotonic):
        self.burst, self.rate, self.clock = float(max(1, burst)), rate, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last refill)

    def _tokens(self, client: str, now: float) -> float:
        tokens, last = self._buckets.get(client, (self.burst, now))
        return min(self.burst, tokens + (now - last) * self.rate)

    def wait(self, client: str) -> float:
        """0 when the client may try a key; otherwise the seconds until it may."""
        if client not in self._buckets:
            return 0.0
        tokens = self._tokens(client, self.clock())
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def failed(self, client: str) -> None:
        now = self.clock()
        if len(self._buckets) >= self.MAX_CLIENTS:  # forget clients whose buckets have filled up again
            self._buckets = {c: b for c, b in self._buckets.items() if self._tokens(c, now) < self.burst}
        self._buckets[client] = (max(0.0, self._tokens(client, now) - 1), now)
