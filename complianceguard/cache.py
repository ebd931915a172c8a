"""A content-addressed cache of expensive extraction work (transcripts, on-screen text).

A re-scan of unchanged media must do no OCR or ASR, and a changed input or setting must never get
a stale answer. So an entry is addressed by everything its value depends on, and nothing else:

    key = sha256(canonical JSON of {"kind": kind, "input": <sha256 of the input bytes>,
                                    "settings": <the extractor's settings>,
                                    "versions": <tool and model versions>})

- `kind` names the extractor and the shape of the value ("transcript", "ocr"), so two extractors
  never read each other's entries;
- `input` is the SHA-256 of what the extractor reads (the audio track, the video file);
- `settings` are every option that changes the output (model, beam size, frame rate, languages);
- `versions` are the versions of the code and models that produce it (`tool_version("rapidocr-
  onnxruntime")`, a model's name), so an upgrade recomputes instead of trusting old output.

The entry is stored at `<root>/<kind>/<key[:2]>/<key>` (root: `$COMPLIANCEGUARD_CACHE`, else
`~/.cache/complianceguard`), written atomically (temp file + rename), so concurrent workers on one
machine, or on several sharing the folder, at worst compute the same value twice. An entry that
cannot be decoded is recomputed and replaced, never trusted.

Each entry is sealed: its first line is `cg-cache-1 <digest>`, the SHA-256 of its key and value
(an HMAC-SHA256 with `$COMPLIANCEGUARD_CACHE_SECRET` when that is set). An entry that was edited,
copied under another key, or written in an older format fails the check and is recomputed.
Without a secret the seal catches edits and mistakes, not someone who recomputes it: a cache that
other people can write to (a shared NFS folder) is trusted only with a secret that they do not
have, set on every machine that should share it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def cache_root() -> Path:
    return Path(os.environ.get("COMPLIANCEGUARD_CACHE") or Path.home() / ".cache" / "complianceguard")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks (videos do not fit in memory twice).

    Remembered in this process while the file's identity and change time stay the same, because
    one post's video is hashed by each extractor that caches its work and by the report."""
    stat = os.stat(path)
    identity = (os.path.realpath(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    digest = _HASHES.get(identity)
    if digest is None:
        hasher = hashlib.sha256()
        with Path(path).open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                hasher.update(block)
        digest = _HASHES[identity] = hasher.hexdigest()
        if len(_HASHES) > 4096:
            _HASHES.pop(next(iter(_HASHES)))
    return digest


_HASHES: dict[tuple[object, ...], str] = {}


@lru_cache(maxsize=None)
def tool_version(distribution: str) -> str:
    """The installed version of a Python distribution ("faster-whisper"), or "absent"."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "absent"


def cache_key(kind: str, input_sha256: str, settings: Mapping[str, Any], versions: Mapping[str, Any]) -> str:
    """The documented key (see the module docstring): stable across processes and machines."""
    document = {"kind": kind, "input": input_sha256, "settings": settings, "versions": versions}
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class Cache:
    """One cache folder; counts its hits and misses so scans and benchmarks can show them."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else cache_root()
        self.hits = 0
        self.misses = 0

    def path(self, kind: str, key: str) -> Path:
        return self.root / kind / key[:2] / key

    def get(self, kind: str, key: str) -> bytes | None:
        """The entry's value if its seal matches (see the module docstring); else None (and an
        entry that fails the check is removed, so it is recomputed)."""
        try:
            stored = self.path(kind, key).read_bytes()
        except OSError:
            return None
        header, newline, body = stored.partition(b"\n")
        if newline and hmac.compare_digest(header, _seal(kind, key, body)):
            return body
        self.discard(kind, key)
        return None

    def put(self, kind: str, key: str, data: bytes) -> None:
        """Store atomically; a cache that cannot be written (read-only disk) only costs speed."""
        path = self.path(kind, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            with os.fdopen(fd, "wb") as handle:
                handle.write(_seal(kind, key, data) + b"\n" + data)
            os.replace(tmp, path)
        except OSError:
            return

    def discard(self, kind: str, key: str) -> None:
        try:
            self.path(kind, key).unlink(missing_ok=True)
        except OSError:
            return  # a read-only cache: the entry is just not used

    def cached(self, kind: str, input_sha256: str, settings: Mapping[str, Any], versions: Mapping[str, Any],
               compute: Callable[[], T], encode: Callable[[T], str], decode: Callable[[str], T]) -> T:
        """The stored value for this input, settings and versions, or `compute()` stored for next time.

        `encode`/`decode` turn the value into text and back (JSON for dataclasses); a stored entry
        that `decode` rejects with ValueError, KeyError or TypeError is recomputed.
        """
        key = cache_key(kind, input_sha256, settings, versions)
        stored = self.get(kind, key)
        if stored is not None:
            try:
                value = decode(stored.decode("utf-8"))
            except (ValueError, KeyError, TypeError):
                self.discard(kind, key)
            else:
                self.hits += 1
                return value
        self.misses += 1
        value = compute()
        self.put(kind, key, encode(value).encode("utf-8"))
        return value


SEAL_FORMAT = b"cg-cache-1"


def _seal(kind: str, key: str, body: bytes) -> bytes:
    """The first line of an entry: the format and a digest binding the value to its kind and key."""
    message = f"{kind}\n{key}\n".encode() + body
    secret = os.environ.get("COMPLIANCEGUARD_CACHE_SECRET")
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest() if secret else \
        hashlib.sha256(message).hexdigest()
    return SEAL_FORMAT + b" " + digest.encode()


_DEFAULT: dict[Path, Cache] = {}


def default_cache() -> Cache:
    """The process's cache for the current root (so its counters add up across extractors)."""
    root = cache_root()
    if root not in _DEFAULT:
        _DEFAULT[root] = Cache(root)
    return _DEFAULT[root]
