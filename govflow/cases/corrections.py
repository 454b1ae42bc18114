"""Structured corrections (补正, 一次性告知): what the applicant may change
while a correction is asked for, and what a correction changed.

A correction task's notice (govflow.engine.notices; `Task.notice` and the
engine's `task["notice"]`) lists the form fields and materials the
applicant must correct. While such tasks are open the services refuse a
change to anything else (`refuse_outside_notice`, `refuse_material_outside_notice`);
a task without a list (a return that gave none, an automated check's
correction) leaves the whole form open, as before. Each answered correction
is kept as a `CaseRevision` (values before and after, secret ones sealed),
from which a reviewer's diff is built (`changes_since`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from govflow.engine.notices import notice_scope, outside_notice
from govflow.errors import InvalidInput

from .disclosure import field_views
from .models import Case, CaseRevision, Task, TaskKind, TaskStatus


def open_notices(case: Case) -> list[list[dict[str, str]]]:
    """The notices of the correction tasks open on the case (engine state)."""
    tasks = (case.state or {}).get("tasks", {})
    return [task.get("notice") or [] for task in tasks.values() if task["kind"] == "correction"]


def correction_scope(case: Case) -> tuple[frozenset[str], frozenset[str]] | None:
    """(fields, materials) the applicant may change now, or None: anything."""
    return notice_scope(open_notices(case))


def refuse_outside_notice(case: Case, updates: Mapping[str, Any]) -> None:
    """InvalidInput naming every field `updates` would change that the open
    notices do not list (call before the case's data changes)."""
    outside = outside_notice(open_notices(case), case.data, updates)
    if outside:
        message = "the correction notice does not ask for these fields to change: " + ", ".join(outside)
        raise InvalidInput(
            message,
            code="outside_notice",
            fields={field: ["not listed in the correction notice (一次性告知)"] for field in outside},
        )


def refuse_material_outside_notice(case: Case, slot: str) -> None:
    """During a correction, files may be added or removed only in listed slots."""
    scope = correction_scope(case)
    if scope is None or slot in scope[1]:
        return
    raise InvalidInput(
        f"the correction notice does not ask for the material '{slot}'",
        code="outside_notice",
        fields={"slot": ["not listed in the correction notice (一次性告知)"]},
    )


def revision_record(
    *,
    case: Case,
    definition,
    before: Mapping[str, Any],
    changed: Iterable[str],
    tasks: list[str],
    actor_id: int | None,
    now: datetime,
) -> CaseRevision | None:
    """Keep what a correction changed (call after the case's data holds the new values)."""
    order = {spec.id: index for index, spec in enumerate(definition.form.fields)}
    fields = sorted(set(changed), key=lambda f: (order.get(f, len(order)), f))
    if not fields:
        return None
    revision = CaseRevision(
        case=case,
        at=now,
        actor_id=actor_id,
        fields=fields,
        before={f: before.get(f) for f in fields},
        after={f: case.data.get(f) for f in fields},
        tasks=tasks,
    )
    revision.save()
    return revision


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    before: Any
    after: Any
    sensitivity: str


def last_look(case: Case, department_ids: Iterable[int]) -> datetime | None:
    """When the departments last decided on the case (their 'last look');
    None if they never did."""
    return (
        Task.objects.filter(
            case=case,
            department_id__in=list(department_ids),
            status=TaskStatus.COMPLETED,
            kind__in=(TaskKind.REVIEW, TaskKind.SIGNATURE, TaskKind.ACCEPTANCE),
        )
        .order_by("-completed_at")
        .values_list("completed_at", flat=True)
        .first()
    )


def changes_since(case: Case, definition, since: datetime | None, language: str = "zh") -> list[FieldChange]:
    """Field by field, what the corrections after `since` changed: each
    field's value before the first of them and after the last (a field
    changed and changed back is left out). Values are as stored; the caller
    masks what the viewer may not read."""
    revisions = CaseRevision.objects.filter(case=case).select_related("case__version")
    if since is not None:
        revisions = revisions.filter(at__gt=since)
    first: dict[str, Any] = {}
    last: dict[str, Any] = {}
    for revision in revisions.order_by("at", "id"):
        for field in revision.fields:
            first.setdefault(field, revision.before.get(field))
            last[field] = revision.after.get(field)
    changes = []
    for spec in definition.form.fields:
        if spec.id in last and first[spec.id] != last[spec.id]:
            label = spec.label.get(language) or spec.label.get("zh") or spec.id
            changes.append(FieldChange(spec.id, label, first[spec.id], last[spec.id], spec.sensitivity))
    return changes


@dataclass(frozen=True)
class ChangeView:
    """One changed field as the viewer may see it (secret values masked
    unless the viewer's department is cleared for the field)."""

    field: str
    label: str
    before: str
    after: str
    masked: bool


def change_views(
    definition, changes: list[FieldChange], *, viewer: str, cleared: frozenset[str], language: str = "zh"
) -> list[ChangeView]:
    if not changes:
        return []
    ids = {change.field for change in changes}
    form = type(definition.form)(fields=tuple(s for s in definition.form.fields if s.id in ids))
    before = field_views(
        form, {c.field: c.before for c in changes}, viewer=viewer, cleared=cleared, language=language
    )
    after = field_views(
        form, {c.field: c.after for c in changes}, viewer=viewer, cleared=cleared, language=language
    )
    views = []
    for old, new in zip(before.fields, after.fields, strict=True):
        views.append(ChangeView(old.id, old.label, _shown(old), _shown(new), old.masked or new.masked))
    return views


def _shown(view) -> str:
    if view.is_table:
        return "; ".join(" / ".join(cell.text for cell in row if cell.text) for row in view.rows)
    return view.text
