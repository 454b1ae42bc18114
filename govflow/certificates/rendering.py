"""From a certificate's content to PDF bytes: the HTML comes from the type's
template in templates/certificates/ (Django's autoescaping: a field value is
always text, never markup), the seal and the QR code are inline SVG, and the
PDF is made by the renderer child (govflow.certificates.pdfworker) whose URL
fetcher reads nothing but static/certificates/."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from .artwork import qr_svg, seal_svg
from .content import CertificateContent
from .pdfworker import renderer


@dataclass(frozen=True)
class RenderResult:
    pdf: bytes
    ms: int
    refused: tuple[str, ...]
    cpu_ms: int = 0  # the renderer child's CPU time


def assets_dir() -> Path:
    return Path(settings.BASE_DIR) / "static" / "certificates"


def verify_url(number: str) -> str:
    base = settings.GOVFLOW_PUBLIC_BASE_URL.rstrip("/")
    return base + reverse("certificates:verify_number", args=[number])


def certificate_html(content: CertificateContent) -> str:
    return render_to_string(
        [content.template_name, "certificates/generic.html"],
        {
            "c": content,
            "seal": mark_safe(seal_svg(content.department_name, content.seal_line)),
            "qr": mark_safe(qr_svg(content.verify_url)),
        },
    )


def html_to_pdf(html: str, *, timeout: float | None = None) -> RenderResult:
    """Render HTML with the allow-listed fetcher and a timeout (RenderTimeout)."""
    started = time.perf_counter()
    folder = assets_dir()
    result = renderer([folder]).render(
        html,
        base_url=folder.as_uri() + "/",
        timeout=timeout if timeout is not None else settings.GOVFLOW_CERTIFICATE_RENDER_TIMEOUT,
    )
    return RenderResult(
        result.pdf, round((time.perf_counter() - started) * 1000), result.refused, result.cpu_ms
    )


def certificate_render(content: CertificateContent, *, timeout: float | None = None) -> RenderResult:
    started = time.perf_counter()
    html = certificate_html(content)
    result = html_to_pdf(html, timeout=timeout)
    return RenderResult(
        result.pdf, round((time.perf_counter() - started) * 1000), result.refused, result.cpu_ms
    )
