"""Issuing, revoking, reissuing and verifying certificates (the only writers).

Issuing happens in three steps so that a redelivered request (the outbox
delivers at least once) still yields one number and one PDF:

1. reserve (one short transaction, case row locked): find the row for the
   request's key, or take the next number of the department's sequence and
   insert the row as `pending` with its issue date;
2. render and sign, holding no lock (the slow part);
3. finish (short transaction, certificate row locked): if the row is still
   pending, move the signed PDF into place and mark it valid with its
   SHA-256, audit event and webhook event; if another delivery finished it
   meanwhile, drop this copy.

A worker that dies between 1 and 3 leaves a pending row; the redelivery
renders it again under the same number.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import asdict, dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from govflow.accounts.models import Department
from govflow.accounts.permissions import is_admin
from govflow.audit.services import PendingAudit, audit_write
from govflow.cases.models import Case, CaseStatus
from govflow.engine.problems import Message
from govflow.errors import Conflict, Forbidden, InvalidInput, NotFound
from govflow.notifications.applicant import certificate_notice
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import dispatch_on_commit
from govflow.processes.services import version_definition
from govflow.storage import store_once
from govflow.webhooks.services import publish_event

from .content import certificate_content, certificate_holder, spec_for
from .models import Certificate, CertificateStatus
from .numbering import certificate_number
from .rendering import certificate_render, verify_url
from .signing import signature_check, signer_for

log = logging.getLogger(__name__)

NUMBER_RE = re.compile(r"^(?:[A-Z]{1,4}-\d{4}-\d{6,}|JY\d{14})$")
# Written into each PDF's metadata, so an altered copy still says which
# certificate it claims to be.
MARKER = "govflow-certificate:"
_MARKER_RE = re.compile(rb"govflow-certificate:([A-Z]{1,4}-\d{4}-\d{6,})")
MAX_PDF_BYTES = 20 * 1024 * 1024
NOT_ISSUABLE = (CaseStatus.DRAFT, CaseStatus.WITHDRAWN)
REVOKE_REASON_MAX = 500


def _publish(kind: str, certificate: Certificate, **data) -> None:
    publish_event(
        kind,
        case_id=certificate.case_id,
        subject=certificate.number,
        data={
            "number": certificate.number,
            "type": certificate.type,
            "title": certificate.title_zh,
            "department": certificate.department.code,
            "status": certificate.status,
            "verify_url": verify_url(certificate.number),
            **data,
        },
    )


def _audit(action: str, certificate: Certificate, now: datetime, actor_id: int | None = None, **data) -> None:
    audit_write(
        [
            PendingAudit(
                action=action,
                at=now,
                actor_id=actor_id,
                object_type="certificate",
                object_id=certificate.number,
                case_id=certificate.case_id,
                data={"type": certificate.type, "node": certificate.node_id, **data},
            )
        ]
    )


# -- issuing ----------------------------------------------------------------


def certificate_reserve(
    *, case_id: int, node_id: str, cert_type: str, key: str, now: datetime | None = None
) -> Certificate | None:
    """Step 1: the row for `key`, reserved with its number if it is new.
    None when the case may not get it (a draft, or withdrawn)."""
    now = now or timezone.now()
    existing = Certificate.objects.filter(issue_key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            case = (
                Case.objects.select_for_update(of=("self",))
                .select_related("version")
                .filter(pk=case_id)
                .first()
            )
            if case is None:
                raise NotFound(f"case {case_id} not found")
            existing = Certificate.objects.filter(issue_key=key).first()
            if existing is not None:
                return existing
            if case.status in NOT_ISSUABLE:
                log.warning("certificate %s not issued: case %s is %s", key, case.reference, case.status)
                return None
            spec = spec_for(version_definition(case.version), node_id, cert_type)
            if spec is None:
                raise InvalidInput(f"node {node_id!r} of case {case.reference} issues no {cert_type!r}")
            department = Department.objects.get(code=spec.department)
            signer_for(department.code)  # no key: fail now, before a number is taken
            issued_at = now
            year = timezone.localtime(issued_at).year
            return Certificate.objects.create(
                number=certificate_number(
                    cert_type=cert_type, department_code=department.code, year=year, data=case.data or {}
                ),
                issue_key=key,
                case=case,
                node_id=node_id,
                type=cert_type,
                title_zh=spec.title.get("zh") or cert_type,
                title_en=spec.title.get("en") or "",
                department=department,
                holder=certificate_holder(case),
                issued_at=issued_at,
            )
    except IntegrityError:
        # A concurrent delivery reserved it first (unique issue key).
        existing = Certificate.objects.filter(issue_key=key).first()
        if existing is None:
            raise
        return existing


def certificate_issue(
    *, case_id: int, node_id: str, cert_type: str, key: str, now: datetime | None = None
) -> Certificate | None:
    """Issue the certificate an approved end event names (the outbox
    consumer's service); idempotent per `key`."""
    certificate = certificate_reserve(case_id=case_id, node_id=node_id, cert_type=cert_type, key=key, now=now)
    if certificate is None or certificate.status != CertificateStatus.PENDING:
        return certificate
    return certificate_complete(certificate_id=certificate.pk)


def certificate_complete(*, certificate_id: int, now: datetime | None = None) -> Certificate:
    """Steps 2 and 3 for a reserved (pending) certificate."""
    certificate = Certificate.objects.select_related("case", "case__version", "department", "replaces").get(
        pk=certificate_id
    )
    if certificate.status != CertificateStatus.PENDING:
        return certificate
    case = certificate.case
    definition = version_definition(case.version)
    spec = spec_for(definition, certificate.node_id, certificate.type)
    if spec is None:
        raise InvalidInput(f"node {certificate.node_id!r} issues no {certificate.type!r}")
    content = certificate_content(
        case=case,
        definition=definition,
        spec=spec,
        node_id=certificate.node_id,
        number=certificate.number,
        department=certificate.department,
        issued_at=certificate.issued_at,
        verify_url=verify_url(certificate.number),
        replaces_number=certificate.replaces.number if certificate.replaces else "",
    )
    rendered = certificate_render(content)
    signer = signer_for(certificate.department.code)
    started = time.perf_counter()
    signed = signer.sign(
        rendered.pdf,
        reason=f"{certificate.title_zh} {certificate.number}",
        location=certificate.department.name_zh,
    )
    sign_ms = round((time.perf_counter() - started) * 1000)
    return _finish(
        certificate.pk,
        signed,
        signer,
        render_ms=rendered.ms,
        sign_ms=sign_ms,
        now=now,
        issuer_name=content.department_name,
        facts=[[label, text] for label, text in content.facts],
    )


def _finish(
    certificate_id: int,
    pdf: bytes,
    signer,
    *,
    render_ms: int,
    sign_ms: int,
    now,
    issuer_name: str = "",
    facts: list | None = None,
) -> Certificate:
    now = now or timezone.now()
    with transaction.atomic():
        certificate = (
            Certificate.objects.select_for_update(of=("self",))
            .select_related("department", "replaces")
            .get(pk=certificate_id)
        )
        if certificate.status != CertificateStatus.PENDING:
            return certificate  # another delivery finished it; this copy is dropped
        digest = hashlib.sha256(pdf).hexdigest()
        # Named by number and content: a stored file is never overwritten.
        name = f"{timezone.localtime(certificate.issued_at).year}/{certificate.number}-{digest[:16]}.pdf"
        # Stored before the row names it and commits (a rollback leaves an
        # orphan that sweep_orphan_files removes), under the row lock: one
        # delivery stores its file, locally or in the bucket (govflow.storage).
        store_once(certificate.file.storage, name, pdf)
        certificate.file.name = name
        certificate.sha256 = digest
        certificate.size = len(pdf)
        certificate.signer_fingerprint = signer.fingerprint
        certificate.signature_format = signer.format
        certificate.render_ms, certificate.sign_ms = render_ms, sign_ms
        certificate.issuer_name = issuer_name[:200]
        certificate.facts = list(facts or [])
        certificate.status = CertificateStatus.VALID
        certificate.save(
            update_fields=[
                "issuer_name",
                "facts",
                "file",
                "sha256",
                "size",
                "signer_fingerprint",
                "signature_format",
                "render_ms",
                "sign_ms",
                "status",
            ]
        )
        extra = {"replaces": certificate.replaces.number} if certificate.replaces else {}
        _audit(
            "CERTIFICATE_ISSUED",
            certificate,
            now,
            department=certificate.department.code,
            sha256=certificate.sha256,
            **extra,
        )
        _publish("certificate.issued", certificate, sha256=certificate.sha256, **extra)
        certificate_notice(certificate, "certificate_issued", now)
    return certificate


# -- revoking and reissuing --------------------------------------------------------


def _clean_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput("a reason is required", code="reason_required")
    if len(reason) > REVOKE_REASON_MAX:
        raise InvalidInput(
            f"the reason is longer than {REVOKE_REASON_MAX} characters", code="reason_too_long"
        )
    return reason


def _revoke(certificate: Certificate, *, actor, reason: str, now: datetime, **data) -> None:
    """Caller holds the row lock."""
    certificate.status = CertificateStatus.REVOKED
    certificate.revoked_at, certificate.revoked_reason, certificate.revoked_by = now, reason, actor
    certificate.save(update_fields=["status", "revoked_at", "revoked_reason", "revoked_by"])
    _audit("CERTIFICATE_REVOKED", certificate, now, actor_id=actor.pk, reason=reason, **data)
    _publish("certificate.revoked", certificate, revoked_at=now.isoformat(), reason=reason, **data)
    certificate_notice(certificate, "certificate_revoked", now)


def _lock_for_admin(*, number: str, actor) -> Certificate:
    if not is_admin(actor):
        raise Forbidden("only administrators may revoke or reissue certificates")
    certificate = (
        Certificate.objects.select_for_update(of=("self",))
        .select_related("department")
        .filter(number=number)
        .first()
    )
    if certificate is None or certificate.status == CertificateStatus.PENDING:
        raise NotFound("certificate not found")
    return certificate


@transaction.atomic
def certificate_revoke(*, number: str, actor, reason: str, now: datetime | None = None) -> Certificate:
    now = now or timezone.now()
    reason = _clean_reason(reason)
    certificate = _lock_for_admin(number=number, actor=actor)
    if certificate.status == CertificateStatus.REVOKED:
        raise Conflict(f"certificate {number} is already revoked", code="already_revoked")
    _revoke(certificate, actor=actor, reason=reason, now=now)
    return certificate


@transaction.atomic
def certificates_revoke_for_case(
    *, case_id: int, actor, reason: str, now: datetime | None = None
) -> list[Certificate]:
    """Revoke every valid certificate of a case on a decision the caller
    has authorised (a commitment found false by the verifying department's
    head, govflow.commitments); rows locked in primary-key order."""
    now = now or timezone.now()
    reason = _clean_reason(reason)
    revoked = list(
        Certificate.objects.select_for_update(of=("self",))
        .select_related("department")
        .filter(case_id=case_id, status=CertificateStatus.VALID)
        .order_by("pk")
    )
    for certificate in revoked:
        _revoke(certificate, actor=actor, reason=reason, now=now, basis="false_commitment")
    return revoked


@transaction.atomic
def certificate_reissue(*, number: str, actor, reason: str, now: datetime | None = None) -> Certificate:
    """A new certificate (new number, same case and type) that replaces
    `number`; the old one is revoked if it is still valid. The new one is
    rendered by a worker (outbox); returns it, pending."""
    now = now or timezone.now()
    reason = _clean_reason(reason)
    # The case row first, then the certificate: the order issuing takes them in.
    case_id = Certificate.objects.filter(number=number).values_list("case_id", flat=True).first()
    if case_id is not None:
        Case.objects.select_for_update().filter(pk=case_id).first()
    old = _lock_for_admin(number=number, actor=actor)
    if hasattr(old, "replaced_by"):
        raise Conflict(
            f"certificate {number} was already reissued as {old.replaced_by.number}", code="already_reissued"
        )
    if old.status == CertificateStatus.VALID:
        _revoke(old, actor=actor, reason=reason, now=now, reissued=True)
    live = Certificate.objects.filter(
        case_id=old.case_id, node_id=old.node_id, type=old.type, status__in=["pending", "valid"]
    ).first()
    if live is not None:
        raise Conflict(f"certificate {live.number} is still live for this case and type", code="still_live")
    year = timezone.localtime(now).year
    new = Certificate.objects.create(
        number=certificate_number(
            cert_type=old.type, department_code=old.department.code, year=year, data=old.case.data or {}
        ),
        issue_key=f"reissue:{old.number}",
        case_id=old.case_id,
        node_id=old.node_id,
        type=old.type,
        title_zh=old.title_zh,
        title_en=old.title_en,
        department=old.department,
        holder=old.holder,
        issued_at=now,
        replaces=old,
    )
    message = OutboxMessage.objects.create(
        key=f"{new.issue_key}:certificate",
        topic="certificate",
        payload={"certificate": new.pk, "case": old.case_id},
        created_at=now,
    )
    dispatch_on_commit([message.pk])
    return new


# -- verification -------------------------------------------------------------------


VALID, REVOKED, ALTERED, NOT_ISSUED = "valid", "revoked", "altered", "not_issued"
EXIT_CODES = {VALID: 0, REVOKED: 2, ALTERED: 1, NOT_ISSUED: 1}


@dataclass(frozen=True)
class Verification:
    """The answer a third party gets: only public facts of the certificate."""

    status: str
    message: str
    number: str = ""
    title: str = ""
    title_en: str = ""
    holder: str = ""
    department: str = ""
    department_en: str = ""
    issued_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_reason: str = ""
    replaces: str = ""
    replaced_by: str = ""
    sha256: str = ""
    # The public fields the certificate prints, as (label, text) pairs.
    facts: tuple[tuple[str, str], ...] = ()

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def is_valid(self) -> bool:
        return self.status == VALID

    def as_dict(self) -> dict:
        data = asdict(self)
        for key in ("issued_at", "revoked_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def normalise_number(number: str) -> str:
    return "".join((number or "").split()).upper()[:40]


def _answer(certificate: Certificate, status: str, message: str) -> Verification:
    replaced_by = Certificate.objects.filter(replaces=certificate).values_list("number", flat=True).first()
    revoked = certificate.status == CertificateStatus.REVOKED
    return Verification(
        status=status,
        message=message,
        number=certificate.number,
        title=certificate.title_zh,
        title_en=certificate.title_en,
        holder=certificate.holder,
        department=certificate.issuer_name or certificate.department.name_zh,
        department_en=certificate.department.name_en,
        issued_at=certificate.issued_at,
        revoked_at=certificate.revoked_at if revoked else None,
        revoked_reason=certificate.revoked_reason if revoked else "",
        replaces=certificate.replaces.number if certificate.replaces_id else "",
        replaced_by=replaced_by or "",
        sha256=certificate.sha256,
        facts=tuple((str(label), str(text)) for label, text in (certificate.facts or [])),
    )


def _issued(number: str) -> Certificate | None:
    return (
        Certificate.objects.select_related("department", "replaces")
        .filter(number=number, status__in=[CertificateStatus.VALID, CertificateStatus.REVOKED])
        .first()
    )


def certificate_verify_number(number: str) -> Verification:
    """By number (typed in, or from the QR code)."""
    number = normalise_number(number)
    certificate = _issued(number) if NUMBER_RE.match(number) else None
    if certificate is None:
        return Verification(
            NOT_ISSUED, Message("no certificate with this number was issued here"), number=number
        )
    if certificate.status == CertificateStatus.REVOKED:
        return _answer(certificate, REVOKED, Message("this certificate was revoked"))
    return _answer(certificate, VALID, Message("this certificate is valid"))


def certificate_verify_pdf(data: bytes) -> Verification:
    """By the file itself: valid only if it is byte for byte the PDF issued
    (SHA-256) and its signature validates, covers the whole file and was made
    with the key recorded for it. Anything else is altered (when the file
    claims to be one of ours) or not issued here."""
    if not data or len(data) > MAX_PDF_BYTES:
        return Verification(
            NOT_ISSUED, Message("the file is empty or too large to be one of our certificates")
        )
    if b"%PDF-" not in data[:1024]:
        return Verification(NOT_ISSUED, Message("the file is not a PDF"))
    digest = hashlib.sha256(data).hexdigest()
    certificate = (
        Certificate.objects.select_related("department", "replaces")
        .filter(sha256=digest, status__in=[CertificateStatus.VALID, CertificateStatus.REVOKED])
        .first()
    )
    if certificate is None:
        # The PDF writer escapes "-" and ":" in metadata strings as octal.
        claimed = _MARKER_RE.search(data.replace(b"\\055", b"-").replace(b"\\072", b":"))
        found = _issued(claimed.group(1).decode()) if claimed else None
        if found is not None:
            return _answer(
                found, ALTERED, Message("the file differs from the certificate issued under this number")
            )
        return Verification(NOT_ISSUED, Message("this file is not a certificate issued here"))
    check = signature_check(data)
    if not check.ok:
        return _answer(
            certificate, ALTERED, Message("the signature does not verify: {reason}", reason=check.reason)
        )
    if check.fingerprint != certificate.signer_fingerprint:
        return _answer(certificate, ALTERED, "the file was not signed with the key recorded for it")
    if certificate.status == CertificateStatus.REVOKED:
        return _answer(certificate, REVOKED, Message("this certificate was revoked"))
    return _answer(certificate, VALID, "this certificate is valid and unaltered")
