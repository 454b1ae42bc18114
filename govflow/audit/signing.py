"""The server key that signs audit checkpoints (Ed25519).

The private key comes from GOVFLOW_AUDIT_SIGNING_KEY (base64 of the 32-byte
seed, or a PEM block) or else from the file GOVFLOW_AUDIT_KEY_FILE
(default var/keys/audit-signing.pem, written by `manage.py audit_keygen`,
mode 0600, never committed: var/ is ignored). Checkpoints name their key by
`key_id` (the first 16 hex digits of the SHA-256 of the public key);
signatures made with a retired key still verify while its public key is
listed in GOVFLOW_AUDIT_TRUSTED_PUBLIC_KEYS.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

DOMAIN = b"govflow-audit-checkpoint/1\n"
# Version 2 signs the Merkle root of every chain's head (govflow.audit.merkle).
DOMAIN_V2 = b"govflow-audit-checkpoint/2\n"


class SigningKeyMissing(Exception):
    """No audit signing key is configured."""


class SigningKeyInvalid(Exception):
    """The configured key cannot be read."""


def key_file() -> Path:
    configured = getattr(settings, "GOVFLOW_AUDIT_KEY_FILE", None)
    if configured:
        return Path(configured)
    return Path(getattr(settings, "GOVFLOW_KEYS_DIR", settings.VAR_DIR / "keys")) / "audit-signing.pem"


def _decode_b64(text: str) -> bytes:
    text = text.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SigningKeyInvalid("the key is neither PEM nor base64") from exc


def parse_private_key(text: str | bytes) -> Ed25519PrivateKey:
    raw = text.encode() if isinstance(text, str) else text
    if b"-----BEGIN" in raw:
        try:
            key = serialization.load_pem_private_key(raw, password=None)
        except (ValueError, TypeError) as exc:
            raise SigningKeyInvalid(f"the PEM key cannot be read: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyInvalid("the PEM key is not an Ed25519 key")
        return key
    seed = _decode_b64(raw.decode("ascii", "replace"))
    if len(seed) != 32:
        raise SigningKeyInvalid(f"an Ed25519 seed has 32 bytes, this one {len(seed)}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def signing_key() -> Ed25519PrivateKey:
    value = os.environ.get("GOVFLOW_AUDIT_SIGNING_KEY", "").strip()
    if value:
        return parse_private_key(value)
    path = key_file()
    if path.is_file():
        return parse_private_key(path.read_bytes())
    raise SigningKeyMissing(
        "no audit signing key: set GOVFLOW_AUDIT_SIGNING_KEY or run `python manage.py audit_keygen` "
        f"(which writes {path})"
    )


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(public_bytes(key)).hexdigest()[:16]


def trusted_keys() -> dict[str, Ed25519PublicKey]:
    """Public keys whose checkpoint signatures are accepted, by key id: the
    current key's and every retired one listed in the environment."""
    keys: dict[str, Ed25519PublicKey] = {}
    for item in os.environ.get("GOVFLOW_AUDIT_TRUSTED_PUBLIC_KEYS", "").split(","):
        if item.strip():
            raw = _decode_b64(item)
            if len(raw) != 32:
                raise SigningKeyInvalid("a trusted public key must be 32 bytes (base64)")
            public = Ed25519PublicKey.from_public_bytes(raw)
            keys[key_id(public)] = public
    try:
        public = signing_key().public_key()
    except SigningKeyMissing:
        return keys
    keys[key_id(public)] = public
    return keys


def checkpoint_message(seq: int, head_hash: str, at: datetime, *, version: int = 1) -> bytes:
    """What a checkpoint signs: version 1, the one chain's head (`seq`, the
    newest event's position, and its hash); version 2, the number of events
    covered and the Merkle root of every chain's head."""
    domain = DOMAIN_V2 if version == 2 else DOMAIN
    return domain + f"{seq}\n{head_hash}\n{at.isoformat(timespec='microseconds')}".encode()


def sign(message: bytes) -> tuple[str, str]:
    """(key id, base64 signature)."""
    key = signing_key()
    return key_id(key.public_key()), base64.b64encode(key.sign(message)).decode()


def verify(public: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    try:
        public.verify(base64.b64decode(signature), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def generate_key_file(path: Path, *, overwrite: bool = False) -> Ed25519PrivateKey:
    if path.exists() and not overwrite:
        raise FileExistsError(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    os.replace(tmp, path)
    return key


def public_text(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(public_bytes(key.public_key())).decode()
