"""Submissions in: manifest files (YAML/JSON), folders of them, and CSV files of posts.

Loading never stops at the first bad post: each input yields either a Submission or a one-line
InputError naming the file (and row) and the field. Media paths are confined to the batch root.
"""

from __future__ import annotations

import codecs
import csv
import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pycountry
import yaml
from pydantic import ValidationError, field_validator, model_validator

from complianceguard.errors import InputError
from complianceguard.extract.limits import text_problem
from complianceguard.model import Submission
from complianceguard.packs.loader import SAFE_LOADER

MANIFEST_PATTERNS = ("*.post.yaml", "*.post.yml", "*.post.json")
LIST_FIELDS = ("regions", "media", "brand_handles")
BOOL_FIELDS = ("paid_partnership_tag", "retouched", "ai_generated")
TRUE, FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n", ""}
CSV_FIELD_LIMIT = 16 << 20  # a caption over the caption limit is that row's field error, not the file's
_FIELD_MARK = "\x00field "  # a model-level error that names its own field (see _build)


class ManifestPost(Submission):
    """A submission as written in a manifest: validated, with unknown fields refused."""

    @field_validator("regions")
    @classmethod
    def _known_regions(cls, regions: list[str]) -> list[str]:
        if not regions:
            raise ValueError("at least one region is needed")
        cleaned = []
        for region in regions:
            code = str(region).strip().upper()
            if code != "EU" and not pycountry.countries.get(alpha_2=code):
                raise ValueError(f"{region!r} is not an ISO 3166-1 alpha-2 code (or EU)")
            cleaned.append(code)
        return cleaned

    @model_validator(mode="after")
    def _checkable_text(self) -> ManifestPost:
        """Text fields within the caption limit and valid Unicode (no lone surrogates)."""
        for name in ("caption", "id", "brand", "language", "brand_handles", "media", "title", "thumbnail"):
            value = getattr(self, name, None)
            for index, text in enumerate(value if isinstance(value, list) else [value]):
                problem = text_problem(text) if isinstance(text, str) else None
                if problem:
                    where = f"{name}.{index}" if isinstance(value, list) else name
                    raise ValueError(f"{_FIELD_MARK}{where}: {problem}")
        return self

    @field_validator("post_type", mode="before")
    @classmethod
    def _post_type_any_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


@dataclass(frozen=True)
class Loaded:
    """One input post: a submission, or the error that kept it from being one."""

    label: str  # file, or file:row N
    submission: Submission | None = None
    error: str | None = None
    file: str | None = None  # the manifest or CSV it came from
    id: str | None = None  # the post's own id, when it could be read before the error


def discover(paths: list[Path]) -> list[Path]:
    """Manifest and CSV files from the given files and folders, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted({p for pattern in MANIFEST_PATTERNS for p in path.rglob(pattern)}))
        else:
            found.append(path)
    return found


@dataclass(frozen=True)
class RawPost:
    """One input post as read, before validation: all a worker (on this machine or another) needs
    to load it. Reading is cheap and done once, in order; validating is done by the workers."""

    label: str  # file, or file:row N
    file: str  # the manifest or CSV, as given
    path: str  # the same, absolute: where relative media paths start
    root: str  # the batch folder, absolute: media may not leave it
    text: str | None = None  # a manifest's text
    row: dict[Any, Any] | None = None  # a CSV row, header -> value (extra values under None)
    number: int = 0  # the CSV row number
    error: str | None = None  # the file could not be read


def read_posts(paths: list[Path]) -> Iterator[RawPost]:
    """Every post of the inputs, in a stable order, unvalidated."""
    from complianceguard import importers  # yt-dlp sidecars and mapped CSV columns

    for path in paths:
        root = path.resolve() if path.is_dir() else path.resolve().parent
        for file in importers.with_sidecars(path, discover([path])):
            if importers.is_sidecar(file):
                yield importers.read_sidecar(file, root)
            elif file.suffix.lower() == ".csv":
                yield from importers.map_columns(_read_csv(file, root))
            else:
                yield _read_manifest(file, root)


def load_post(raw: RawPost, regions_override: list[str] | None = None) -> Loaded:
    """A read post, validated: a Submission or a one-line error naming the file, row and field."""
    if raw.error:
        return Loaded(raw.label, error=raw.error)
    try:
        if raw.row is not None:
            return _load_row(raw, regions_override)
        return _load_manifest(raw, regions_override)
    except RecursionError:
        return Loaded(raw.label, error=f"{raw.label}: nested too deeply to read")
    except Exception as exc:  # noqa: BLE001 - one bad post is that post's error, never the batch's
        return Loaded(raw.label, error=f"{raw.label}: cannot be read ({type(exc).__name__}: {exc})")


def load_all(paths: list[Path], regions_override: list[str] | None = None) -> Iterator[Loaded]:
    for raw in read_posts(paths):
        yield load_post(raw, regions_override)


def _where(file: Path, root: Path) -> tuple[str, str, str]:
    """(as given, absolute, batch root) for RawPost; the folder is resolved, not a linked file."""
    return str(file), str(file.parent.resolve() / file.name), str(root)


def _not_regular(file: Path) -> str | None:
    """Why an input path cannot be read as a file (a FIFO would block the reader), or None."""
    try:
        mode = file.stat().st_mode
    except FileNotFoundError:
        return f"{file}: no such file"
    except OSError as exc:
        return f"{file}: cannot read ({exc.strerror})"
    if not stat.S_ISREG(mode):
        return f"{file}: not a regular file ({'a named pipe' if stat.S_ISFIFO(mode) else 'a device or socket'})"
    return None


def _encoding_problem(file: Path, head: bytes) -> str:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return f"{file}: not UTF-8 (it is UTF-16)"
    return f"{file}: not UTF-8"


def decode_utf8(file: Path, data: bytes) -> str:
    """The text of an input file: UTF-8, with or without a BOM; a one-line InputError otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{_encoding_problem(file, data[:4])}: byte 0x{data[exc.start]:02x} at offset "
                         f"{exc.start}; save it as UTF-8") from None


