"""The commitment document (承诺书): rendered to PDF and e-signed.

Kept behind this one function so that the shared written-letters module
(govflow.letters, `letter_issue`) can take it over when it lands; nothing
else in the app knows how the document is made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.template.loader import render_to_string
from django.utils import timezone

from govflow.certificates.rendering import html_to_pdf
from govflow.certificates.signing import signer_for


@dataclass(frozen=True)
class Item:
    label: str
    text: str  # the condition told (告知承诺) or the make-up deadline (容缺)


def commitment_pdf(
    *,
    kind: str,
    title: str,
    reference: str,
    service: str,
    applicant: str,
    items: list[Item],
    department_code: str,
    department_name: str,
    signed_at: datetime,
) -> bytes:
    """The signed commitment as PDF bytes, e-signed with the key of
    `department_code` (the office that receives it). ConfigurationError
    when that department has no signing key."""
    html = render_to_string(
        "commitments/commitment.html",
        {
            "kind": kind,
            "title": title,
            "reference": reference,
            "service": service,
            "applicant": applicant,
            "items": items,
            "department": department_name,
            "signed": timezone.localtime(signed_at),
        },
    )
    pdf = html_to_pdf(html).pdf
    return signer_for(department_code).sign(pdf, reason=f"{title} {reference}", location=department_name)
