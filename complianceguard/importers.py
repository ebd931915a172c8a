"""Posts from what legal teams already have, without hand-written manifests.

**yt-dlp folders.** `yt-dlp --write-info-json` leaves `NAME.info.json` beside `NAME.mp4` (or .webm,
.mkv, .m4a ...). A folder given to `scan` with such a pair and no manifest for that media becomes a
post: `description` is the caption, `extractor` the platform, `id` the post id, `language` the
language when it is a language code; `title`, `uploader`, `channel`, `tags`, `upload_date` and
`webpage_url` are kept in the item's `origin` in the report. A manifest (`*.post.yaml|yml|json`) in
the same folder that names the media (or has its name, `NAME.post.yaml`) wins: the sidecar is then
not read. A playlist's sidecar (no media of its own) is skipped. yt-dlp knows no regions: give
them with `scan --region`.

**Mapped CSV exports.** `scan --map caption="Post Text" --map id=ID` (or `--map-file mapping.yaml`
with `field: Column` lines, or those under `columns:`) reads CSV exports with other column names:
each mapped column is read as the field, the columns that are already field names are kept, the
others are ignored. A mapped column missing from a file is one line naming it and the file.

`submission.read_posts` calls in here (one hook); what comes out is a `RawPost` like any other.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml

from complianceguard.errors import InputError
from complianceguard.submission import MANIFEST_PATTERNS, RawPost

SIDECAR_SUFFIX = ".info.json"
VIDEO_EXTENSIONS = (".mp4", ".webm", ".mkv", ".mov", ".m4v", ".flv")
AUDIO_EXTENSIONS = (".m4a", ".mp3", ".opus", ".ogg", ".wav", ".flac", ".aac")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
MANIFEST_CLAIM_LIMIT = 1 << 20  # manifests bigger than this are not read for the media they claim
SIDECAR_LIMIT = 32 << 20  # a yt-dlp sidecar is kilobytes to a few megabytes (formats, comments)
PLATFORMS = (  # extractor name prefix -> platform, first match
    ("youtube", "youtube"), ("tiktok", "tiktok"), ("instagram", "instagram"), ("facebook", "facebook"),
    ("twitter", "x"), ("x", "x"), ("twitch", "twitch"), ("linkedin", "linkedin"),
)


# ------------------------------------------------------------------------------------- yt-dlp


def is_sidecar(file: Path) -> bool:
    return file.name.lower().endswith(SIDECAR_SUFFIX) and not file.name.lower().endswith(".post.json")


def _stem(sidecar: Path) -> str:
    return sidecar.name[: -len(SIDECAR_SUFFIX)]


def sidecar_media(sidecar: Path, info: dict[str, Any] | None = None) -> Path | None:
    """The downloaded file beside a sidecar: the one yt-dlp names in it, else NAME.<video>, NAME.<audio>,
    NAME.<image> (a thumbnail is an image too, so video and audio come first)."""
    folder, stem = sidecar.parent, _stem(sidecar)
    named = [(info or {}).get(key) for key in ("_filename", "filename")]
    named += [d.get("filepath") for d in (info or {}).get("requested_downloads") or [] if isinstance(d, dict)]
    for name in named:
        if isinstance(name, str) and name:
            candidate = folder / Path(name).name
            if candidate.is_file() and not is_sidecar(candidate):
                return candidate
    for extensions in (VIDEO_EXTENSIONS, AUDIO_EXTENSIONS, IMAGE_EXTENSIONS):
        for extension in extensions:
            for candidate in (folder / f"{stem}{extension}", folder / f"{stem}{extension.upper()}"):
                if candidate.is_file():
                    return candidate
    return None


def _claimed(folder: Path, cache: dict[Path, set[str]]) -> set[str]:
    """Names a folder's manifests claim: their own names (NAME.post.yaml -> NAME) and their media."""
    if folder not in cache:
        claimed: set[str] = set()
        for pattern in MANIFEST_PATTERNS:
            for manifest in folder.glob(pattern):
                claimed.add(manifest.name.split(".post.")[0])
                try:  # a manifest that cannot be read claims only its name (its own error is reported)
                    if not manifest.is_file() or manifest.stat().st_size > MANIFEST_CLAIM_LIMIT:
                        continue
                    data = yaml.safe_load(manifest.read_bytes().decode("utf-8-sig"))
                except Exception:  # noqa: BLE001 - hostile or broken YAML: the post's own load says why
                    continue
                media = data.get("media") if isinstance(data, dict) else None
                for entry in media if isinstance(media, list) else []:
                    if isinstance(entry, str):
                        claimed.add(str((folder / entry).resolve()))
        cache[folder] = claimed
    return cache[folder]


