"""Report writers, one module per format; all write atomically (temp file + rename).

Every format is rendered from the `Report` model alone, so a saved JSON report can be turned into
any other format later (`complianceguard report render`) without scanning again.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from complianceguard.model import Report

# Format name -> module under complianceguard.report; each module has `write(report, out_dir) -> Path`.
FORMATS: dict[str, str] = {
    "json": "json_report", "csv": "csv_report", "html": "html", "sarif": "sarif", "junit": "junit", "md": "markdown",
}
DEFAULT_FORMATS = tuple(FORMATS)


def atomic_write(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` so readers see the old file or the whole new one, never half.

    Text is written as UTF-8 with the newlines given (no translation); `mode` is the file's
    permission bits (0o600 for private keys).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_writer(path: Path) -> Iterator[BinaryIO]:
    """`atomic_write` for a file written piece by piece (a report too big to hold as one string):
    readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def parse_formats(text: str) -> list[str]:
    """'json, csv' -> ['json', 'csv']; raises InputError naming an unknown format."""
    from complianceguard.errors import InputError

    wanted = list(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise InputError(f"--format: unknown format {unknown[0]!r} (known: {', '.join(FORMATS)})")
    if not wanted:
        raise InputError(f"--format: no format given (known: {', '.join(FORMATS)})")
    return wanted


def write_reports(report: Report, out_dir: Path, formats: list[str], **options: Any) -> list[Path]:
    """Write `report` in each format; writers are imported only when asked for.

    `options` go to the writers that accept them (`library` for SARIF rule documentation).
    """
    from complianceguard.errors import InputError
    from complianceguard.report.thumbnails import with_thumbnails

    report = with_thumbnails(report, out_dir)
    written = []
    for fmt in formats:
        try:
            module = importlib.import_module(f"complianceguard.report.{FORMATS[fmt]}")
        except ImportError as exc:
            raise InputError(f"--format {fmt}: this format is not available ({exc})") from exc
        accepted = {k: v for k, v in options.items() if k in getattr(module, "WRITE_OPTIONS", ())}
        written.append(module.write(report, out_dir, **accepted))
    return written


def load_report(path: Path) -> Report:
    """A saved JSON report (schema 2.x, or 1.0 from earlier versions), validated, in the form every
    writer renders from (the engine's items, 2.x's compact ones expanded against its `rules`, the
    evidence of 1.0 and 2.0 with its `note` read as 2.1's fields); one-line InputError when it is not one."""
    from complianceguard.errors import InputError

    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from exc
    return parse_report(text, str(path))


def parse_report(text: str, name: str = "report.json") -> Report:
    """`load_report` of a report.json's text."""
    import json

    from pydantic import ValidationError

    from complianceguard.errors import InputError
    from complianceguard.model import REPORT_SCHEMA_VERSION

    path = name
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{path}: not a complianceguard JSON report (not JSON: {exc})") from None
    version = document.get("schema_version") if isinstance(document, dict) else None
    major = str(version).split(".")[0] if isinstance(version, str) else None
    if major not in ("1", REPORT_SCHEMA_VERSION.split(".")[0]):
        if isinstance(version, str):
            raise InputError(f"{path}: report schema version {version} is not supported "
                             f"(this version reads 1.x and 2.x up to {REPORT_SCHEMA_VERSION})")
        raise InputError(f"{path}: not a complianceguard JSON report (schema_version: missing)")
    try:
        return _validated(document, major)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "(document)"
        raise InputError(f"{path}: not a complianceguard JSON report ({where}: {error['msg']})") from None
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise InputError(f"{path}: not a complianceguard JSON report (items: {type(exc).__name__}: {exc})") from None


def _validated(document: dict[str, Any], major: str) -> Report:
    from pydantic import ValidationError

    from complianceguard.model import Report
    from complianceguard.report.json_report import RecordReport

    from complianceguard.report.view import expand_item, upgraded_item

    if major == "1":  # 1.0: the items are already the engine's (evidence with 1.0's `note`); no catalogue
        items = document.get("items")
        if isinstance(items, list):
            document = {**document, "items": [upgraded_item(i) if isinstance(i, dict) else i for i in items]}
        try:
            return Report.model_validate(document)
        except ValidationError:
            return RecordReport.model_validate(document)  # the record's workflow fields too

    rules = document.get("rules")
    if not isinstance(rules, dict):
        raise ValueError("rules: missing (a 2.0 report carries its rule catalogue)")
    items = document.get("items")
    if not isinstance(items, list):
        raise ValueError("items: not a list")
    expanded = {**document, "items": [expand_item(i, rules) for i in items]}
    try:
        return Report.model_validate(expanded)  # the engine's record as it was written
    except ValidationError:
        return RecordReport.model_validate(expanded)  # with reviews, changes or origin
