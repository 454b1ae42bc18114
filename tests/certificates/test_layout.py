"""The layout of issued certificates, read off the rendered PDF: the red
seal stamps the issuer's block and never covers the verification footnote
(the line that tells a reader how to check the certificate)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from govflow.certificates.models import Certificate

from .conftest import certificate_path, save_artifact, to_png

pytestmark = pytest.mark.django_db

DPI = 72  # one pixel per PDF point: pdftotext's boxes are in points
_LINE = re.compile(
    r'<line xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</line>', re.S
)
_WORD = re.compile(r"<word [^>]*>(.*?)</word>")


def footnote_box(pdf: Path) -> tuple[float, float, float, float]:
    """The box around the verification footnote, in points from the page's
    top left: the line that says the document is electronically signed and
    every line below it that starts at the same left edge (its wrapped
    verification address, the case number), not the seal's own text."""
    layout = subprocess.run(
        ["pdftotext", "-bbox-layout", "-f", "1", "-l", "1", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    lines = [
        (tuple(float(v) for v in found.groups()[:4]), "".join(_WORD.findall(found.group(5))))
        for found in _LINE.finditer(layout)
    ]
    first = [box for box, text in lines if "电子签名" in text]
    assert first, "no verification footnote found on the first page"
    left, top = first[0][0], first[0][1]
    boxes = [box for box, _text in lines if abs(box[0] - left) < 2 and box[1] >= top - 1]
    assert any("verify" in text for box, text in lines if box in boxes), "the footnote has no address"
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def red_pixels(png: Path, box: tuple[float, float, float, float] | None = None) -> int:
    """Pixels of the seal's red (the text is black or grey, the frame brown)."""
    image = Image.open(png).convert("RGB")
    if box is not None:
        image = image.crop(tuple(round(v) for v in box))
    return sum(1 for r, g, b in image.get_flattened_data() if r > 150 and g < 110 and b < 110)


def test_the_seal_never_covers_the_verification_footnote(business_case, review_case, tmp_path):
    certificates = list(Certificate.objects.filter(case__in=[business_case, review_case]).order_by("type"))
    # the 2019-format licence, and two certificates of the shared layout
    assert {c.type for c in certificates} >= {"business_licence", "seal_filing", "test_licence"}
    for certificate in certificates:
        pdf = save_artifact(certificate, f"layout_{certificate.type}")
        png = to_png(certificate_path(certificate), tmp_path / certificate.type, dpi=DPI)
        assert red_pixels(png) > 500, f"{certificate.type}: no seal found, so the check below proves nothing"
        box = footnote_box(pdf)
        assert red_pixels(png, box) == 0, f"{certificate.type}: the seal covers the footnote at {box}"