def with_sidecars(path: Path, files: list[Path]) -> list[Path]:
    """`discover`'s files for one input path, with the folder's yt-dlp sidecars that no manifest
    claims, in a stable order. A sidecar given by name is read as one."""
    if not path.is_dir():
        return files
    cache: dict[Path, set[str]] = {}
    sidecars = []
    for sidecar in sorted(path.rglob(f"*{SIDECAR_SUFFIX}")):
        if not is_sidecar(sidecar) or not sidecar.is_file():
            continue
        claimed = _claimed(sidecar.parent, cache)
        media = sidecar_media(sidecar)
        if media is None and _is_playlist(sidecar):
            continue  # yt-dlp writes one for a playlist too: its videos have their own sidecars
        if _stem(sidecar) in claimed or (media is not None and (media.stem in claimed
                                                                or str(media.resolve()) in claimed)):
            continue
        sidecars.append(sidecar)
    return sorted({*files, *sidecars}) if sidecars else files


def _is_playlist(sidecar: Path) -> bool:
    try:
        return _read_info(sidecar).get("_type") in ("playlist", "multi_video")
    except InputError:
        return False  # unreadable: read_sidecar reports it


def platform_of(info: dict[str, Any]) -> str:
    extractor = str(info.get("extractor_key") or info.get("extractor") or "").lower()
    url = str(info.get("webpage_url") or "")
    for prefix, platform in PLATFORMS:
        if extractor.startswith(prefix) and (prefix != "x" or extractor in ("x", "x.com")):
            if platform == "youtube" and "/shorts/" in url:
                return "youtube-shorts"
            return platform
    return "other"


