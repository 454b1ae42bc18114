"""Opens an uploaded PDF, image or OLE (doc, xls) file with a real parser and
says what makes it unsafe. No Django: the parsers never run in the web
process, so that a decompression bomb or a parser crash costs a refused
upload and never a request worker. govflow.security.uploads starts this file
once per web process as a resident server (`python -I inspector.py --serve`,
its control socket on stdin), which loads the parsers and then forks one
fresh child per file: the child sets its memory and CPU limits and a
wall-clock alarm, opens the file, writes its findings to a socket the web
process handed over with the request, and exits. The server itself never
opens a file, so nothing a file does outlives that file's child, and
starting a child costs a fork (a millisecond or two) instead of an
interpreter start and the parsers' imports (about 80 ms).
`python inspector.py KIND LIMITS PATH` checks one file in the foreground;
the functions are also importable.

A finding is a short code (the parent turns it into a message):

- PDF (qpdf through pikepdf): `damaged` (qpdf cannot read it without
  repairing it: a broken or missing cross-reference table), `encrypted`,
  `javascript` (a JavaScript action, a /JS or /JavaScript entry anywhere,
  XFA forms), `launch` (Launch, GoToR and GoToE actions), `embedded_file`
  (embedded files, file attachment annotations), `rich_media`,
  `submit_form`, `import_data`, `trailing_data` (more than
  `trailing_bytes` after the last %%EOF). Every object is walked, those in
  compressed object streams too, with names as qpdf decodes them (so
  `/J#61vaScript` is `/JavaScript`).
- images (Pillow): `damaged`, `too_large` (more pixels than allowed, the
  decompression-bomb check); the whole image is decoded.
- OLE: `damaged`, `macros` (a VBA project), `encrypted`, `embedded_object`
  (an OLE package, the classic carrier of executables).
"""

from __future__ import annotations

import errno
import json
import mmap
import os
import resource
import signal
import socket
import sys
import traceback
import warnings

# Action types (/S) refused wherever they appear, and the finding each gives.
PDF_ACTIONS = {
    "/JavaScript": "javascript",
    "/Launch": "launch",
    "/GoToR": "launch",
    "/GoToE": "launch",
    "/SubmitForm": "submit_form",
    "/ImportData": "import_data",
    "/RichMediaExecute": "rich_media",
}
# Dictionary keys refused wherever they appear.
PDF_KEYS = {
    "/JS": "javascript",
    "/JavaScript": "javascript",  # the document's JavaScript name tree
    "/XFA": "javascript",  # XML forms carry their own scripts
    "/EmbeddedFiles": "embedded_file",
    "/EF": "embedded_file",
    "/RichMediaContent": "rich_media",
    "/RichMediaSettings": "rich_media",
}
PDF_TYPES = {
    "/EmbeddedFile": "embedded_file",
    "/FileAttachment": "embedded_file",
    "/RichMedia": "rich_media",
}
OLE_MACROS = {"macros", "_vba_project_cur", "_vba_project", "vba", "projectwm"}
OLE_ENCRYPTED = {"encryptioninfo", "encryptedpackage"}
OLE_PACKAGES = {"\x01ole10native"}


def pdf_findings(path: str, *, trailing_bytes: int = 1024) -> list[str]:
    """Every distinct finding in the PDF at `path`, in the order met."""
    import pikepdf  # noqa: PLC0415 - parsers load in the inspector server, never in the web process

    found: list[str] = []

    def add(code: str) -> None:
        if code not in found:
            found.append(code)

    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            end = data.rfind(b"%%EOF")
            after = len(data) - (end + 5)
    except OSError as error:
        if error.errno == errno.ENOMEM:  # the memory limit, not the file
            raise MemoryError from error
        return ["damaged"]
    except ValueError:  # an empty file cannot be mapped
        return ["damaged"]
    if end < 0:
        return ["damaged"]
    if after > trailing_bytes:
        add("trailing_data")
    try:
        pdf = pikepdf.open(path, attempt_recovery=False)
    except pikepdf.PasswordError:
        return [*found, "encrypted"]
    except (pikepdf.PdfError, ValueError, RuntimeError, OverflowError, RecursionError):
        return [*found, "damaged"]
    with pdf:
        if pdf.is_encrypted:
            add("encrypted")
        try:
            for obj in pdf.objects:
                _walk_pdf_object(obj, add)
        except (pikepdf.PdfError, ValueError, RuntimeError, OverflowError, RecursionError):
            add("damaged")
    return found


