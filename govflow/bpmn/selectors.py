"""Read side of the BPMN pages: the export of a published version (cached:
versions never change), and a case's diagram with its current nodes, behind
the same permission checks as the case page and the console."""

from __future__ import annotations

import threading

from govflow.cases.selectors import case_access
from govflow.processes.models import ProcessVersion

from .catalogue import departments_catalogue, handlers
from .exporter import export_bpmn

_cache: dict[tuple[int, str], bytes] = {}
_lock = threading.Lock()
MAX_CACHED = 64


def version_bpmn(version: ProcessVersion) -> bytes:
    key = (version.pk, version.source_sha256)
    xml = _cache.get(key)
    if xml is None:
        xml = export_bpmn(version.source, handlers=handlers(), departments=departments_catalogue())
        with _lock:
            if len(_cache) >= MAX_CACHED:
                _cache.clear()
            _cache[key] = xml
    return xml


def current_nodes(case) -> list[str]:
    """The nodes the case's tokens stand on (a call node and the node inside
    its sub-process both count), in a stable order."""
    state = case.state or {}
    if state.get("status") not in (None, "running"):
        return []
    tokens = state.get("tokens") or {}
    return sorted({str(t["node"]) for t in tokens.values() if isinstance(t, dict) and t.get("node")})


def case_bpmn(*, user, reference: str) -> bytes:
    """The diagram of the case's process version, for whoever may see the
    case (its applicant, a reviewer whose department has or had a task on
    it); NotFound for everyone else."""
    access = case_access(user=user, reference=reference)
    return version_bpmn(access.case.version)
