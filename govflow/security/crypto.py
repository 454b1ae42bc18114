"""Encryption of personal data at rest, and the keyed hash that finds it.

A secret value is stored as an envelope, a small JSON object:

    {"$enc": "gf1.<key id>.<ciphertext>", "$h": "<HMAC-SHA256 hex>"}

`$enc` is the value (as JSON) under AES-SIV (RFC 5297) with the key named by
the key id, its position in the document (e.g. "legal_rep_id_number" or
"shareholders.id_number") as associated data, so an envelope copied to
another field does not open there. AES-SIV is deterministic: the same value
at the same position always gives the same token. That leaks only whether
two values at one position are equal, which `$h` (a keyed hash for
exact-match lookup) tells anyway, and it buys idempotence: re-saving
unchanged data writes the same bytes, so sealing twice is a no-op and a row
that needs re-encryption is one whose sealed form differs from what is
stored.

Keys come from the environment (settings):

- GOVFLOW_DATA_KEYS: one or more keys (URL-safe base64 of 32 random bytes),
  the first one current (new values are sealed with it), the others old keys
  still accepted for reading until `manage.py rotate_data_key` has resealed
  every row;
- GOVFLOW_DATA_HMAC_KEY: the key of the lookup hash (same form).

A key's id is derived from the key (8 hex digits), so an error can name the
key a row needs without naming the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.checks import Error, Warning, register

from govflow.errors import ConfigurationError

log = logging.getLogger(__name__)

ENC = "$enc"
HASH = "$h"
TOKEN_VERSION = "gf1"
KEY_BYTES = 32

# The development keys of the embedded default and the test settings: known
# to everyone who has the source, so they protect nothing (a system check
# warns while they are in use).
DEVELOPMENT_DATA_KEY = "Z292Zmxvdy1kZXZlbG9wbWVudC1kYXRhLWtleS0wMDE="
DEVELOPMENT_HMAC_KEY = "Z292Zmxvdy1kZXZlbG9wbWVudC1obWFjLWtleS0wMDE="


class DataKeyError(ConfigurationError):
    """The personal-data keys are missing or wrong, or a stored value does
    not open with them. Shown to users as a plain error page (500), never a
    traceback; the message names the key id an operator must restore."""

    code = "data_key"


def generate_key() -> str:
    """A new random key in the form GOVFLOW_DATA_KEYS expects."""
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode()


def _decode_key(text: str, name: str) -> bytes:
    text = text.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DataKeyError(f"{name}: a key must be URL-safe base64 of {KEY_BYTES} bytes") from exc
    if len(raw) != KEY_BYTES:
        raise DataKeyError(f"{name}: a key must be URL-safe base64 of {KEY_BYTES} bytes, not {len(raw)}")
    return raw


def _derive(raw: bytes, purpose: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=b"govflow " + purpose).derive(raw)


@dataclass(frozen=True)
class DataKey:
    id: str
    cipher: AESSIV


def _data_key(text: str, name: str) -> DataKey:
    raw = _decode_key(text, name)
    return DataKey(
        id=_derive(raw, b"data key id v1", 4).hex(),
        cipher=AESSIV(_derive(raw, b"data key aes-siv v1", 64)),
    )


class Keyring:
    """The configured keys. `seal` and `open` are the only users."""

    def __init__(self, data_keys: tuple[str, ...], hmac_key: str) -> None:
        if not data_keys:
            raise DataKeyError("personal data keys are not configured: set GOVFLOW_DATA_KEYS")
        if not hmac_key:
            raise DataKeyError("personal data keys are not configured: set GOVFLOW_DATA_HMAC_KEY")
        keys = [_data_key(text, f"GOVFLOW_DATA_KEYS[{i}]") for i, text in enumerate(data_keys)]
        self.current = keys[0]
        self.by_id: dict[str, DataKey] = {}
        for key in keys:
            if key.id in self.by_id:
                raise DataKeyError(f"GOVFLOW_DATA_KEYS names the key {key.id} twice")
            self.by_id[key.id] = key
        self._hmac_key = _derive(_decode_key(hmac_key, "GOVFLOW_DATA_HMAC_KEY"), b"lookup hash v1", 32)

    def seal(self, value: Any, position: str) -> dict[str, str]:
        """The envelope of a JSON value at `position` (deterministic)."""
        plain = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        key = self.current
        sealed = key.cipher.encrypt(plain, [position.encode()])
        token = f"{TOKEN_VERSION}.{key.id}.{base64.urlsafe_b64encode(sealed).decode().rstrip('=')}"
        return {ENC: token, HASH: self.lookup_hash(value)}

    def open(self, envelope: dict, position: str) -> Any:
        token = envelope.get(ENC)
        if not isinstance(token, str) or token.count(".") != 2:
            raise DataKeyError(f"the encrypted value at {position} is malformed")
        version, key_id, body = token.split(".")
        if version != TOKEN_VERSION:
            raise DataKeyError(f"the encrypted value at {position} has an unknown format ({version})")
        key = self.by_id.get(key_id)
        if key is None:
            raise _failed(
                f"a value was encrypted with data key {key_id}, which is not in GOVFLOW_DATA_KEYS "
                "(add the old key back after the current one, then run rotate_data_key)"
            )
        try:
            sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = key.cipher.decrypt(sealed, [position.encode()])
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise _failed(
                f"the value at {position} does not decrypt with data key {key_id}: "
                "it was altered, or moved from another field"
            ) from exc
        return json.loads(plain)

    def key_id_of(self, envelope: dict) -> str | None:
        token = envelope.get(ENC)
        if isinstance(token, str) and token.count(".") == 2:
            return token.split(".")[1]
        return None

    def lookup_hash(self, value: Any) -> str:
        return hmac.new(self._hmac_key, normalised(value), hashlib.sha256).hexdigest()


def _failed(message: str) -> DataKeyError:
    # Users see a plain error page; operators find the reason (which key) in the log.
    log.error("personal data cannot be decrypted: %s", message)
    return DataKeyError(message)


def normalised(value: Any) -> bytes:
    """What the lookup hash is taken of: text compatibility-normalised,
    without white space, upper case (an ID number's x, full-width digits);
    anything else as canonical JSON."""
    if isinstance(value, str):
        text = "".join(unicodedata.normalize("NFKC", value).split()).upper()
        return b"s:" + text.encode()
    return b"j:" + json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def is_envelope(value: Any) -> bool:
    return type(value) is dict and ENC in value


@lru_cache(maxsize=4)
def _keyring(data_keys: tuple[str, ...], hmac_key: str) -> Keyring:
    return Keyring(data_keys, hmac_key)


def keyring() -> Keyring:
    """The keyring of the current settings (cached per key set)."""
    data_keys = getattr(settings, "GOVFLOW_DATA_KEYS", None) or ()
    if isinstance(data_keys, str):
        data_keys = [item for item in data_keys.split(",") if item.strip()]
    return _keyring(tuple(data_keys), getattr(settings, "GOVFLOW_DATA_HMAC_KEY", "") or "")


def data_keys_check(app_configs=None, **kwargs):
    """govflow.E301: keys missing or malformed; govflow.W301: the public
    development keys are in use."""
    try:
        ring = keyring()
    except DataKeyError as exc:
        return [
            Error(
                exc.message,
                hint="Generate keys with `python manage.py rotate_data_key --generate` and set "
                "GOVFLOW_DATA_KEYS and GOVFLOW_DATA_HMAC_KEY (docs/security.md, 'Encryption at rest').",
                id="govflow.E301",
            )
        ]
    development = _data_key(DEVELOPMENT_DATA_KEY, "development").id
    hmac_key = (getattr(settings, "GOVFLOW_DATA_HMAC_KEY", "") or "").strip()
    if ring.current.id == development or hmac_key.rstrip("=") == DEVELOPMENT_HMAC_KEY.rstrip("="):
        return [
            Warning(
                "personal data is encrypted or hashed with a public development key",
                hint="Set GOVFLOW_DATA_KEYS and GOVFLOW_DATA_HMAC_KEY to keys of your own.",
                id="govflow.W301",
            )
        ]
    return []


@register()
def data_keys_errors(app_configs=None, **kwargs):
    """Missing or malformed keys stop every command (govflow.E301)."""
    return [m for m in data_keys_check() if m.is_serious()]


@register(deploy=True)
def data_keys_deploy_warnings(app_configs=None, **kwargs):
    """The public development keys are reported by `check --deploy` only: in
    the embedded default they are expected, and a warning on every command
    would end up in the output other tools read (simulate_process --json)."""
    return [m for m in data_keys_check() if not m.is_serious()]
