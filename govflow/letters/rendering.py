"""A letter's content to PDF bytes: the HTML from templates/letters/letter.html
(autoescaped: every text is text), the department's seal as inline SVG
(govflow.certificates.artwork) and the same sandboxed renderer child as the
certificates (govflow.certificates.rendering.html_to_pdf)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from govflow.certificates.artwork import seal_svg
from govflow.certificates.content import DEFAULT_SEAL_LINE, date_cn
from govflow.certificates.rendering import RenderResult, html_to_pdf


@dataclass(frozen=True)
class LetterContent:
    number: str
    kind: str
    title: str
    addressee: str
    paragraphs: list[str]
    legal_basis: str
    issuer_name: str
    issued_at: datetime
    case_reference: str
    service_title: str = ""
    signed: bool = True
    seal_line: str = DEFAULT_SEAL_LINE
    extra: dict = field(default_factory=dict)

    @property
    def date_cn(self) -> str:
        return date_cn(self.issued_at)


def letter_html(content: LetterContent) -> str:
    return render_to_string(
        "letters/letter.html",
        {"l": content, "seal": mark_safe(seal_svg(content.issuer_name, content.seal_line))},
    )


def letter_render(content: LetterContent, *, timeout: float | None = None) -> RenderResult:
    return html_to_pdf(letter_html(content), timeout=timeout)
