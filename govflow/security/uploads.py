"""Content checks on an uploaded file beyond its sniffed type.

- ZIP and the formats built on it (docx, xlsx): the archive must open, hold
  at most GOVFLOW_ARCHIVE_MAX_ENTRIES entries, none of them encrypted, a
  link, an absolute path or a path with `..`, no nested archive, no macros
  (a VBA project, ActiveX controls, a macro-enabled content type), and
  unpack (really decompressed, not the sizes the archive claims) to at most
  GOVFLOW_ARCHIVE_MAX_UNPACKED_MB with no entry inflating more than
  GOVFLOW_ARCHIVE_MAX_RATIO times (a zip bomb).
- Every other type: no markup a browser would run near its start, and no
  archive anywhere in it (a polyglot): every ZIP end-of-archive record whose
  central directory is really there, wherever it lies (behind any amount of
  padding), and RAR and 7-Zip signatures.
- PDFs, images and OLE files (doc, xls) are then opened with a real parser
  (govflow.security.inspector: qpdf, Pillow, olefile) in a child process
  of their own with a memory, CPU and wall-clock limit, forked for that one
  file by a resident inspection server this process starts when it first
  needs it (and again if it has died): a PDF that qpdf cannot read without repairing
  it, that is encrypted, has data after its last %%EOF, or anywhere (object
  streams included, names decoded) a JavaScript, Launch, GoToR/GoToE,
  SubmitForm, ImportData or RichMedia action, XFA or an embedded file is
  refused; an image must decode in full within GOVFLOW_IMAGE_MAX_PIXELS
  pixels; an OLE file may carry no macros, encryption or OLE package.

Each problem is (code, Chinese message, English message) naming the file;
None means fine. Uploads are also served only as attachments with nosniff
and a sandboxing policy, so these checks are a second line.
"""

from __future__ import annotations

import contextlib
import json
import logging
import mmap
import os
import re
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from . import inspector

log = logging.getLogger(__name__)