def _read_manifest(file: Path, root: Path) -> RawPost:
    problem = _not_regular(file)
    if problem:
        return RawPost(str(file), *_where(file, root), error=problem)
    try:
        text = decode_utf8(file, file.read_bytes())
    except FileNotFoundError:
        return RawPost(str(file), *_where(file, root), error=f"{file}: no such file")
    except OSError as exc:
        return RawPost(str(file), *_where(file, root), error=f"{file}: cannot read ({exc.strerror or exc})")
    except InputError as exc:
        return RawPost(str(file), *_where(file, root), error=str(exc))
    return RawPost(str(file), *_where(file, root), text=text)


def _load_manifest(raw: RawPost, regions_override: list[str] | None) -> Loaded:
    file, label = Path(raw.file), raw.label
    is_json = file.suffix.lower() == ".json"
    try:
        data = json.loads(raw.text, object_pairs_hook=_unique_keys) if is_json else \
            yaml.load(raw.text, Loader=SAFE_LOADER)
    except (json.JSONDecodeError, yaml.YAMLError, DuplicateKey) as exc:
        line = getattr(exc, "lineno", None) or getattr(getattr(exc, "problem_mark", None), "line", -1) + 1
        what = f"duplicate key {exc.key!r}" if isinstance(exc, DuplicateKey) else \
            str(getattr(exc, "problem", "")) if str(getattr(exc, "problem", "")).startswith("duplicate key") else ""
        if what:
            return Loaded(label, error=f"{file}:{f' line {line}:' if line > 0 else ''} {what}")
        return Loaded(label, error=f"{file}: line {line}: not valid {'JSON' if is_json else 'YAML'}")
    except RecursionError:
        return Loaded(label, error=f"{file}: nested too deeply to read (a manifest is one mapping of fields)")
    if not isinstance(data, dict):
        return Loaded(label, error=f"{file}: a manifest must be a mapping of fields (id, regions, caption ...)")
    data.setdefault("id", file.name.split(".post.")[0])
    return _build(data, raw, regions_override)


class DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads' object hook: a key given twice is an error, not "the last one wins"."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise DuplicateKey(key)
        data[key] = value
    return data


