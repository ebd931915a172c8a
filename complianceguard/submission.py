"""Submissions in: manifest files (YAML/JSON), folders of them, and CSV files of posts.

Loading never stops at the first bad post: each input yields either a Submission or a one-line
InputError naming the file (and row) and the field. Media paths are confined to the batch root.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pycountry
import yaml
from pydantic import ValidationError, field_validator

from complianceguard.errors import InputError
from complianceguard.model import Submission
from complianceguard.packs.loader import SAFE_LOADER

MANIFEST_PATTERNS = ("*.post.yaml", "*.post.yml", "*.post.json")
LIST_FIELDS = ("regions", "media", "brand_handles")
BOOL_FIELDS = ("paid_partnership_tag", "retouched", "ai_generated")
TRUE, FALSE = {"true", "yes", "1", "y"}, {"false", "no", "0", "n", ""}


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


@dataclass(frozen=True)
class Loaded:
    """One input post: a submission, or the error that kept it from being one."""

    label: str  # file, or file:row N
    submission: Submission | None = None
    error: str | None = None
    file: str | None = None  # the manifest or CSV it came from


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
    for path in paths:
        root = path.resolve() if path.is_dir() else path.resolve().parent
        for file in discover([path]):
            if file.suffix.lower() == ".csv":
                yield from _read_csv(file, root)
            else:
                yield _read_manifest(file, root)


def load_post(raw: RawPost, regions_override: list[str] | None = None) -> Loaded:
    """A read post, validated: a Submission or a one-line error naming the file, row and field."""
    if raw.error:
        return Loaded(raw.label, error=raw.error)
    if raw.row is not None:
        return _load_row(raw, regions_override)
    return _load_manifest(raw, regions_override)


def load_all(paths: list[Path], regions_override: list[str] | None = None) -> Iterator[Loaded]:
    for raw in read_posts(paths):
        yield load_post(raw, regions_override)


def _where(file: Path, root: Path) -> tuple[str, str, str]:
    """(as given, absolute, batch root) for RawPost; the folder is resolved, not a linked file."""
    return str(file), str(file.parent.resolve() / file.name), str(root)


def _read_manifest(file: Path, root: Path) -> RawPost:
    try:
        text = file.read_text("utf-8")
    except FileNotFoundError:
        return RawPost(str(file), *_where(file, root), error=f"{file}: no such file")
    except (OSError, UnicodeDecodeError) as exc:
        return RawPost(str(file), *_where(file, root), error=f"{file}: cannot read ({exc})")
    return RawPost(str(file), *_where(file, root), text=text)


def _load_manifest(raw: RawPost, regions_override: list[str] | None) -> Loaded:
    file, label = Path(raw.file), raw.label
    try:
        data = json.loads(raw.text) if file.suffix.lower() == ".json" else yaml.load(raw.text, Loader=SAFE_LOADER)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        line = getattr(exc, "lineno", None) or getattr(getattr(exc, "problem_mark", None), "line", -1) + 1
        return Loaded(label, error=f"{file}: line {line}: not valid {'JSON' if file.suffix == '.json' else 'YAML'}")
    if not isinstance(data, dict):
        return Loaded(label, error=f"{file}: a manifest must be a mapping of fields (id, regions, caption ...)")
    data.setdefault("id", file.name.split(".post.")[0])
    return _build(data, raw, regions_override)


def _read_csv(file: Path, root: Path) -> Iterator[RawPost]:
    where = _where(file, root)
    try:
        handle = file.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        yield RawPost(str(file), *where, error=f"{file}: cannot read ({exc.strerror})")
        return
    with handle:
        for number, row in enumerate(csv.DictReader(handle), start=2):  # row 1 is the header
            yield RawPost(f"{file}:row {number}", *where, row=row, number=number)


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
    for name in ("language", "brand", "relationship", "platform"):
        if data.get(name) == "":
            del data[name]
    if not data.get("id"):
        data["id"] = f"{Path(raw.file).stem}-{raw.number}"
    return _build(data, raw, regions_override)


def _build(data: dict[str, Any], raw: RawPost, regions_override: list[str] | None) -> Loaded:
    label = raw.label
    if regions_override:
        data = {**data, "regions": regions_override}
    data.pop("source_file", None)
    try:
        post = ManifestPost.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(p) for p in error["loc"]) or "(post)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        elif error["type"] == "literal_error":
            message = f"{error['input']!r} is not one of: {error['ctx']['expected']}"
        return Loaded(label, error=f"{label}: field {field}: {message}")
    try:
        media = [confine(m, Path(raw.path).parent, Path(raw.root)) for m in post.media]
    except InputError as exc:
        return Loaded(label, error=f"{label}: field media: {exc}")
    submission = Submission(**{**post.model_dump(), "media": media, "source_file": label})
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
        raise InputError(f"{media!r} does not exist")
    return str(resolved)
