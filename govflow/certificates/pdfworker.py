"""HTML to PDF in a child process: the only WeasyPrint import.

Each process that issues certificates keeps one renderer child (a fresh
interpreter, so it shares no threads, locks or database connections with
its parent). The parent waits for each job at most `timeout` seconds and kills
the child when it takes longer: a render timeout that holds in a thread pool
as well as in a prefork worker. The child's URL fetcher serves files from the
allowed folders only (the project's static certificate assets) and refuses
everything else (file:///etc/passwd, http://..., data: ...), so nothing the
HTML names can make the renderer read or fetch anything else.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import os
import select
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0


class RenderError(Exception):
    pass


class RenderTimeout(RenderError):
    pass


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    refused: tuple[str, ...]  # URLs the HTML named and the fetcher refused
    ms: int
    cpu_ms: int = 0  # the child's CPU time for this job (a figure for benchmarks)


def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse  # noqa: PLC0415 - WeasyPrint is heavy and loaded only in the render child

    class AllowListFetcher(URLFetcher):
        def __init__(self, roots: list[str]) -> None:
            super().__init__(timeout=1, allowed_protocols=("file",), allow_redirects=False)
            self.roots = [Path(root).resolve() for root in roots]
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            path = self._allowed(url)
            if path is None:
                self.refused.append(url[:200])
                raise ValueError(f"refused: {url[:200]}")
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(path.as_uri(), body=path.read_bytes(), headers={"Content-Type": kind})

        def _allowed(self, url: str) -> Path | None:
            parts = urlsplit(url)
            if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
                return None
            try:
                path = Path(unquote(parts.path)).resolve(strict=True)
            except (OSError, RuntimeError):
                return None
            if not path.is_file():
                return None
            if any(path.is_relative_to(root) for root in self.roots):
                return path
            return None

    return AllowListFetcher


def _send(out, payload: bytes) -> None:
    out.write(struct.pack(">I", len(payload)) + payload)
    out.flush()


def _receive(stream) -> bytes | None:
    head = stream.read(4)
    if len(head) < 4:
        return None
    (size,) = struct.unpack(">I", head)
    return stream.read(size)


def serve(roots: list[str]) -> None:
    """The child's loop: one job in on stdin, one answer out on stdout,
    until stdin closes (the parent went away)."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print must not corrupt the answers
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    import weasyprint  # noqa: PLC0415 - WeasyPrint is heavy and loaded only in the render child

    fetcher = _fetcher_class()(roots)
    source = sys.stdin.buffer
    _send(out, b'{"ready": true}')
    while True:
        request = _receive(source)
        if request is None:
            return
        job = json.loads(request)
        started, cpu = time.perf_counter(), time.process_time()
        fetcher.refused = []
        try:
            pdf = weasyprint.HTML(
                string=job["html"], base_url=job["base_url"], url_fetcher=fetcher
            ).write_pdf()
        except Exception as exc:
            _send(out, json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}).encode())
            continue
        ms = round((time.perf_counter() - started) * 1000)
        cpu_ms = round((time.process_time() - cpu) * 1000)
        _send(out, json.dumps({"ok": True, "refused": fetcher.refused, "ms": ms, "cpu_ms": cpu_ms}).encode())
        _send(out, pdf)


class Renderer:
    """The parent's end: a child started with subprocess (not
    multiprocessing, which a Celery prefork child may not use: its processes
    are daemonic), spoken to over pipes with length-prefixed frames."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = [str(root) for root in roots]
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._pid = os.getpid()

    def _start(self) -> None:
        package_root = Path(__file__).resolve().parents[2]
        self._process = subprocess.Popen(
            [sys.executable, "-m", "govflow.certificates.pdfworker", *self.roots],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=package_root,
            close_fds=True,
        )
        if self._read(time.monotonic() + START_TIMEOUT) is None:
            self.stop()
            raise RenderError("the PDF renderer did not start")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait(5)
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    pipe.close()

    def _read_exact(self, size: int, deadline: float) -> bytes | None:
        fd = self._process.stdout.fileno()
        chunks, left = [], size
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise RenderTimeout("rendering took too long")
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _read(self, deadline: float) -> bytes | None:
        head = self._read_exact(4, deadline)
        if head is None:
            return None
        return self._read_exact(struct.unpack(">I", head)[0], deadline)

    def render(self, html: str, *, base_url: str, timeout: float) -> Rendered:
        with self._lock:  # one job at a time per child (thread pools share it)
            if self._pid != os.getpid():  # a forked copy: the child belongs to the parent
                self._process, self._pid = None, os.getpid()
            if self._process is None or self._process.poll() is not None:
                self.stop()
                self._start()
            deadline = time.monotonic() + timeout
            try:
                _send(self._process.stdin, json.dumps({"html": html, "base_url": base_url}).encode())
                header = self._read(deadline)
                answer = json.loads(header) if header is not None else None
                pdf = self._read(deadline) if answer is not None and answer.get("ok") else b""
            except RenderTimeout:
                self.stop()
                raise RenderTimeout(f"rendering took longer than {timeout:g} s") from None
            except (OSError, ValueError) as exc:
                self.stop()
                raise RenderError(f"the PDF renderer failed ({type(exc).__name__})") from exc
            if answer is None or pdf is None:
                self.stop()
                raise RenderError("the PDF renderer died")
        if not answer.get("ok"):
            raise RenderError(answer.get("error", "rendering failed"))
        return Rendered(
            pdf=pdf,
            refused=tuple(answer.get("refused", ())),
            ms=int(answer.get("ms", 0)),
            cpu_ms=int(answer.get("cpu_ms", 0)),
        )


_renderers: dict[tuple[str, ...], Renderer] = {}
_renderers_lock = threading.Lock()


def renderer(roots: list[Path]) -> Renderer:
    key = tuple(str(root) for root in roots)
    with _renderers_lock:
        found = _renderers.get(key)
        if found is None:
            found = _renderers[key] = Renderer(roots)
        return found


if __name__ == "__main__":
    serve(sys.argv[1:])
