"""The designer's form panel: the form's fields (a table's columns too),
its materials and who may see a sensitive field unmasked, in the reader's
language, and the operations its buttons post. The model is
govflow.processes.designer.form; the page is templates/console/_designer_form.html.

The panel is chosen like a card: `selected` is '@form', '@form:field:<path>'
or '@form:material:<id>'."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy

from govflow.engine.forms import FIELD_TYPES
from govflow.engine.loader import check_condition
from govflow.messages import engine_text
from govflow.processes.designer import form as forms
from govflow.processes.designer import operations
from govflow.processes.designer.document import DocumentError, load

from .designer import title_of
from .selectors import template_check

FORM = "@form"
TYPE_LABELS = {
    "text": gettext_lazy("Text"),
    "textarea": gettext_lazy("Long text"),
    "number": gettext_lazy("Whole number"),
    "decimal": gettext_lazy("Decimal number"),
    "date": gettext_lazy("Date"),
    "choice": gettext_lazy("Choice (one)"),
    "multichoice": gettext_lazy("Choice (several)"),
    "boolean": gettext_lazy("Yes / no"),
    "cn_id_number": gettext_lazy("Resident ID number"),
    "uscc": gettext_lazy("Unified social credit code"),
    "phone": gettext_lazy("Mobile number"),
    "email": gettext_lazy("E-mail address"),
    "address": gettext_lazy("Address"),
    "table": gettext_lazy("Table"),
}
SENSITIVITY_LABELS = {
    "public": gettext_lazy("Public (公开): every participant"),
    "internal": gettext_lazy("Internal (内部): the case's reviewers"),
    "secret": gettext_lazy("Sensitive (敏感): masked except for cleared steps"),
}


def is_form(selected: str) -> bool:
    return selected == FORM or selected.startswith(FORM + ":")


def panel(source: str, selected: str, *, language: str, departments: dict[str, str]) -> dict[str, Any] | None:
    """What the form panel shows: the lists, and the chosen field or material."""
    try:
        document = load(source)
    except DocumentError:
        return None
    _form, kind, key = [*selected.split(":", 2), "", ""][:3]
    fields = forms.fields(document)
    view: dict[str, Any] = {
        "fields": fields,
        "materials": forms.materials(document),
        "type_labels": TYPE_LABELS,
        "types": [(t, TYPE_LABELS.get(t, t)) for t in FIELD_TYPES],
        "sensitivities": list(SENSITIVITY_LABELS.items()),
        "mime_types": forms.MIME_TYPES,
        "field": None,
        "material": None,
    }
    if kind == "field":
        for field in fields:
            if field.path == key:
                view["field"] = field
            for column in field.columns:
                if column.path == key:
                    view["field"] = column
        if view["field"] is not None:
            view["steps"] = [
                {
                    "id": node_id,
                    "title": title_of(raw, language),
                    "department": departments.get(str(raw.get("department", "")), raw.get("department", "")),
                    "cleared": node_id in view["field"].cleared,
                }
                for node_id, raw in forms.user_tasks(document)
            ]
            view["in_table"] = "." in key
    elif kind == "material":
        view["material"] = next((m for m in view["materials"] if m.id == key), None)
    return view


def operation_of(do: str, post) -> dict[str, Any] | None:
    """'form|add_field|<table or empty>', 'form|set_field|<path>' with the
    panel's inputs, 'form|remove_field|<path>', 'form|move_field|<path>|up',
    and the same for materials."""
    parts = do.split("|")
    if len(parts) < 3 or parts[0] != "form" or parts[1] not in forms.FORM_OPERATIONS:
        return None
    name, target = parts[1], parts[2]
    op: dict[str, Any] = {"op": name}
    if name == "add_field":
        op["table"] = target
    elif name.endswith("_field"):
        op["field"] = target
    elif name.endswith("_material"):
        op["material"] = target
    if name.startswith("move_"):
        op["direction"] = parts[3] if len(parts) > 3 else ""
    if name == "set_field":
        op["values"] = {
            key: post.get(f"form:{key}", "")
            for key in ("id", "label_zh", "label_en", "type", "sensitivity", "choices")
            if f"form:{key}" in post
        }
        op["values"]["required"] = "1" in post.getlist("form:required")
        op["values"]["clearance"] = post.getlist("form:clearance")
    if name == "set_material":
        op["values"] = {
            key: post.get(f"form:{key}", "")
            for key in ("id", "label_zh", "label_en", "max_size_mb", "max_count")
            if f"form:{key}" in post
        }
        op["values"]["required"] = "1" in post.getlist("form:required")
        op["values"]["types"] = post.getlist("form:types")
    return op


def run(source: str, op: dict[str, Any], check=template_check) -> operations.Result:
    result = forms.apply_form(source, op, check=lambda text: list(check(text)[1]))
    if result.focus is not None:
        kind = "material" if op["op"].endswith("_material") else "field"
        result.focus = f"{FORM}:{kind}:{result.focus}"
    elif not result.refused:
        result.focus = FORM
    return result


def condition_check(source: str, expression: str) -> dict[str, Any]:
    """A condition checked as it is typed: the validator's parser and name
    rules (govflow.engine.loader.check_condition), in the reader's language."""
    problems = check_condition(source, expression) if expression.strip() else []
    return {
        "ok": not problems,
        "problems": [{"offset": offset, "message": engine_text(message)} for offset, message in problems],
    }
