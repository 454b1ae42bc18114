"""Signing certificates, behind one small interface.

`Signer` is all the rest of the app knows: `sign(pdf, ...) -> signed bytes`,
plus the fingerprint of the certificate it signs with and a format name.
`PadesSigner` signs PDF/PAdES (B-B, ECDSA P-256, SHA-256) with pyHanko. A
national-algorithm signer (SM2/SM3 seals on OFD, GB/T 38540) would be a second
implementation chosen per department in `signer_for`; nothing else changes.

`signature_check` is the other half: it validates the signature embedded in a
PDF against the trust roots in GOVFLOW_KEYS_DIR, without any network access.
"""

from __future__ import annotations

import io
import logging
import threading
from dataclasses import dataclass
from typing import Protocol

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization

from govflow.errors import ConfigurationError

from . import keys

log = logging.getLogger(__name__)

FIELD_NAME = "govflow_signature"


class Signer(Protocol):
    fingerprint: str  # SHA-256 of the signing certificate (DER), hex
    format: str

    def sign(self, pdf: bytes, *, reason: str, location: str) -> bytes: ...


class PadesSigner:
    format = "PAdES-B-B ecdsa-sha256"

    def __init__(self, paths: keys.KeyPaths, chain: list[keys.KeyPaths]) -> None:
        from pyhanko.sign import signers  # noqa: PLC0415 - pyHanko is heavy; loaded only to sign or check a PDF

        self._signer = signers.SimpleSigner.load(
            str(paths.key), str(paths.cert), ca_chain_files=tuple(str(c.cert) for c in chain)
        )
        if self._signer is None:
            raise ConfigurationError(f"the signing key {paths.key} could not be loaded")
        self.fingerprint = keys.fingerprint(keys.load_cert(paths.cert))

    def sign(self, pdf: bytes, *, reason: str, location: str) -> bytes:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # noqa: PLC0415 - pyHanko is heavy; loaded only to sign or check a PDF
        from pyhanko.sign import fields, signers  # noqa: PLC0415 - pyHanko is heavy; loaded only to sign or check a PDF

        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        meta = signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256",
            reason=reason,
            location=location,
        )
        return signers.sign_pdf(writer, meta, signer=self._signer).getvalue()


_cache: dict[str, tuple[tuple[float, float], Signer]] = {}
_cache_lock = threading.Lock()


def signer_for(department_code: str) -> Signer:
    """The department's signer; reloaded when its key files change (a
    rotation by `certificate_keys --rotate`). ConfigurationError when the
    department has no key yet."""
    paths = keys.department_paths(department_code)
    try:
        stamp = (paths.key.stat().st_mtime, paths.cert.stat().st_mtime)
    except FileNotFoundError:
        raise ConfigurationError(
            f"no signing key for department {department_code!r} in {keys.keys_dir()}; "
            "run `python manage.py certificate_keys`",
            code="no_signing_key",
        ) from None
    with _cache_lock:
        cached = _cache.get(str(paths.key))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        signer = PadesSigner(paths, [keys.root_paths()])
        _cache[str(paths.key)] = (stamp, signer)
        return signer


@dataclass(frozen=True)
class SignatureCheck:
    ok: bool
    reason: str = ""
    fingerprint: str = ""


def signature_check(pdf: bytes) -> SignatureCheck:
    """Is there exactly one signature, cryptographically intact, by a
    certificate that chains to our root, covering the whole file?"""
    from pyhanko.pdf_utils.misc import PdfReadError  # noqa: PLC0415 - pyHanko is heavy; loaded only to sign or check a PDF
    from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: PLC0415 - pyHanko is heavy; loaded only to sign or check a PDF
    from pyhanko.sign.validation import validate_pdf_signature  # noqa: PLC0415 - pyHanko is heavy; loaded only to sign or check a PDF
    from pyhanko.sign.validation.errors import SignatureValidationError  # noqa: PLC0415 - pyHanko is heavy; loaded only to sign or check a PDF
    from pyhanko.sign.validation.status import SignatureCoverageLevel  # noqa: PLC0415 - pyHanko is heavy; loaded only to sign or check a PDF
    from pyhanko_certvalidator import ValidationContext  # noqa: PLC0415 - pyHanko is heavy; loaded only to sign or check a PDF

    roots = [
        asn1_x509.Certificate.load(root.public_bytes(serialization.Encoding.DER))
        for root in keys.trust_roots()
    ]
    if not roots:
        return SignatureCheck(False, "no trust root is configured")
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
        if len(signatures) != 1:
            return SignatureCheck(False, f"expected one signature, found {len(signatures)}")
        embedded = signatures[0]
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        status = validate_pdf_signature(embedded, context)
    except (PdfReadError, SignatureValidationError, ValueError, KeyError, TypeError, IndexError) as exc:
        return SignatureCheck(False, f"the signature could not be read ({type(exc).__name__})")
    except Exception as exc:  # a malformed file must never become a traceback
        log.info("signature check failed on a malformed file: %r", exc)
        return SignatureCheck(False, f"the signature could not be read ({type(exc).__name__})")
    fingerprint = status.signing_cert.sha256.hex() if status.signing_cert is not None else ""
    if not status.intact or not status.valid:
        return SignatureCheck(False, "the signature does not match the document", fingerprint)
    if not status.trusted:
        return SignatureCheck(False, "the signer is not one of our departments", fingerprint)
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return SignatureCheck(False, "the file was changed after it was signed", fingerprint)
    return SignatureCheck(True, "", fingerprint)
