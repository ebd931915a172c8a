"""Ed25519 signatures over the exact bytes of a report file (with `cryptography`).

`keygen` writes a PKCS#8 PEM private key (mode 0600) and its public key next to it (`.pub`,
SubjectPublicKeyInfo PEM). `sign` writes `<report>.sig`: the 64-byte signature in base64 on one
line. `verify` checks the file's bytes against it; any changed byte, in the report or in the
signature, fails. Nothing is normalised first: what was signed is what a reader holds.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from complianceguard.errors import ComplianceGuardError, InputError
from complianceguard.report import atomic_write

SIGNATURE_SUFFIX = ".sig"


class VerificationFailed(ComplianceGuardError):
    """The report or its signature was altered (or signed with another key): exit code 1."""


def public_path(private: Path) -> Path:
    return private.with_suffix(".pub") if private.suffix else private.with_name(private.name + ".pub")


def signature_path(report: Path) -> Path:
    return report.with_name(report.name + SIGNATURE_SUFFIX)


def fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:32]


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from exc


def keygen(out: Path, force: bool = False) -> tuple[Path, Path, str]:
    pub = public_path(out)
    for path in (out, pub):
        if path.exists() and not force:
            raise InputError(f"{path}: already exists (use --force to replace the key pair)")
    key = Ed25519PrivateKey.generate()
    atomic_write(out, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()), mode=0o600)
    atomic_write(pub, key.public_key().public_bytes(serialization.Encoding.PEM,
                                                    serialization.PublicFormat.SubjectPublicKeyInfo))
    return out, pub, fingerprint(key.public_key())


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path, "private key"), password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path}: not an Ed25519 private key (make one with `complianceguard report keygen`)")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(_read(path, "public key"))
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: not a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{path}: not an Ed25519 public key")
    return key


def sign(report: Path, key_path: Path) -> tuple[Path, str]:
    key = load_private(key_path)
    data = _read(report, "report")
    sig = signature_path(report)
    atomic_write(sig, base64.b64encode(key.sign(data)).decode("ascii") + "\n")
    return sig, fingerprint(key.public_key())


def verify(report: Path, pub_path: Path, sig: Path | None = None) -> str:
    """Return the key fingerprint when intact; raise VerificationFailed when not."""
    key = load_public(pub_path)
    sig = sig or signature_path(report)
    check_signature(key, _read(report, "report"), _read(sig, "signature"),
                    damaged=f"{report}: signature {sig} is damaged (not a base64 Ed25519 signature)",
                    altered=f"{report}: signature does not match: the report or {sig.name} was altered, "
                            f"or it was signed with another key than {fingerprint(key)}")
    return fingerprint(key)


def check_signature(key: Ed25519PublicKey, data: bytes, encoded: bytes, damaged: str, altered: str) -> None:
    """Raise VerificationFailed (with the caller's one-line wording) unless `encoded` is a base64
    Ed25519 signature of `data` by `key`. Reports and evidence bundles share it."""
    try:
        signature = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if len(signature) != 64:
        raise VerificationFailed(damaged)
    try:
        key.verify(signature, data)
    except InvalidSignature:
        raise VerificationFailed(altered) from None
