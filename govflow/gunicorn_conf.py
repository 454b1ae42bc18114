"""gunicorn's settings for govflow (`gunicorn -c python:govflow.gunicorn_conf`,
as docker/entrypoint.sh runs it); docs/deploy.md, "Request limits".

gunicorn refuses a request it cannot parse before Django sees it: a request
line longer than `limit_request_line`, more than `limit_request_fields`
headers or one longer than `limit_request_field_size`, a malformed request
line or header. Its own answer is an HTML page; here it is the API's JSON
error shape, `{"error": {"code", "message", "fields"}}`, with 414 for an
over-long request line and 431 for headers too large, so every answer a
client can get from govflow parses the same way.
"""

from __future__ import annotations

import json
import os

from gunicorn import util

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "3"))
# Threads per worker: gunicorn's gthread worker (1: its sync worker). A
# request mostly waits for PostgreSQL; threads overlap those waits (each
# thread has its own database connection). bench/http_load.py, 16 clients
# on 2 cores: about twice the decisions/s of 3 sync workers.
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
accesslog = "-"
# The longest request line gunicorn allows (its default is 4094); nginx in
# front should allow the same (large_client_header_buffers 4 8k).
limit_request_line = int(os.environ.get("GUNICORN_LIMIT_REQUEST_LINE", "8190"))
limit_request_fields = 100
limit_request_field_size = 8190

# status gunicorn gives -> (status, reason, code, message)
_ERRORS = {
    "line": (
        414,
        "URI Too Long",
        "uri_too_long",
        "请求地址过长，请缩短地址或查询参数。The request line is too long; shorten the address or its query.",
    ),
    431: (
        431,
        "Request Header Fields Too Large",
        "headers_too_large",
        "请求头过多或过长。The request's headers are too many or too long.",
    ),
    403: (403, "Forbidden", "forbidden", "请求被拒绝。The request was refused."),
    500: (500, "Internal Server Error", "server_error", "服务器内部错误。An unexpected error on the server."),
    501: (501, "Not Implemented", "not_implemented", "不支持的传输编码。Unsupported transfer coding."),
}
_BAD_REQUEST = (400, "Bad Request", "bad_request", "请求格式有误。The request is malformed.")


def json_error(status: int, message: str) -> tuple[int, str, bytes]:
    """(status, reason, body) of the JSON answer to what gunicorn refused
    with `status` and its own `message`."""
    key = "line" if status == 400 and message.startswith("Request Line is too large") else status
    status, reason, code, text = _ERRORS.get(key, _BAD_REQUEST)
    body = json.dumps({"error": {"code": code, "message": text, "fields": {}}}, ensure_ascii=False)
    return status, reason, body.encode()


def write_json_error(sock, status_int, reason, mesg):
    status, reason, body = json_error(int(status_int), str(mesg))
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Connection: close\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "Cache-Control: no-store\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def post_worker_init(worker):
    # gunicorn has no setting for its error pages: its workers write them
    # through gunicorn.util.write_error, which each worker process replaces.
    util.write_error = write_json_error