def _read_info(sidecar: Path) -> dict[str, Any]:
    try:
        if sidecar.stat().st_size > SIDECAR_LIMIT:
            raise InputError(f"{sidecar}: over {SIDECAR_LIMIT >> 20} MB; not a yt-dlp sidecar")
        info = json.loads(sidecar.read_bytes().decode("utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise InputError(f"{sidecar}: not a readable yt-dlp .info.json ({type(exc).__name__})") from exc
    if not isinstance(info, dict):
        raise InputError(f"{sidecar}: not a yt-dlp .info.json (not a JSON object)")
    return info


def sidecar_manifest(sidecar: Path, info: dict[str, Any]) -> dict[str, Any]:
    """The manifest a sidecar stands for (fields of complianceguard.model.Submission)."""
    media = sidecar_media(sidecar, info)
    data: dict[str, Any] = {
        "id": str(info["id"]) if isinstance(info.get("id"), (str, int)) and str(info["id"]) else _stem(sidecar),
        "platform": platform_of(info),
        "caption": info["description"] if isinstance(info.get("description"), str) else "",
        "media": [media.name] if media is not None else [],
    }
    if isinstance(info.get("regions"), list):  # not yt-dlp's: a team may add them to the sidecar
        data["regions"] = info["regions"]
    language = info.get("language")
    if isinstance(language, str) and 2 <= len(language.split("-")[0]) <= 3 and language.split("-")[0].isalpha():
        data["language"] = language.split("-")[0].lower()
    return data


def read_sidecar(sidecar: Path, root: Path) -> RawPost:
    """A sidecar as a manifest post (JSON text, validated like any manifest by its worker)."""
    from complianceguard.submission import _where

    where = _where(sidecar, root)
    try:
        info = _read_info(sidecar)
    except InputError as exc:
        return RawPost(str(sidecar), *where, error=str(exc))
    if info.get("_type") in ("playlist", "multi_video"):
        return RawPost(str(sidecar), *where, error=f"{sidecar}: a yt-dlp playlist sidecar, not one post "
                                                   "(its videos have their own .info.json)")
    return RawPost(str(sidecar), *where, text=json.dumps(sidecar_manifest(sidecar, info), ensure_ascii=False))


def origin_of(sidecar: Path) -> Any:
    """The sidecar's metadata for the report's `origin` (None when it cannot be read now)."""
    from complianceguard.report.json_report import Origin

    try:
        info = _read_info(sidecar)
    except InputError:
        return None
    date = str(info.get("upload_date") or "")
    if len(date) == 8 and date.isdigit():
        date = f"{date[:4]}-{date[4:6]}-{date[6:]}"

    def text(key: str) -> str | None:
        value = info.get(key)
        return str(value) if value not in (None, "") else None

    tags = info.get("tags") if isinstance(info.get("tags"), list) else []
    return Origin(importer="yt-dlp", title=text("title"), uploader=text("uploader") or text("uploader_id"),
                  channel=text("channel"), tags=[str(t) for t in tags], upload_date=date or None,
                  webpage_url=text("webpage_url"), extractor=text("extractor_key") or text("extractor"))


# --------------------------------------------------------------------------- mapped CSV columns

_column_map: dict[str, str] = {}


def field_names() -> list[str]:
    from complianceguard.model import Submission

    return [name for name in Submission.model_fields if name != "source_file"]


def parse_map(pairs: Iterable[str], map_file: Path | None = None) -> dict[str, str]:
    """`--map field=Column` options and a `--map-file` (YAML: `field: Column`, or under `columns:`)
    as {field: column}; InputError naming the bad option."""
    mapping: dict[str, str] = {}
    if map_file is not None:
        try:
            data = yaml.safe_load(map_file.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise InputError(f"--map-file {map_file}: cannot be read as YAML ({type(exc).__name__})") from exc
        if isinstance(data, dict) and isinstance(data.get("columns"), dict):
            data = data["columns"]
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise InputError(f"--map-file {map_file}: must map fields to column names (caption: Post Text)")
        mapping.update({str(k).strip(): v for k, v in data.items()})
    for pair in pairs:
        target, sep, column = pair.partition("=")
        if not sep or not target.strip() or not column.strip():
            raise InputError(f"--map {pair!r}: write it as field=Column, e.g. caption=\"Post Text\"")
        mapping[target.strip()] = column.strip()
    known = field_names()
    for target in mapping:
        if target not in known:
            raise InputError(f"--map {target}: not a post field (fields: {', '.join(known)})")
    return mapping


def set_column_map(mapping: dict[str, str]) -> None:
    """Map the columns of every CSV read from now on in this process (the scan command sets it)."""
    global _column_map
    _column_map = dict(mapping)


def map_columns(posts: Iterable[RawPost], mapping: dict[str, str] | None = None) -> Iterator[RawPost]:
    """A CSV file's rows with mapped columns read as fields; a missing column is one error for the file."""
    from dataclasses import replace

    mapping = _column_map if mapping is None else mapping
    if not mapping:
        yield from posts
        return
    known = set(field_names())
    sources = set(mapping.values())
    checked = False
    for raw in posts:
        if raw.row is None or raw.error:
            yield raw
            continue
        columns = [k.strip() for k in raw.row if k]
        if not checked:
            checked = True
            missing = [(t, c) for t, c in mapping.items() if c not in columns]
            if missing:
                target, column = missing[0]
                yield replace(raw, label=raw.file, row=None, error=(
                    f"{raw.file}: --map {target}: no column {column!r} (columns: {', '.join(columns)})"))
                return
        stripped = {(k.strip() if k else k): v for k, v in raw.row.items()}
        row: dict[Any, Any] = {target: stripped.get(column) for target, column in mapping.items()}
        for key, value in stripped.items():
            if key is None:
                row[None] = value  # more values than columns: the row's own error
            elif key in known and key not in row and key not in sources:
                row[key] = value
        yield replace(raw, row=row)
