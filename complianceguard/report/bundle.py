"""Evidence bundle: one ZIP archive with a report folder's record, signed.

`complianceguard report bundle REPORT_DIR --out FILE.zip [--key signer.pem]` puts in one archive
the reports (`report.json` and the formats rendered from it, a `report.json.sig` if there is one),
the thumbnails they point at, the review log (`review.jsonl`) if any, and

- `MANIFEST.json`: every other member's path, size and SHA-256, the tool, the time, and the signing
  key's fingerprint;
- `MANIFEST.json.sig`: the Ed25519 signature of MANIFEST.json's exact bytes (report/signing.py),
  when a key is given.

`report verify FILE.zip [--pub signer.pub]` checks every member against the manifest (no member
missing, none added, none changed), the review log's hash chain, and the signature. The archive is
written to a temporary file and renamed: a bundle is never half written. Member dates are fixed,
so the same folder gives the same archive bytes apart from the manifest's `created_at`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


from complianceguard import __version__
from complianceguard.errors import InputError
from complianceguard.report import atomic_writer
from complianceguard.report.signing import (VerificationFailed, check_signature, fingerprint, load_private,
                                            load_public)

MANIFEST = "MANIFEST.json"
SIGNATURE = MANIFEST + ".sig"
BUNDLE_FORMAT = "complianceguard-evidence-bundle/1"
REPORT_FILES = ("report.json", "report.json.sig", "report.html", "report.md", "report.csv", "report.sarif",
                "report.junit.xml")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Verified:
    members: int
    signed_by: str | None  # the key fingerprint, None for an unsigned bundle


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def members_of(report_dir: Path) -> list[str]:
    """What goes into the bundle, as archive paths, in a stable order."""
    from complianceguard.review import LOG_NAME

    if not (report_dir / "report.json").is_file():
        raise InputError(f"{report_dir}: no report.json (scan into this folder first)")
    names = [name for name in REPORT_FILES if (report_dir / name).is_file()]
    thumbnails = report_dir / "thumbnails"
    if thumbnails.is_dir():
        names += sorted(p.relative_to(report_dir).as_posix() for p in thumbnails.rglob("*")
                        if p.is_file() and not p.is_symlink() and not p.name.startswith("."))
    if (report_dir / LOG_NAME).is_file():
        names.append(LOG_NAME)
    return names


def _info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def bundle(report_dir: Path, out: Path, key: Path | None = None) -> tuple[Path, int, str | None]:
    """Write the bundle; (path, number of files, key fingerprint or None)."""
    private = load_private(key) if key is not None else None
    names = members_of(report_dir)
    contents: dict[str, bytes] = {}
    for name in names:
        try:
            contents[name] = (report_dir / name).read_bytes()
        except OSError as exc:
            raise InputError(f"{report_dir / name}: cannot read ({exc.strerror or exc})") from exc
    if out.resolve().parent == report_dir.resolve() and out.name in contents:
        raise InputError(f"--out {out}: would overwrite a file of the bundle")
    manifest = {
        "format": BUNDLE_FORMAT,
        "tool": {"name": "complianceguard", "version": __version__},
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "signed_by": fingerprint(private.public_key()) if private is not None else None,
        "files": [{"path": name, "size": len(data), "sha256": _sha256(data)} for name, data in contents.items()],
    }
    manifest_bytes = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    try:
        with atomic_writer(out) as handle, zipfile.ZipFile(handle, "w") as archive:
            archive.writestr(_info(MANIFEST), manifest_bytes)
            if private is not None:
                archive.writestr(_info(SIGNATURE), base64.b64encode(private.sign(manifest_bytes)) + b"\n")
            for name, data in contents.items():
                archive.writestr(_info(name), data)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write ({exc.strerror or exc})") from exc
    return out, len(contents), manifest["signed_by"]


def is_bundle(path: Path) -> bool:
    try:
        if not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as archive:
            return MANIFEST in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def _safe_name(name: str) -> bool:
    pure = PurePosixPath(name)
    return bool(name) and not pure.is_absolute() and ".." not in pure.parts and "\\" not in name


def verify_bundle(path: Path, pub: Path | None = None) -> Verified:
    """Every member against the manifest, the review log's chain, then the signature.

    Raises VerificationFailed (exit 1) naming the first altered member, InputError (exit 2) when
    the file is not a bundle or a signed bundle is checked without a public key."""
    key = load_public(pub) if pub is not None else None
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        data = path.read_bytes()[:4] if path.is_file() else b""
        if data.startswith(b"PK"):
            raise VerificationFailed(f"{path}: the archive is damaged (not a readable ZIP file)") from None
        raise InputError(f"{path}: not an evidence bundle (not a ZIP file)") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    with archive:
        names = [info.filename for info in archive.infolist()]
        if MANIFEST not in names:
            raise InputError(f"{path}: not an evidence bundle (no {MANIFEST})")

        def read(name: str) -> bytes:
            try:
                return archive.read(name)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
                raise VerificationFailed(f"{path}: member {name} is damaged ({exc})") from None

        manifest_bytes = read(MANIFEST)
        try:
            manifest = json.loads(manifest_bytes)
            files = {entry["path"]: entry for entry in manifest["files"]}
            if manifest.get("format") != BUNDLE_FORMAT:
                raise ValueError(manifest.get("format"))
        except (ValueError, KeyError, TypeError):
            raise VerificationFailed(f"{path}: member {MANIFEST} is altered (not a bundle manifest)") from None
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise VerificationFailed(f"{path}: member {sorted(duplicates)[0]} is in the archive twice")
        for name in names:
            if name in (MANIFEST, SIGNATURE):
                continue
            if not _safe_name(name):
                raise VerificationFailed(f"{path}: member {name!r} has an unsafe path")
            if name not in files:
                raise VerificationFailed(f"{path}: member {name} was added: it is not in {MANIFEST}")
        for name, entry in files.items():
            if name not in names:
                raise VerificationFailed(f"{path}: member {name} is missing from the archive")
            data = read(name)
            if _sha256(data) != entry.get("sha256") or len(data) != entry.get("size"):
                raise VerificationFailed(f"{path}: member {name} was altered (its SHA-256 is not the manifest's)")
        _check_review_log(path, files, read)
        if SIGNATURE not in names:
            if manifest.get("signed_by"):
                raise VerificationFailed(f"{path}: member {SIGNATURE} is missing (the manifest says it was signed)")
            return Verified(len(files), None)
        if key is None:
            raise InputError(f"{path}: the bundle is signed by {manifest.get('signed_by')}: give the signer's public "
                             "key with --pub")
        check_signature(key, manifest_bytes, read(SIGNATURE),
                        damaged=f"{path}: member {SIGNATURE} is damaged (not a base64 Ed25519 signature)",
                        altered=f"{path}: member {MANIFEST} or {SIGNATURE} was altered, or the bundle was "
                                f"signed with another key than {fingerprint(key)}")
        return Verified(len(files), fingerprint(key))


def _check_review_log(path: Path, files: dict, read: Callable[[str], bytes]) -> None:
    from complianceguard.review import LOG_NAME, ChainBroken, verify_lines

    if LOG_NAME not in files:
        return
    try:
        verify_lines(read(LOG_NAME).decode("utf-8").splitlines(keepends=True))
    except (ChainBroken, UnicodeDecodeError) as exc:
        raise VerificationFailed(f"{path}: member {LOG_NAME}: {exc}") from None
