"""What gunicorn refuses before Django sees it (an over-long request line,
too many or too long headers, a malformed request line) answers in the
API's JSON error shape, not gunicorn's HTML page (govflow.gunicorn_conf).
A real gunicorn with the production configuration, on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from govflow.gunicorn_conf import json_error
from tests.servers.processes import free_port, terminate

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    pytest.importorskip("gunicorn")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAKETIME", "LD_PRELOAD"))}
    env.update(DJANGO_SETTINGS_MODULE="govflow.settings.test", GUNICORN_WORKERS="1")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:govflow.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{port}",
            "govflow.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(process.stderr.read().decode()[-2000:]) from None
                time.sleep(0.2)
        yield port
    finally:
        terminate(process, timeout=20)


def raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def _assert_error_shape(headers, body, code):
    assert headers["content-type"].startswith("application/json")
    error = json.loads(body)["error"]
    assert error["code"] == code
    assert error["fields"] == {}
    assert error["message"]


def test_an_over_long_request_line_is_a_json_414(gunicorn):
    path = "/api/v1/cases/?q=" + "a" * 9000
    status, headers, body = raw(gunicorn, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    assert status == 414
    _assert_error_shape(headers, body, "uri_too_long")


def test_a_request_line_within_the_limit_reaches_the_app(gunicorn):
    path = "/api/v1/cases/?q=" + "a" * 6000  # beyond gunicorn's default 4094, within 8190
    status, headers, body = raw(
        gunicorn, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    )
    assert status == 401  # the API itself answered: no credentials
    _assert_error_shape(headers, body, "not_authenticated")


def test_too_many_headers_are_a_json_431(gunicorn):
    headers_sent = "".join(f"X-Filler-{n}: {n}\r\n" for n in range(150))
    request = f"GET /api/v1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers_sent}\r\n".encode()
    status, headers, body = raw(gunicorn, request)
    assert status == 431
    _assert_error_shape(headers, body, "headers_too_large")


def test_a_malformed_request_line_is_a_json_400(gunicorn):
    status, headers, body = raw(gunicorn, b"GET\x00 / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert status == 400
    _assert_error_shape(headers, body, "bad_request")


def test_the_mapping_without_a_server():
    assert json_error(400, "Request Line is too large (9000 > 8190)")[0] == 414
    assert json_error(400, "Invalid HTTP Version 'x'")[0] == 400
    assert json_error(431, "Error parsing headers")[0] == 431
