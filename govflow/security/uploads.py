"""Content checks on an uploaded file beyond its sniffed type.

- ZIP and the formats built on it (docx, xlsx): the archive must open, hold
  at most GOVFLOW_ARCHIVE_MAX_ENTRIES entries, none of them encrypted, a
  link, an absolute path or a path with `..`, no nested archive, and unpack
  (really decompressed, not the sizes the archive claims) to at most
  GOVFLOW_ARCHIVE_MAX_UNPACKED_MB with no entry inflating more than
  GOVFLOW_ARCHIVE_MAX_RATIO times (a zip bomb).
- Every other type: no ZIP archive hidden in it (a polyglot), no markup a
  browser would run near its start; a PDF with JavaScript or a launch
  action is refused; an image may have at most GOVFLOW_IMAGE_MAX_PIXELS
  pixels (a decompression bomb).

Each problem is (code, Chinese message, English message); None means fine.
Uploads are also served only as attachments with nosniff and a sandboxing
policy, so these checks are a second line.
"""

from __future__ import annotations

import re
import stat
import warnings
import zipfile

from django.conf import settings

ZIP_TYPES = frozenset(
    {
        "application/zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
)
IMAGE_TYPES = frozenset({"image/png", "image/jpeg"})
NESTED_ARCHIVE = re.compile(r"\.(zip|rar|7z|gz|tgz|bz2|xz|tar|jar|apk|cab|iso)$", re.IGNORECASE)
ACTIVE_MARKUP = re.compile(rb"<\s*(script|html|svg|iframe|object|embed)\b|<!doctype\s+html", re.IGNORECASE)
PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile)\b")
HEAD_BYTES = 1024
CHUNK = 1 << 16

Problem = tuple[str, str, str]


def _setting(name: str, default):
    return getattr(settings, name, default)


def _read_all(upload) -> bytes | None:
    """The whole file, for the small formats scanned in full."""
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    return data


def archive_problem(upload, name: str) -> Problem | None:
    max_entries = int(_setting("GOVFLOW_ARCHIVE_MAX_ENTRIES", 1000))
    max_unpacked = int(float(_setting("GOVFLOW_ARCHIVE_MAX_UNPACKED_MB", 100)) * 1024 * 1024)
    max_ratio = float(_setting("GOVFLOW_ARCHIVE_MAX_RATIO", 100))
    upload.seek(0)
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, OSError, ValueError):
        return (
            "archive",
            f"文件“{name}”无法作为压缩包打开，可能已损坏。",
            f"The file “{name}” is not a readable archive.",
        )
    try:
        entries = archive.infolist()
        if len(entries) > max_entries:
            return (
                "archive",
                f"文件“{name}”包含 {len(entries)} 个文件，超过了 {max_entries} 个的上限。",
                f"The file “{name}” holds {len(entries)} files; the limit is {max_entries}.",
            )
        total = 0
        for entry in entries:
            path = entry.filename.replace("\\", "/")
            mode = entry.external_attr >> 16
            if (
                path.startswith("/")
                or re.match(r"^[A-Za-z]:", path)
                or ".." in path.split("/")
                or "\x00" in path
            ):
                return (
                    "archive",
                    f"文件“{name}”中含有指向压缩包以外位置的路径，已拒绝。",
                    f"The file “{name}” contains a path that points outside the archive.",
                )
            if stat.S_ISLNK(mode):
                return (
                    "archive",
                    f"文件“{name}”中含有链接文件，已拒绝。",
                    f"The file “{name}” contains a link.",
                )
            if entry.flag_bits & 0x1:
                return (
                    "archive",
                    f"文件“{name}”中含有加密的文件，无法检查，已拒绝。",
                    f"The file “{name}” contains encrypted files, which cannot be checked.",
                )
            if NESTED_ARCHIVE.search(path):
                return (
                    "archive",
                    f"文件“{name}”中含有嵌套的压缩包，请解压后分别上传。",
                    f"The file “{name}” contains another archive; unpack it and upload the files.",
                )
            if entry.is_dir():
                continue
            unpacked = 0
            with archive.open(entry) as member:
                while chunk := member.read(CHUNK):
                    unpacked += len(chunk)
                    total += len(chunk)
                    if total > max_unpacked or unpacked > max(entry.compress_size, 1) * max_ratio + CHUNK:
                        return (
                            "archive",
                            f"文件“{name}”解压后异常巨大（疑似压缩炸弹），已拒绝。",
                            f"The file “{name}” unpacks to far more than its size (an archive bomb).",
                        )
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError, EOFError):
        return (
            "archive",
            f"文件“{name}”中有无法读取的内容，可能已损坏。",
            f"Part of the file “{name}” cannot be read.",
        )
    finally:
        archive.close()
        upload.seek(0)
    return None


def _image_problem(upload, name: str) -> Problem | None:
    from PIL import Image, UnidentifiedImageError

    limit = int(_setting("GOVFLOW_IMAGE_MAX_PIXELS", 100_000_000))
    upload.seek(0)
    too_large = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(upload) as image:  # reads the header only
                width, height = image.size
    except Image.DecompressionBombError:
        too_large, width, height = True, 0, 0
    except (UnidentifiedImageError, OSError, ValueError):
        return ("content", f"图片“{name}”无法读取，可能已损坏。", f"The image “{name}” cannot be read.")
    finally:
        upload.seek(0)
    if too_large or width * height > limit:
        return (
            "content",
            f"图片“{name}”的尺寸过大。",
            f"The image “{name}” is too large (more than {limit:,} pixels).",
        )
    return None


def content_problem(upload, content_type: str, name: str) -> Problem | None:
    """Whatever makes an upload of this sniffed type unsafe, or None."""
    if content_type in ZIP_TYPES:
        return archive_problem(upload, name)
    upload.seek(0)
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    if ACTIVE_MARKUP.search(head):
        return (
            "content",
            f"文件“{name}”中含有网页代码，已拒绝。",
            f"The file “{name}” contains web page code and was refused.",
        )
    try:
        hidden_archive = zipfile.is_zipfile(upload)
    finally:
        upload.seek(0)
    if hidden_archive:
        return (
            "content",
            f"文件“{name}”中藏有压缩包（伪装文件），已拒绝。",
            f"The file “{name}” has an archive hidden inside it and was refused.",
        )
    if content_type == "application/pdf":
        data = _read_all(upload) or b""
        if PDF_ACTIVE.search(data):
            return (
                "content",
                f"PDF 文件“{name}”中含有脚本或嵌入文件，请另存为普通 PDF 后再上传。",
                f"The PDF “{name}” contains scripts or embedded files; "
                "save it as a plain PDF and upload it again.",
            )
    if content_type in IMAGE_TYPES:
        return _image_problem(upload, name)
    return None
