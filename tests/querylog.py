"""Which statements a request wrote, apart from the services allowed to.

`writes_outside(monkeypatch, "govflow.web.views.case_page.case_reads_record", ...)`
wraps each named function where the view looks it up; statements run
inside those calls are the services' own. Everything else that writes (an
INSERT, UPDATE or DELETE, a row lock, the audit chain's append function) is
reported: a selector or template tag that writes, even through the same
service imported under another name, shows up here.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection
from django.test.utils import CaptureQueriesContext

WRITE = re.compile(
    r"^\s*(INSERT|UPDATE|DELETE|MERGE|TRUNCATE)\b|\bFOR\s+(NO\s+KEY\s+)?UPDATE\b|govflow_audit_append",
    re.IGNORECASE,
)
# A statement whose text the driver did not report counts as a write: the
# audit chain's append runs on a kept cursor that binds on the server, and
# its text reaches the query log only the first time.
# The session framework saves a modified session after the view; not a read's write.
SESSION = re.compile(r"django_session", re.IGNORECASE)


@dataclass
class QueryLog:
    captured: CaptureQueriesContext
    calls: dict[str, int] = field(default_factory=dict)
    allowed: list[range] = field(default_factory=list)

    @property
    def writes(self) -> list[str | None]:
        return [
            sql
            for index, sql in enumerate(query["sql"] for query in self.captured.captured_queries)
            if (sql is None or (WRITE.search(sql) and not SESSION.search(sql)))
            and not any(index in span for span in self.allowed)
        ]


@contextmanager
def writes_outside(monkeypatch, *targets: str) -> Iterator[QueryLog]:
    captured = CaptureQueriesContext(connection)
    log = QueryLog(captured, {target: 0 for target in targets})
    for target in targets:
        module_name, name = target.rsplit(".", 1)
        module = importlib.import_module(module_name)
        monkeypatch.setattr(module, name, _allowed(getattr(module, name), target, log))
    with captured:
        yield log


def _allowed(function, target: str, log: QueryLog):
    def wrapper(*args, **kwargs):
        log.calls[target] += 1
        start = len(log.captured.captured_queries)
        try:
            return function(*args, **kwargs)
        finally:
            log.allowed.append(range(start, len(log.captured.captured_queries)))

    return wrapper
