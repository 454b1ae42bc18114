"""The departments' signing keys and demo X.509 certificates.

Layout of GOVFLOW_KEYS_DIR (never committed; var/ is git-ignored):

    root.key, root.pem                the demo root (a self-signed CA)
    departments/<code>.key, <code>.pem  each department's signing key and its
                                      certificate, issued by the root
    archive/<code>-<fingerprint>.pem  certificates replaced by a rotation

Keys are ECDSA P-256, written 0600. Creation is idempotent and serialised by
a lock file, so two processes creating keys at once cannot end up with a
department certificate issued by a root that was then overwritten. In
production the department keys would live in an HSM (pyHanko signs through
PKCS#11 behind the same Signer interface) and the certificates would come
from a real CA; the layout of trust (root -> department) stays the same.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import os
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings

ROOT_YEARS = 20
DEPARTMENT_YEARS = 10


@dataclass(frozen=True)
class KeyPaths:
    key: Path
    cert: Path


def keys_dir() -> Path:
    return Path(settings.GOVFLOW_KEYS_DIR)


def root_paths() -> KeyPaths:
    return KeyPaths(keys_dir() / "root.key", keys_dir() / "root.pem")


def department_paths(code: str) -> KeyPaths:
    folder = keys_dir() / "departments"
    return KeyPaths(folder / f"{code}.key", folder / f"{code}.pem")


def fingerprint(cert: x509.Certificate) -> str:
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def trust_roots() -> list[x509.Certificate]:
    """The roots a signature must chain to: the current root (and any older
    ones kept under archive/roots after a root rotation)."""
    roots = []
    if root_paths().cert.exists():
        roots.append(load_cert(root_paths().cert))
    for path in sorted((keys_dir() / "archive" / "roots").glob("*.pem")):
        roots.append(load_cert(path))
    return roots


@contextmanager
def _locked():
    folder = keys_dir()
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write via a temporary file and rename, so no reader sees half a key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


def _name(common_name: str, unit: str = "") -> x509.Name:
    parts = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "govflow demo"),
    ]
    if unit:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(parts)


def _key_usage(*, sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign,
        content_commitment=sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not sign,
        crl_sign=not sign,
        encipher_only=False,
        decipher_only=False,
    )


def old_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _create_root(now: dt.datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("govflow demo root CA (not for production)")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * ROOT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(root_paths().key, _pem_key(key), 0o600)
    _write(root_paths().cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _create_department(code: str, name_zh: str, now: dt.datetime) -> None:
    root_key = serialization.load_pem_private_key(root_paths().key.read_bytes(), password=None)
    root_cert = load_cert(root_paths().cert)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name_zh, code))
        .issuer_name(root_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * DEPARTMENT_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_cert.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    paths = department_paths(code)
    _write(paths.key, _pem_key(key), 0o600)
    _write(paths.cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _issued_by(cert: x509.Certificate, root: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(root)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _complete(paths: KeyPaths) -> bool:
    return paths.key.exists() and paths.cert.exists()


def keys_ensure(
    departments: Iterable[tuple[str, str]], *, rotate: Iterable[str] = (), now: dt.datetime | None = None
) -> list[str]:
    """Create the root and every department key that is missing; `rotate`
    names departments whose key is replaced (the old certificate is kept in
    archive/ so their earlier signatures still verify). Returns what it did,
    one line per key."""
    now = now or dt.datetime.now(dt.UTC)
    done: list[str] = []
    rotate = set(rotate)
    with _locked():
        if not _complete(root_paths()):
            if root_paths().cert.exists():  # keep trusting what the old root signed
                old = load_cert(root_paths().cert)
                _write(keys_dir() / "archive" / "roots" / f"{fingerprint(old)[:16]}.pem", old_pem(old), 0o644)
            _create_root(now)
            done.append("created the demo root CA")
        root = load_cert(root_paths().cert)
        for code, name_zh in departments:
            paths = department_paths(code)
            if _complete(paths):
                current = load_cert(paths.cert)
                if code not in rotate and _issued_by(current, root):
                    continue
                archived = keys_dir() / "archive" / f"{code}-{fingerprint(current)[:16]}.pem"
                _write(archived, paths.cert.read_bytes(), 0o644)
                done.append(f"rotated {code} (old certificate kept as {archived.name})")
            else:
                done.append(f"created {code}")
            _create_department(code, name_zh, now)
    return done
