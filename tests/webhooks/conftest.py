"""A real HTTP receiver on 127.0.0.1 and helpers to move cases along.

The receiver checks signatures the way docs/webhooks.md tells integrators
to (written here independently of govflow's signing code)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from govflow.outbox.services import outbox_drain
from govflow.processes.services import process_publish
from govflow.webhooks.services import endpoint_register

REVIEW_YAML = Path(__file__).parent.parent / "data" / "services" / "review.yaml"
GOOD_DATA = {"company_name": "北京示例科技有限公司", "area": 120, "rep_id_number": "11010519491231002X"}
ALL_CASE_KINDS = ["case.submitted", "task.created", "decision.made", "case.approved"]


def signature_ok(secret: str, header: str, body: bytes) -> bool:
    """The receiver's check: any v1 matching HMAC-SHA256(secret, t + "." + body)."""
    parts = [item.split("=", 1) for item in header.split(",") if "=" in item]
    timestamps = [value for key, value in parts if key == "t"]
    if len(timestamps) != 1:
        return False
    expected = hmac.new(secret.encode(), timestamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
    return any(key == "v1" and hmac.compare_digest(value, expected) for key, value in parts)


class Receiver:
    """Records every POST; answers `status` (a list is consumed in order)."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []
        self.server: ThreadingHTTPServer | None = None
        self.port = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.answers.pop(0) if receiver.answers else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self) -> list[dict]:
        return [json.loads(body) for _headers, body in self.requests]

    def kinds(self) -> list[str]:
        return [event["type"].removeprefix("cn.govflow.") for event in self.events()]


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def review_template(base_data):
    return process_publish(source=REVIEW_YAML.read_text(encoding="utf-8")).template


def register(actor, url, *, kinds=ALL_CASE_KINDS, **fields):
    fields.setdefault("system", "" if fields.get("department_code") else "data exchange")
    return endpoint_register(actor=actor, name=fields.pop("name", "exchange"), url=url, kinds=kinds, **fields)


def drain() -> int:
    """What a worker does with the outbox's webhook rows, in this process."""
    return outbox_drain(topics=["webhook"])