ZIP_TYPES = frozenset(
    {
        "application/zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
)
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/tiff"})
OLE_TYPES = frozenset({"application/msword", "application/vnd.ms-excel"})
INSPECTOR = Path(inspector.__file__)
NESTED_ARCHIVE = re.compile(r"\.(zip|rar|7z|gz|tgz|bz2|xz|tar|jar|apk|cab|iso)$", re.IGNORECASE)
ACTIVE_MARKUP = re.compile(rb"<\s*(script|html|svg|iframe|object|embed)\b|<!doctype\s+html", re.IGNORECASE)
OFFICE_MACROS = re.compile(r"(^|/)(vbaProject\.bin|vbaData\.xml)$|(^|/)activeX/", re.IGNORECASE)
# Archives other programs find inside a file: RAR 4 and 5, 7-Zip.
ARCHIVE_SIGNATURES = (b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c")
ZIP_END = b"PK\x05\x06"
ZIP_CENTRAL = b"PK\x01\x02"
HEAD_BYTES = 1024
CHUNK = 1 << 16

Problem = tuple[str, str, str]


def _setting(name: str, default):
    return getattr(settings, name, default)


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
        content_types = b""
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
            if OFFICE_MACROS.search(path):
                return _macros(name)
            if entry.is_dir():
                continue
            unpacked = 0
            with archive.open(entry) as member:
                while chunk := member.read(CHUNK):
                    if path == "[Content_Types].xml" and len(content_types) < 1 << 20:
                        content_types += chunk
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
    if b"macroenabled" in content_types.lower():
        return _macros(name)
    return None


def _macros(name: str) -> Problem:
    return (
        "macros",
        f"文件“{name}”中含有宏或控件，请另存为不含宏的文档后再上传。",
        f"The file “{name}” contains macros or controls; save it as a document without macros "
        "and upload it again.",
    )


def _zip_inside(data) -> bool:
    """Whether an archive program would find a ZIP in `data`: an
    end-of-archive record with entries whose central directory really starts
    where the record says (from the file's start, or right before the
    record, as unzip looks when data was put in front)."""
    at = data.rfind(ZIP_END)
    while at >= 0:
        record = data[at : at + 22]
        if len(record) == 22:
            entries = int.from_bytes(record[10:12], "little")
            size = int.from_bytes(record[12:16], "little")
            offset = int.from_bytes(record[16:20], "little")
            starts = {offset, at - size}
            if entries and any(start >= 0 and data[start : start + 4] == ZIP_CENTRAL for start in starts):
                return True
        at = data.rfind(ZIP_END, 0, at)
    return False


def hidden_archive(path: str) -> bool:
    """Whether the file at `path` holds an archive anywhere (a polyglot)."""
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return False
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _zip_inside(data) or any(data.find(signature) >= 0 for signature in ARCHIVE_SIGNATURES)


@contextlib.contextmanager
def _on_disk(upload) -> Iterator[str]:
    """A path to the upload's bytes: Django's temporary file for a large
    upload, else a private temporary copy."""
    temporary = getattr(upload, "temporary_file_path", None)
    if temporary is not None:
        upload.seek(0)
        yield temporary()
        return
    handle = tempfile.NamedTemporaryFile(prefix="govflow-upload-", delete=False)  # noqa: SIM115
    try:
        with handle:
            upload.seek(0)
            while chunk := upload.read(CHUNK):
                handle.write(chunk)
        yield handle.name
    finally:
        upload.seek(0)
        with contextlib.suppress(OSError):
            os.unlink(handle.name)


class _Server:
    """The inspection server of this process: `python -I inspector.py
    --serve`, reached over a Unix datagram socket."""

    def __init__(self, python: str, script: Path):
        self.key = (os.getpid(), python, str(script))
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = subprocess.Popen(
                [python, "-I", str(script), "--serve"],
                stdin=theirs,
                stdout=subprocess.DEVNULL,
                close_fds=True,
            )
        except OSError:
            self.control.close()
            raise
        finally:
            theirs.close()

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        self.control.close()  # the server's end reads end-of-file and it exits
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=1)


_server: _Server | None = None
_server_lock = threading.Lock()


def _send(request: bytes, reply: socket.socket) -> _Server | None:
    """Hand the request and the socket to answer on to this process's
    inspection server, starting it (or replacing a dead one) first."""
    global _server
    python = _setting("GOVFLOW_UPLOAD_CHECK_PYTHON", "") or sys.executable
    with _server_lock:
        for _attempt in range(2):
            server = _server
            if server is not None and (
                server.key != (os.getpid(), python, str(INSPECTOR)) or not server.alive()
            ):
                if server.key[0] == os.getpid():
                    server.stop()
                server = _server = None  # a forked process starts its own
            if server is None:
                try:
                    server = _server = _Server(python, INSPECTOR)
                except OSError:
                    log.exception("the upload inspection server could not start")
                    return None
            try:
                socket.send_fds(server.control, [request], [reply.fileno()])
                return server
            except OSError:
                log.warning("the upload inspection server is gone; starting another")
                server.stop()
                _server = None
    return None


def _ask(kind: str, limits: dict, path: str) -> tuple[bytes, _Server | None]:
    """The child's answer (empty if it gave none) and the server that forked it."""
    request = json.dumps({"kind": kind, "limits": limits, "path": os.path.abspath(path)}).encode()
    ours, theirs = socket.socketpair()
    with ours:
        try:
            server = _send(request, theirs)
        finally:
            theirs.close()  # only the server and then the child hold it now: their end is our end-of-file
        if server is None:
            return b"", None
        # The child's alarm ends it at the wall-clock limit; this waits a little longer.
        ours.settimeout(inspector.wall_seconds(limits) + 5)
        answer = b""
        while chunk := ours.recv(CHUNK):
            answer += chunk
        return answer, server


def _died(server: _Server) -> bool:
    """Whether the server itself ended (killed between taking a request and
    forking its child), rather than the child: the server's descriptors close
    as it exits, a moment before it can be waited for."""
    try:
        server.process.wait(timeout=0.2)
    except subprocess.TimeoutExpired:
        return False
    return True


def inspection_server_pid() -> int | None:
    """The pid of this process's inspection server, if one is running."""
    server = _server
    return (
        server.process.pid if server is not None and server.key[0] == os.getpid() and server.alive() else None
    )


def inspect(kind: str, path: str) -> list[str]:
    """The inspector's findings for the file at `path`; ["unchecked"] when it
    ran out of time, memory or its CPU limit, or crashed."""
    limits = {
        "max_pixels": int(_setting("GOVFLOW_IMAGE_MAX_PIXELS", 100_000_000)),
        "trailing_bytes": int(_setting("GOVFLOW_PDF_MAX_TRAILING_BYTES", 1024)),
        "memory_mb": int(_setting("GOVFLOW_UPLOAD_CHECK_MEMORY_MB", 1024)),
        "cpu_seconds": int(_setting("GOVFLOW_UPLOAD_CHECK_SECONDS", 30)),
    }
    if not _setting("GOVFLOW_UPLOAD_CHECK_ISOLATED", True):
        return inspector.findings(kind, path, limits)
    for _attempt in range(2):
        try:
            answer, server = _ask(kind, limits, path)
        except TimeoutError:
            log.warning("upload check of a %s file timed out", kind)
            return ["unchecked"]
        if answer or server is None or not _died(server):
            break
    try:
        found = json.loads(answer)
    except ValueError:
        log.warning(
            "upload check of a %s file ended without an answer (the parser crashed or was stopped)", kind
        )
        return ["unchecked"]
    return [str(code) for code in found] if isinstance(found, list) else ["unchecked"]


# What each finding of the inspector means, for the applicant; {name} is the file's.
FINDINGS: dict[str, tuple[str, str]] = {
    "damaged": (
        "文件“{name}”无法按标准格式读取（文件结构或交叉引用表已损坏），请重新导出或另存后再上传。",
        "The file “{name}” cannot be read as a standard file (its structure or cross-reference "
        "table is damaged); export or save it again and upload it.",
    ),
    "image:damaged": (
        "图片“{name}”无法读取，可能已损坏。",
        "The image “{name}” cannot be read; it may be damaged.",
    ),
    "ole:damaged": (
        "文件“{name}”无法作为 Office 文档读取，可能已损坏。",
        "The file “{name}” cannot be read as an Office document; it may be damaged.",
    ),
    "encrypted": (
        "文件“{name}”已加密或设有密码，无法检查，请去除密码后再上传。",
        "The file “{name}” is encrypted or password-protected and cannot be checked; remove the "
        "password and upload it again.",
    ),
    "javascript": (
        "PDF 文件“{name}”中含有脚本（JavaScript 或 XFA 表单），请另存为普通 PDF 后再上传。",
        "The PDF “{name}” contains scripts (JavaScript or XFA forms); save it as a plain PDF and "
        "upload it again.",
    ),
    "launch": (
        "PDF 文件“{name}”中含有启动程序或打开其他文件的动作，已拒绝。",
        "The PDF “{name}” contains an action that launches a program or opens another file; it was refused.",
    ),
    "embedded_file": (
        "PDF 文件“{name}”中含有嵌入文件或附件，请将其作为单独的文件上传。",
        "The PDF “{name}” contains embedded files or attachments; upload them as separate files.",
    ),
    "rich_media": (
        "PDF 文件“{name}”中含有多媒体（富媒体）内容，已拒绝。",
        "The PDF “{name}” contains rich media (Flash or video players); it was refused.",
    ),
    "submit_form": (
        "PDF 文件“{name}”中含有向外提交表单数据的动作，已拒绝。",
        "The PDF “{name}” contains an action that submits form data elsewhere; it was refused.",
    ),
    "import_data": (
        "PDF 文件“{name}”中含有导入外部数据的动作，已拒绝。",
        "The PDF “{name}” contains an action that imports outside data; it was refused.",
    ),
    "trailing_data": (
        "文件“{name}”在 PDF 结束标记之后还有数据（可能夹带了其他文件），已拒绝。",
        "The file “{name}” has data after the end of the PDF (another file may be hidden in it); "
        "it was refused.",
    ),
    "too_large": (
        "图片“{name}”的尺寸过大。",
        "The image “{name}” is too large (more than {pixels:,} pixels).",
    ),
    "macros": (
        "文件“{name}”中含有宏，请另存为不含宏的文档后再上传。",
        "The file “{name}” contains macros; save it as a document without macros and upload it again.",
    ),
    "embedded_object": (
        "文件“{name}”中嵌入了可执行的对象（OLE 程序包），已拒绝。",
        "The file “{name}” embeds an object package that can run programs; it was refused.",
    ),
    "unchecked": (
        "文件“{name}”无法在限定的时间和内存内完成安全检查，已拒绝。",
        "The file “{name}” could not be checked within the time and memory allowed; it was refused.",
    ),
}


def finding_problem(kind: str, code: str, name: str) -> Problem:
    zh, en = FINDINGS.get(f"{kind}:{code}") or FINDINGS.get(code) or FINDINGS["unchecked"]
    pixels = int(_setting("GOVFLOW_IMAGE_MAX_PIXELS", 100_000_000))
    return ("content", zh.format(name=name, pixels=pixels), en.format(name=name, pixels=pixels))


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
    kind = (
        "pdf"
        if content_type == "application/pdf"
        else "image"
        if content_type in IMAGE_TYPES
        else "ole"
        if content_type in OLE_TYPES
        else None
    )
    with _on_disk(upload) as path:
        if hidden_archive(path):
            return (
                "content",
                f"文件“{name}”中藏有压缩包（伪装文件），已拒绝。",
                f"The file “{name}” has an archive hidden inside it and was refused.",
            )
        found = inspect(kind, path) if kind else []
    return finding_problem(kind or "", found[0], name) if found else None
