"""Small, well-formed PDFs written byte by byte (a classic cross-reference
table with the right offsets), so that a test says exactly what is in the
file: qpdf opens them without repairing anything."""

from __future__ import annotations

PAGES = (
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
)


def build_pdf(*objects: bytes, trailer: bytes = b"", version: bytes = b"1.4") -> bytes:
    """A PDF whose object n is objects[n - 1] (object 1 is the root)."""
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer,
        xref,
    )
    return bytes(out)


def one_page_pdf(catalog_extra: bytes = b"", *more: bytes) -> bytes:
    """A blank A4 page; `catalog_extra` goes into the catalog, `more` are
    objects 4, 5 ... that it may refer to."""
    return build_pdf(b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>", *PAGES, *more)


PDF_BYTES = one_page_pdf()
