"""What the apps below cases ask about one for an outbox row (registered
in CasesConfig.ready): what a row of case work was for (an incident), a
case's reference (an SMS). Reads only."""

from __future__ import annotations

from govflow.outbox.models import OutboxMessage
from govflow.processes.services import version_definition

from ..models import Case, Task


def outbox_row_subject(message: OutboxMessage) -> dict:
    """What an outbox row of case work was for (its case, task, step and
    handler), for the incident of a row given up; registered with
    govflow.incidents.hooks in CasesConfig.ready."""
    payload = message.payload or {}
    case_id = payload.get("case") if isinstance(payload.get("case"), int) else None
    if case_id is not None and not Case.objects.filter(pk=case_id).exists():
        case_id = None
    task_engine_id = str(payload.get("task") or "")[:32]
    node_id = handler = ""
    if case_id is not None and task_engine_id:
        task = (
            Task.objects.filter(case_id=case_id, engine_id=task_engine_id)
            .select_related("case__version")
            .first()
        )
        if task is not None:
            node_id = task.node_id
            if message.topic == "service_task":
                node = version_definition(task.case.version).nodes.get(task.node_id)
                handler = (node.handler or "") if node is not None else ""
    return {
        "case_id": case_id,
        "task_engine_id": task_engine_id,
        "node_id": node_id,
        "handler": handler[:100],
    }


def case_reference(case_id: int) -> str | None:
    """The case's reference (an SMS names the case by it), None when gone."""
    return Case.objects.filter(pk=case_id).values_list("reference", flat=True).first()