def _walk_pdf_object(root, add) -> None:
    """Look at one indirect object and every direct object inside it; other
    indirect objects it refers to are visited in their own turn."""
    import pikepdf  # noqa: PLC0415 - parsers load in the inspector server, never in the web process

    containers = (pikepdf.Dictionary, pikepdf.Stream, pikepdf.Array)
    stack = [root]
    while stack:
        obj = stack.pop()
        if isinstance(obj, pikepdf.Array):
            stack.extend(item for item in obj if isinstance(item, containers) and not item.is_indirect)
            continue
        if not isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
            continue
        for key in list(obj.keys()):
            value = obj.get(key)
            if key in PDF_KEYS:
                add(PDF_KEYS[key])
            if isinstance(value, pikepdf.Name):
                name = str(value)
                if key == "/S" and name in PDF_ACTIONS:
                    add(PDF_ACTIONS[name])
                elif key in ("/Type", "/Subtype") and name in PDF_TYPES:
                    add(PDF_TYPES[name])
            elif isinstance(value, containers) and not value.is_indirect:
                stack.append(value)


def image_findings(path: str, *, max_pixels: int) -> list[str]:
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415 - parsers load in the inspector server, never in the web process

    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                if width * height > max_pixels:
                    return ["too_large"]
                image.load()  # decodes every pixel: a truncated or corrupt image fails here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return ["too_large"]
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, MemoryError):
        return ["damaged"]
    return []


def ole_findings(path: str) -> list[str]:
    import olefile  # noqa: PLC0415 - parsers load in the inspector server, never in the web process

    found: list[str] = []
    try:
        with olefile.OleFileIO(path) as ole:
            entries = ole.listdir(streams=True, storages=True)
    except (OSError, ValueError, IndexError, KeyError, TypeError, RecursionError):
        return ["damaged"]
    for entry in entries:
        parts = {part.lower() for part in entry}
        for code, names in (
            ("macros", OLE_MACROS),
            ("encrypted", OLE_ENCRYPTED),
            ("embedded_object", OLE_PACKAGES),
        ):
            if parts & names and code not in found:
                found.append(code)
    return found


def findings(kind: str, path: str, limits: dict) -> list[str]:
    if kind == "pdf":
        return pdf_findings(path, trailing_bytes=int(limits.get("trailing_bytes", 1024)))
    if kind == "image":
        return image_findings(path, max_pixels=int(limits.get("max_pixels", 100_000_000)))
    if kind == "ole":
        return ole_findings(path)
    raise ValueError(f"unknown kind {kind!r}")


def _limit_resources(memory_mb: int, cpu_seconds: int) -> None:
    if memory_mb > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 1024 * 1024,) * 2)
    if cpu_seconds > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))


def wall_seconds(limits: dict) -> int:
    """How long a check may take on the clock (a file stuck waiting uses no
    CPU): twice its CPU allowance and five seconds."""
    return int(limits.get("cpu_seconds", 0)) * 2 + 5


def limited_findings(kind: str, path: str, limits: dict) -> list[str]:
    """findings() under the limits: for a fresh process, which keeps them."""
    _limit_resources(int(limits.get("memory_mb", 0)), int(limits.get("cpu_seconds", 0)))
    try:
        return findings(kind, path, limits)
    except MemoryError:
        return ["too_large"] if kind == "image" else ["unchecked"]


def _check_in_child(request: dict, reply: int) -> None:
    """In a freshly forked child: the alarm's default action ends the process
    however deep in a parser it is stuck."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    limits = request["limits"]
    signal.alarm(wall_seconds(limits))
    answer = json.dumps(limited_findings(str(request["kind"]), str(request["path"]), limits)).encode()
    while answer:
        answer = answer[os.write(reply, answer) :]


def serve(control: socket.socket) -> int:
    """Answer requests from the web process until it closes the control
    socket (or exits). A request is one JSON datagram {kind, limits, path}
    carrying the descriptor to answer on; each is checked in its own child,
    which the kernel reaps (SIGCHLD ignored)."""
    # Loaded once here, inherited by every child.
    import olefile  # noqa: F401, PLC0415 - parsers load in the inspector server, never in the web process
    import pikepdf  # noqa: F401, PLC0415 - parsers load in the inspector server, never in the web process
    from PIL import Image  # noqa: PLC0415 - parsers load in the inspector server, never in the web process

    Image.init()  # every image plugin, so a child need not import one
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        try:
            message, fds, _flags, _address = socket.recv_fds(control, 1 << 16, 1)
        except ConnectionError:
            return 0
        if not message and not fds:
            return 0  # the web process closed its end
        if not fds:
            continue
        reply = fds[0]
        for extra in fds[1:]:
            os.close(extra)
        try:
            request = json.loads(message)
            pid = os.fork()
        except (ValueError, OSError):
            os.close(reply)  # the requester reads an end without an answer: unchecked
            continue
        if pid == 0:
            status = 1
            try:
                control.close()
                _check_in_child(request, reply)
                status = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(status)
        os.close(reply)


def main(argv: list[str]) -> int:
    if argv == ["--serve"]:
        return serve(socket.socket(fileno=sys.stdin.fileno()))
    kind, limits_json, path = argv
    sys.stdout.write(json.dumps(limited_findings(kind, path, json.loads(limits_json))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