def _utf8_problem(file: Path) -> str | None:
    """Checks a CSV file is UTF-8 before parsing it (streamed: no second copy in memory)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, head = 0, b""
    try:
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                head = head or block[:4]
                try:
                    decoder.decode(block)
                except UnicodeDecodeError as exc:
                    return f"{_encoding_problem(file, head)}: byte 0x{block[exc.start]:02x} at offset " \
                           f"{offset + exc.start}; save it as UTF-8 (Excel: CSV UTF-8)"
                offset += len(block)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return f"{_encoding_problem(file, head)}: it ends inside a character; save it as UTF-8"
    return None if offset else f"{file}: the file is empty (a CSV needs a header row: id, regions, caption ...)"


def _read_csv(file: Path, root: Path) -> Iterator[RawPost]:
    where = _where(file, root)
    try:
        problem = _not_regular(file) or _utf8_problem(file)
        handle = None if problem else file.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        problem = f"{file}: cannot read ({exc.strerror})"
    if problem:
        yield RawPost(str(file), *where, error=problem)
        return
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)  # process-wide; only ever raised
    with handle:
        reader = csv.DictReader(handle, strict=True)  # strict: a stray or unclosed quote is an error
        number, line = 1, 1  # row 1 is the header
        try:
            if not reader.fieldnames or not any(name.strip() for name in reader.fieldnames if name):
                yield RawPost(str(file), *where, error=f"{file}: no header row (id, regions, caption ...)")
                return
            line = reader.line_num + 1
            for number, row in enumerate(reader, start=2):
                yield RawPost(f"{file}:row {number}", *where, row=row, number=number)
                line = reader.line_num + 1
            if number == 1:
                yield RawPost(str(file), *where, error=f"{file}: a header row and no posts under it")
        except csv.Error as exc:
            number += 1
            yield RawPost(f"{file}:row {number}", *where, number=number, error=_csv_problem(file, number, line, exc))


def _csv_problem(file: Path, number: int, line: int, exc: csv.Error) -> str:
    """One line for a CSV record that cannot be parsed; the rows after it are not read (they cannot
    be told apart from the broken field)."""
    text = str(exc)
    if "unexpected end of data" in text or "expected after" in text or "EOF" in text:
        why = (f"a quoted field opened on line {line} is not closed where it should be (a missing or stray \" "
               "would swallow the rows after it into this one)")
    elif "field larger than field limit" in text:
        why = f"a field is over {CSV_FIELD_LIMIT:,} characters"
    else:
        why = f"cannot be parsed ({text})"
    return f"{file}:row {number}: {why}; the rest of the file was not read"


def _load_row(raw: RawPost, regions_override: list[str] | None) -> Loaded:
    label, row = raw.label, raw.row
    if None in row:
        return Loaded(label, error=f"{label}: more values than columns")
    data: dict[str, Any] = {k.strip(): (v or "").strip() for k, v in row.items() if k}
    for name in LIST_FIELDS:
        if name in data:
            data[name] = [part.strip() for part in data[name].split(";") if part.strip()]
    for name in BOOL_FIELDS:
        if name in data:
            value = data[name].lower()
            if value not in TRUE | FALSE:
                return Loaded(label, error=f"{label}: field {name}: {data[name]!r} is not true/false")
            data[name] = value in TRUE
    for name in ("language", "brand", "relationship", "platform", "post_type", "title", "thumbnail"):
        if data.get(name) == "":
            del data[name]
    if not data.get("id"):
        data["id"] = f"{Path(raw.file).stem}-{raw.number}"
    return _build(data, raw, regions_override)


def _build(data: dict[str, Any], raw: RawPost, regions_override: list[str] | None) -> Loaded:
    label = raw.label
    post_id = data.get("id") if isinstance(data.get("id"), str) and data["id"].strip() else None
    if regions_override:
        data = {**data, "regions": regions_override}
    data.pop("source_file", None)
    try:
        post = ManifestPost.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "(post)"
        message = error["msg"].removeprefix("Value error, ")
        if message.startswith(_FIELD_MARK):
            field, _, message = message.removeprefix(_FIELD_MARK).partition(": ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "literal_error":
            message = f"{error['input']!r} is not one of: {error['ctx']['expected']}"
        return Loaded(label, error=f"{label}: field {field}: {message}", file=raw.file,
                      id=None if field == "id" else post_id)
    try:
        media = [confine(m, Path(raw.path).parent, Path(raw.root)) for m in post.media]
    except InputError as exc:
        return Loaded(label, error=f"{label}: field media: {exc}", file=raw.file, id=post.id)
    try:
        thumbnail = post.thumbnail and confine(post.thumbnail, Path(raw.path).parent, Path(raw.root))
    except InputError as exc:
        return Loaded(label, error=f"{label}: field thumbnail: {exc}", file=raw.file, id=post.id)
    submission = Submission(**{**post.model_dump(), "media": media, "thumbnail": thumbnail, "source_file": label})
    return Loaded(label, submission=submission, file=raw.file)


def confine(media: str, base: Path, root: Path) -> str:
    """Resolve a media path relative to its manifest; refuse anything outside the batch root."""
    candidate = Path(media)
    if candidate.is_absolute():
        raise InputError(f"{media!r} is an absolute path; media paths must be relative to the manifest")
    resolved = (base / candidate).resolve()
    if not resolved.is_relative_to(root):
        raise InputError(f"{media!r} points outside the batch folder {root}")
    if not resolved.is_file():
        if resolved.exists():
            kind = "a named pipe (FIFO)" if resolved.is_fifo() else "a folder" if resolved.is_dir() else "a device"
            raise InputError(f"{media!r} is {kind}, not a regular media file")
        raise InputError(f"{media!r} does not exist")
    return str(resolved)
