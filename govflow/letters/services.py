"""Issuing written letters (书面告知): the only writer of Letter rows.

`letter_issue` is what every procedure that must tell the applicant
something in writing calls (an extension, time not counted, a refusal to
accept, a commitment letter ...). In one transaction (joining the
caller's, if any) it takes the letter's number, renders the PDF in the
official letter layout with the department's seal, signs it with the
department's key, stores it, writes the row, an audit event
(LETTER_ISSUED) and the applicant's in-app notification (with an e-mail
when the applicant has an address). See docs/letters.md.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from govflow.accounts.models import Department
from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit, audit_write
from govflow.cases.models import Case, Task
from govflow.certificates.authorities import authority_name
from govflow.certificates.content import certificate_holder
from govflow.certificates.numbering import next_number, number_prefix
from govflow.certificates.signing import signer_for
from govflow.engine.definition import node_departments
from govflow.errors import ConfigurationError, InvalidInput
from govflow.notifications.models import NotificationKind
from govflow.notifications.services import notification_send
from govflow.processes.services import version_definition
from govflow.regions import REGION_FIELD
from govflow.storage import store_once

from .kinds import kind_get
from .models import Letter
from .rendering import LetterContent, letter_render

log = logging.getLogger(__name__)

MAX_TITLE = 200
MAX_PARAGRAPHS = 50
MAX_PARAGRAPH = 4000
MAX_LEGAL_BASIS = 2000


def _clean_text(value, *, what: str, limit: int, required: bool) -> str:
    text = " ".join(str(value or "").split())
    if required and not text:
        raise InvalidInput(f"the letter's {what} is empty", code="letter_invalid")
    if len(text) > limit:
        raise InvalidInput(f"the letter's {what} is longer than {limit} characters", code="letter_invalid")
    return text


def _clean_paragraphs(paragraphs) -> list[str]:
    if isinstance(paragraphs, str):
        paragraphs = [paragraphs]
    cleaned = [
        _clean_text(p, what="paragraph", limit=MAX_PARAGRAPH, required=False) for p in (paragraphs or [])
    ]
    cleaned = [p for p in cleaned if p]
    if not cleaned:
        raise InvalidInput("a letter needs at least one paragraph of text", code="letter_invalid")
    if len(cleaned) > MAX_PARAGRAPHS:
        raise InvalidInput(f"a letter has at most {MAX_PARAGRAPHS} paragraphs", code="letter_invalid")
    return cleaned


def letter_department(*, case: Case, department: Department | str | None = None) -> Department:
    """The issuing department: the one given (a Department or its code);
    else the department of the case's latest review or signature task; else
    the first department the template's reviews name."""
    if isinstance(department, Department):
        return department
    if department:
        found = Department.objects.filter(code=department).first()
        if found is None:
            raise InvalidInput(f"unknown department {department!r}", code="letter_invalid")
        return found
    task = (
        Task.objects.filter(case=case, kind__in=("review", "signature"), department__isnull=False)
        .select_related("department")
        .order_by("-created_at", "-id")
        .first()
    )
    if task is not None:
        return task.department

    for node in version_definition(case.version).user_tasks():
        for code in node_departments(node):
            found = Department.objects.filter(code=code).first()
            if found is not None:
                return found
    raise InvalidInput(f"case {case.reference} has no department to issue a letter", code="letter_invalid")


def _issuer_name(department: Department, case: Case) -> str:
    try:
        return authority_name(department, (case.data or {}).get(REGION_FIELD))
    except InvalidInput:  # an unknown region code: the department's own name, never no letter
        log.warning(
            "letter for case %s: unknown region, the department's bare name is printed", case.reference
        )
        return department.name_zh


def _signer(department: Department):
    try:
        return signer_for(department.code)
    except ConfigurationError:
        # The notice must reach the applicant even where keys are not set up
        # yet: it is sealed and stored, but not signed (the row says so).
        log.warning("letter of %s not signed: the department has no signing key", department.code)
        return None


def _notify(letter: Letter, case: Case, now: datetime) -> None:
    link = f"{settings.GOVFLOW_PUBLIC_BASE_URL}/cases/{case.reference}/"
    notification_send(
        key=f"letter:{letter.number}",
        kind=NotificationKind.LETTER_ISSUED,
        users=[case.applicant],
        subject=f"书面告知：{letter.title} / Written notice: {letter.kind_title_en}",
        body=(
            f"{case.reference} · {letter.issuer_name}\n{letter.title}（{letter.number}）\n"
            f"{letter.body}\n\n{link}\n"
        ),
        case_id=case.pk,
        now=now,
    )


