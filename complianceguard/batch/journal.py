"""The resume journal: `<out>/scan.journal`, every finished item, appended and fsynced.

A scan killed at any moment (SIGKILL, power loss) leaves a journal whose records are whole up to
the last fsync; the next scan with the same `--out` reads them back, skips the items whose content
key and media hashes are unchanged, and writes a report equal to an uninterrupted run's. The
journal stays after a complete scan, so re-running a batch after one caption changed re-checks
only that post.

Format: a header line `{"journal": "complianceguard-scan", "version": 1, "fingerprint": ...}`,
then per item a JSON line of metadata (UnitResult.meta plus `bytes` and `crc32` of the item) and
the item's JSON bytes followed by a newline. The item is its compact schema 2.0 record (rule codes
against the rule catalogue, report/view.py), the very line report.json's `items` get: report.json
is written from these records, so no full item is stored twice. Reading stops at the first record that is torn or
fails its CRC, and the file is cut there before appending. A journal written under another
fingerprint (other packs, options or tool version) is started afresh.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
import zlib
from pathlib import Path
from typing import Any

from complianceguard.batch.work import UnitResult
from complianceguard.errors import InputError

JOURNAL_NAME = "scan.journal"
FORMAT = {"journal": "complianceguard-scan", "version": 1}
FSYNC_EVERY_S = 1.0  # at most this much finished work is redone after a power loss


class Journal:
    """Finished results by content key; `open` to read what is there and append from then on."""

    def __init__(self, out_dir: Path, fingerprint: str):
        self.path = Path(out_dir) / JOURNAL_NAME
        self.fingerprint = fingerprint
        self.entries: dict[str, tuple[dict[str, Any], int, int]] = {}  # key -> (meta, offset, size)
        self.reused_from_before = 0
        self._handle: Any = None
        self._reader: Any = None
        self._last_sync = 0.0
        self._dirty = False

    def open(self) -> Journal:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+b")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise InputError(f"{self.path}: another scan is writing to this folder; use another --out") from None
        self._handle = handle
        end = self._read_existing()
        handle.truncate(end)
        if end == 0:
            handle.write((json.dumps({**FORMAT, "fingerprint": self.fingerprint}) + "\n").encode())
            self._sync()
        self._reader = self.path.open("rb")
        return self

    def _read_existing(self) -> int:
        """Load whole records; the offset just after the last good one (0: start afresh)."""
        handle = self._handle
        handle.seek(0)
        header = handle.readline()
        try:
            meta = json.loads(header)
        except ValueError:
            return 0
        if not isinstance(meta, dict) or meta.get("journal") != FORMAT["journal"] or \
                meta.get("version") != FORMAT["version"] or meta.get("fingerprint") != self.fingerprint:
            return 0
        good = handle.tell()
        while True:
            line = handle.readline()
            if not line.endswith(b"\n"):
                return good
            try:
                meta = json.loads(line)
                size, crc = meta.pop("bytes"), meta.pop("crc32")
            except (ValueError, KeyError, TypeError, AttributeError):
                return good
            offset = handle.tell()
            body = handle.read(size + 1)
            if len(body) != size + 1 or body[-1:] != b"\n" or zlib.crc32(body[:-1]) != crc:
                return good
            if not meta.get("retry"):  # time-outs and crashes are tried again
                self.entries[meta["key"]] = (meta, offset, size)
            good = handle.tell()

    def append(self, result: UnitResult) -> None:
        body = result.item_json.encode("utf-8")
        meta = {**result.meta(), "bytes": len(body), "crc32": zlib.crc32(body)}
        self._handle.seek(0, os.SEEK_END)
        self._handle.write(json.dumps(meta, ensure_ascii=False).encode("utf-8") + b"\n")
        offset = self._handle.tell()
        self._handle.write(body + b"\n")
        self.entries[result.key] = (result.meta(), offset, len(body))
        self._dirty = True
        if time.monotonic() - self._last_sync >= FSYNC_EVERY_S:
            self._sync()

    def _sync(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._last_sync = time.monotonic()
        self._dirty = False

    def get(self, key: str) -> UnitResult | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        meta, offset, size = entry
        if self._dirty:
            self._handle.flush()
        self._reader.seek(offset)
        return UnitResult.from_meta(meta, self._reader.read(size).decode("utf-8"))

    def meta(self, key: str) -> dict[str, Any] | None:
        entry = self.entries.get(key)
        return entry[0] if entry else None

    def fds(self) -> list[int]:
        """Its open file descriptors: forked workers close them, so the lock is the scan's alone."""
        return [f.fileno() for f in (self._handle, self._reader) if f is not None]

    def close(self) -> None:
        """Sync and close; on a full disk the torn tail is cut by the next run (see `open`)."""
        if self._handle is not None:
            handle, self._handle = self._handle, None
            try:
                handle.flush()
                os.fsync(handle.fileno())
            except OSError:
                pass
            finally:
                try:
                    handle.close()  # releases the lock
                except OSError:
                    pass
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> Journal:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()