def letter_issue(
    *,
    case: Case,
    kind: str,
    title: str,
    paragraphs: list[str] | str,
    legal_basis: str,
    department: Department | str | None = None,
    actor=None,
    now: datetime | None = None,
    task: Task | None = None,
    key: str = "",
    addressee: str | None = None,
) -> Letter:
    """Issue a written letter to the case's applicant and return it.

    - `kind`: a code of govflow.letters.kinds.KINDS ("extension",
      "excluded_time", "refusal_to_accept", ...); it picks the letters of
      the number (MR-YQ-2026-000001).
    - `title`: the heading printed (延长审批期限告知书); `paragraphs`: the
      body, one string per paragraph, plain text (escaped, never markup);
      `legal_basis`: the articles relied on, printed under the body.
    - `department`: the issuing department (a Department or its code);
      None: the case's latest reviewing department (`letter_department`).
      Its full name with the case's district is printed and on the seal.
    - `actor`: who issued it (None for the system); `task`: the step it is
      about, if any; `key`: makes the call idempotent (a second call with
      the same key returns the first letter); `addressee`: whom it is
      addressed to, by default the company or the applicant's name.

    Runs in one transaction (the caller's, if open): the PDF is stored
    before the row commits (a rollback leaves an orphan file the storage
    sweep removes). Raises InvalidInput (code `letter_invalid` or
    `unknown_letter_kind`) for bad input.
    """
    now = now or timezone.now()
    if key:
        existing = Letter.objects.filter(key=key).first()
        if existing is not None:
            return existing
    letter_kind = kind_get(kind)
    title = _clean_text(title or letter_kind.title_zh, what="title", limit=MAX_TITLE, required=True)
    texts = _clean_paragraphs(paragraphs)
    basis = _clean_text(legal_basis, what="legal basis", limit=MAX_LEGAL_BASIS, required=False)
    issuing = letter_department(case=case, department=department)
    issuer_name = _issuer_name(issuing, case)
    if addressee is None:
        addressee = (
            certificate_holder(case) or case.applicant.get_full_name() or case.applicant.get_username()
        )
    addressee = _clean_text(addressee, what="addressee", limit=200, required=False)
    signer = _signer(issuing)

    definition = version_definition(case.version)
    with transaction.atomic():
        year = timezone.localtime(now).year
        number = next_number(f"{number_prefix(issuing.code)}-{letter_kind.mark}", year)
        content = LetterContent(
            number=number,
            kind=letter_kind.code,
            title=title,
            addressee=addressee,
            paragraphs=texts,
            legal_basis=basis,
            issuer_name=issuer_name,
            issued_at=now,
            case_reference=case.reference,
            service_title=definition.title.get("zh") or definition.id,
            signed=signer is not None,
        )
        rendered = letter_render(content)
        pdf = rendered.pdf
        if signer is not None:
            started = time.perf_counter()
            pdf = signer.sign(pdf, reason=f"{title} {number}", location=issuer_name)
            log.debug("letter %s signed in %d ms", number, round((time.perf_counter() - started) * 1000))
        digest = hashlib.sha256(pdf).hexdigest()
        name = f"letters/{year}/{number}-{digest[:16]}.pdf"
        store_once(Letter._meta.get_field("file").storage, name, pdf)
        letter = Letter.objects.create(
            number=number,
            key=key,
            case=case,
            kind=letter_kind.code,
            task=task,
            title=title,
            addressee=addressee,
            paragraphs=texts,
            legal_basis=basis,
            department=issuing,
            issuer_name=issuer_name[:200],
            issued_at=now,
            issued_by=actor if getattr(actor, "pk", None) else None,
            file=name,
            sha256=digest,
            size=len(pdf),
            signer_fingerprint=signer.fingerprint if signer is not None else "",
            signature_format=signer.format if signer is not None else "",
        )
        audit_write(
            [
                PendingAudit(
                    action=Action.LETTER_ISSUED,
                    at=now,
                    actor_id=getattr(actor, "pk", None),
                    object_type="letter",
                    object_id=number,
                    case_id=case.pk,
                    data={
                        "kind": letter_kind.code,
                        "title": title,
                        "department": issuing.code,
                        "task": task.engine_id if task is not None else None,
                        "sha256": digest,
                        "signed": signer is not None,
                    },
                )
            ]
        )
        _notify(letter, case, now)
    return letter
