"""The form's own editor in the designer: its fields (and a table's
columns), its materials (attachments, the documents an applicant hands in)
and who may see a sensitive field unmasked (the `clearance` of the steps),
as operations on the template's YAML text with ruamel.yaml's round trip.

As with the cards' properties (operations.py), a change is applied even
when the validator objects (a choice field without choices yet shows its
problem on the page), except where it would break another part of the
template: a field that a condition, a clearance, the `title_field` or the
data catalogue still names cannot be renamed or removed, and the refusal
says where it is named. Pure Python (no Django).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from govflow.engine.expressions import ExpressionError, compile_expression
from govflow.engine.forms import FIELD_TYPES, SENSITIVITIES
from govflow.engine.loading.form import KNOWN_MIME_TYPES
from govflow.engine.problems import Message

from .document import DocumentError, dump, index, load
from .operations import Check, Refused, Result, _get_tail, _set_tail, default_check

IDENT = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MIME_TYPES = tuple(sorted(KNOWN_MIME_TYPES))
# The keys of a field that apply only to some types (docs/process-language.md, section 13).
ONLY_FOR = {
    "min_length": ("text", "textarea", "address", "email"),
    "max_length": ("text", "textarea", "address", "email"),
    "pattern": ("text", "textarea"),
    "decimals": ("decimal",),
    "min_rows": ("table",),
    "max_rows": ("table",),
    "choices": ("choice", "multichoice"),
    "columns": ("table",),
    "min": ("number", "decimal", "date"),
    "max": ("number", "decimal", "date"),
}


# -- reading ------------------------------------------------------------------


def _form(document: CommentedMap, create: bool = False) -> CommentedMap | None:
    form = document.get("form")
    if isinstance(form, CommentedMap):
        return form
    if not create:
        return None
    form = CommentedMap()
    # the form goes before the nodes, where templates write it
    keys = list(document.keys())
    document.insert(keys.index("nodes") if "nodes" in keys else len(keys), "form", form)
    return form


def _list(holder: CommentedMap, key: str, create: bool = False) -> CommentedSeq | None:
    value = holder.get(key)
    if isinstance(value, CommentedSeq):
        return value
    if not create:
        return None
    holder[key] = CommentedSeq()
    return holder[key]


def _ids(seq: CommentedSeq | None) -> list[str]:
    return [str(item["id"]) for item in seq or () if isinstance(item, CommentedMap) and "id" in item]


def _label(raw: CommentedMap, key: str = "label") -> tuple[str, str]:
    label = raw.get(key)
    if isinstance(label, dict):
        return str(label.get("zh", "")), str(label.get("en", ""))
    return "", ""


def _choices_text(raw: CommentedMap) -> str:
    lines = []
    for choice in raw.get("choices") or ():
        if isinstance(choice, dict):
            zh, en = _label(choice)
            lines.append(f"{choice.get('value', '')} | {zh} | {en}")
    return "\n".join(lines)


@dataclass
class FieldView:
    id: str
    path: str  # 'field' or 'table.column'
    type: str
    label_zh: str
    label_en: str
    required: bool
    sensitivity: str
    choices: str
    columns: list[FieldView]
    cleared: list[str]  # the steps whose clearance names it


@dataclass
class MaterialView:
    id: str
    label_zh: str
    label_en: str
    types: list[str]
    max_size_mb: Any
    max_count: Any
    required: bool
    other_keys: list[str]  # 容缺 / 告知承诺 keys, edited as text


def clearances(document: CommentedMap) -> dict[str, list[str]]:
    """Field path → the user tasks whose clearance names it."""
    found: dict[str, list[str]] = {}
    for located in index(document).values():
        values = located.raw.get("clearance")
        if isinstance(values, list):
            for value in values:
                found.setdefault(str(value), []).append(located.id)
    return found


def fields(document: CommentedMap) -> list[FieldView]:
    form = _form(document)
    cleared = clearances(document)

    def view(raw: CommentedMap, table: str | None) -> FieldView:
        zh, en = _label(raw)
        path = f"{table}.{raw.get('id')}" if table else str(raw.get("id", ""))
        columns = raw.get("columns") if isinstance(raw.get("columns"), CommentedSeq) else []
        return FieldView(
            id=str(raw.get("id", "")),
            path=path,
            type=str(raw.get("type", "")),
            label_zh=zh,
            label_en=en,
            required=raw.get("required") is True,
            sensitivity=str(raw.get("sensitivity", "public")),
            choices=_choices_text(raw),
            columns=[view(c, path) for c in columns if isinstance(c, CommentedMap)] if not table else [],
            cleared=cleared.get(path, []),
        )

    seq = _list(form, "fields") if form is not None else None
    return [view(raw, None) for raw in seq or () if isinstance(raw, CommentedMap)]


def materials(document: CommentedMap) -> list[MaterialView]:
    form = _form(document)
    seq = _list(form, "attachments") if form is not None else None
    out = []
    for raw in seq or ():
        if not isinstance(raw, CommentedMap):
            continue
        zh, en = _label(raw)
        types = raw.get("types") if isinstance(raw.get("types"), list) else []
        out.append(
            MaterialView(
                id=str(raw.get("id", "")),
                label_zh=zh,
                label_en=en,
                types=[str(t) for t in types],
                max_size_mb=raw.get("max_size_mb", ""),
                max_count=raw.get("max_count", ""),
                required=raw.get("required") is True,
                other_keys=[k for k in ("deferrable", "deadline", "commitment") if k in raw],
            )
        )
    return out


def user_tasks(document: CommentedMap) -> list[tuple[str, Any]]:
    """The user tasks (id, raw) that a clearance can be given on."""
    return [(n.id, n.raw) for n in index(document).values() if n.type == "user_task"]


# -- where a field is named ----------------------------------------------------------


def _walk(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any, Any]]:
    """(path, key, value) of every mapping entry below `value`."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key, item
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, (*path, i))


def _names(field_path: str, name: str) -> bool:
    """Whether a dotted name refers to the field (or a table's column) at `field_path`."""
    return name == field_path or name.startswith(field_path + ".")


def references(document: CommentedMap, field_path: str) -> list[Message]:
    """Where the template names the field (or column) `field_path`: each
    condition, clearance, the title_field and the data catalogue."""
    found: list[Message] = []
    for located in index(document).values():
        for _path, key, value in _walk(located.raw):
            if key == "when" and isinstance(value, str):
                try:
                    names = compile_expression(value).names
                except ExpressionError:
                    names = frozenset(n for n in re.findall(r"[A-Za-z_][\w.]*", value))
                if any(_names(field_path, n) for n in names):
                    found.append(
                        Message(
                            "the condition '{when}' of '{node}' (line {line})",
                            when=value,
                            node=located.id,
                            line=located.line,
                        )
                    )
            elif (
                key == "clearance"
                and isinstance(value, list)
                and any(_names(field_path, str(v)) for v in value)
            ):
                found.append(
                    Message("the clearance of '{node}' (line {line})", node=located.id, line=located.line)
                )
    if "." not in field_path and document.get("title_field") == field_path:
        found.append(Message("the template's title_field"))
    catalog = document.get("catalog")
    if "." not in field_path and isinstance(catalog, dict):
        for _path, key, value in _walk(catalog):
            if value == field_path or key == field_path:
                found.append(Message("the data catalogue (catalog)"))
                break
    return found


def _joined(messages: list[Message]) -> Message:
    """Several messages as one, each translated on its own."""
    return Message(
        "; ".join(f"{{m{i}}}" for i in range(len(messages))), **{f"m{i}": m for i, m in enumerate(messages)}
    )


REFUSALS = {
    "renamed": "the field '{field}' cannot be renamed: it is named in {where}; change those first",
    "removed": "the field '{field}' cannot be removed: it is named in {where}; change those first",
    "retyped": "the field '{field}' cannot become or stop being a table: it is named in {where}; "
    "change those first",
}


def _refuse_if_named(document: CommentedMap, field_path: str, verb: str) -> None:
    named = references(document, field_path)
    if named:
        raise Refused(Message(REFUSALS[verb], field=field_path, where=_joined(named)))


# -- operations --------------------------------------------------------------------


def _field_seq(document: CommentedMap, table: str | None, create: bool = False) -> CommentedSeq:
    form = _form(document, create=create)
    if form is None:
        raise Refused(Message("the template has no form"))
    seq = _list(form, "fields", create=create)
    if seq is None:
        raise Refused(Message("the form has no fields"))
    if not table:
        return seq
    raw = _find(seq, table, Message("there is no field '{field}' in the form", field=table))
    if raw.get("type") != "table" or not isinstance(raw.get("columns"), CommentedSeq):
        raise Refused(Message("'{field}' is not a table", field=table))
    return raw["columns"]


def _find(seq: CommentedSeq, item_id: str, missing: Message) -> CommentedMap:
    for raw in seq:
        if isinstance(raw, CommentedMap) and str(raw.get("id")) == item_id:
            return raw
    raise Refused(missing)


def _split(path: str) -> tuple[str | None, str]:
    table, _, column = str(path).partition(".")
    return (table, column) if column else (None, table)


def _new_id(taken: set[str], base: str) -> str:
    if base not in taken:
        return base
    n = 2
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


def _flow_map(**items: Any) -> CommentedMap:
    raw = CommentedMap()
    for key, value in items.items():
        raw[key] = value
    raw.fa.set_flow_style()
    return raw


def _all_form_ids(document: CommentedMap) -> set[str]:
    form = _form(document)
    if form is None:
        return set()
    return set(_ids(_list(form, "fields"))) | set(_ids(_list(form, "attachments")))


def op_add_field(document: CommentedMap, op: dict[str, Any]) -> str:
    table = str(op.get("table") or "") or None
    seq = _field_seq(document, table, create=not table)
    taken = set(_ids(seq)) if table else _all_form_ids(document)
    field_id = _new_id(taken, "column" if table else "field")
    raw = CommentedMap()
    raw["id"] = field_id
    raw["type"] = "text"
    raw["label"] = _flow_map(
        zh="新字段" if not table else "新列", en="New field" if not table else "New column"
    )
    _append(seq, raw)
    return f"{table}.{field_id}" if table else field_id


def _choices(text: str, old: Any = None) -> CommentedSeq:
    """'value | 中文 | English' a line → the choices list (flow style, as
    templates write it); a choice written as before keeps its old text."""
    kept = {}
    for choice in old if isinstance(old, list) else ():
        if isinstance(choice, dict):
            zh, en = _label(choice)
            kept[(str(choice.get("value", "")), zh, en)] = choice
    seq = CommentedSeq()
    for line in str(text).splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        value, zh = parts[0], parts[1] if len(parts) > 1 else parts[0]
        en = parts[2] if len(parts) > 2 else zh
        if (value, zh, en) in kept:
            seq.append(kept[(value, zh, en)])
            continue
        plain = re.fullmatch(r"[a-z][a-z0-9_]*", value) and value not in (
            "true",
            "false",
            "null",
            "yes",
            "no",
        )
        seq.append(
            _flow_map(
                value=value if plain else DoubleQuotedScalarString(value), label=_flow_map(zh=zh, en=en)
            )
        )
    return seq


def _set_label(raw: CommentedMap, language: str, text: str) -> None:
    if _label(raw)[0 if language == "zh" else 1] == text:
        return
    label = raw.get("label")
    if not isinstance(label, CommentedMap):
        label = _flow_map()
        raw["label"] = label
    label[language] = text


def op_set_field(document: CommentedMap, op: dict[str, Any]) -> str:
    table, field_id = _split(str(op.get("field", "")))
    seq = _field_seq(document, table)
    raw = _find(seq, field_id, Message("there is no field '{field}' in the form", field=op.get("field", "")))
    path = f"{table}.{field_id}" if table else field_id
    values: dict[str, Any] = op.get("values") or {}
    for language in ("zh", "en"):
        if f"label_{language}" in values:
            text = str(values[f"label_{language}"]).strip()
            if not text:
                raise Refused(Message("a field needs a label in Chinese and in English"))
            _set_label(raw, language, text)
    if "required" in values:
        required = values["required"] in (True, "1", "on", "true")
        if required != (raw.get("required") is True):
            raw["required"] = required
    if "clearance" in values and raw.get("sensitivity") == "secret":
        # steps no longer cleared first: the field may then stop being sensitive
        _set_clearance(document, path, raw, list(values["clearance"] or []), add=False)
    if "sensitivity" in values and str(values["sensitivity"]) != raw.get("sensitivity", "public"):
        level = str(values["sensitivity"])
        if level not in SENSITIVITIES:
            raise Refused(Message("unknown sensitivity '{level}'", level=level))
        if level != "secret":
            _refuse_if_cleared(document, path)
        raw["sensitivity"] = level
    if "type" in values and str(values["type"]) != raw.get("type"):
        kind = str(values["type"])
        if kind not in FIELD_TYPES or (table and kind == "table"):
            raise Refused(Message("unknown field type '{kind}'", kind=kind))
        if kind == "table" or raw.get("type") == "table":
            _refuse_if_named_inside(document, path)
        raw["type"] = kind
        for key, kinds in ONLY_FOR.items():
            if key in raw and kind not in kinds:
                del raw[key]
        if kind in ("choice", "multichoice") and "choices" not in raw:
            raw["choices"] = _choices(
                values.get("choices") or "option_1 | 选项一 | Option 1\noption_2 | 选项二 | Option 2"
            )
        if kind == "table" and "columns" not in raw:
            column = CommentedMap()
            column["id"] = "column"
            column["type"] = "text"
            column["label"] = _flow_map(zh="新列", en="New column")
            raw["columns"] = CommentedSeq([column])
    if (
        "choices" in values
        and raw.get("type") in ("choice", "multichoice")
        and str(values["choices"]).strip() != _choices_text(raw)
    ):
        new = _choices(values["choices"])
        if not new:
            raise Refused(Message("a choice field needs at least one choice"))
        raw["choices"] = new
    if "clearance" in values:
        _set_clearance(document, path, raw, list(values["clearance"] or []))
    if "id" in values and str(values["id"]).strip() != field_id:
        new_id = str(values["id"]).strip()
        if not IDENT.match(new_id):
            raise Refused(
                Message(
                    "'{id}' is not an id: lowercase letters, digits and '_', starting with a letter",
                    id=new_id,
                )
            )
        taken = set(_ids(seq)) if table else _all_form_ids(document)
        if new_id in taken:
            raise Refused(Message("the form already has an id '{id}'", id=new_id))
        _refuse_if_named(document, path, "renamed")
        raw["id"] = new_id
        path = f"{table}.{new_id}" if table else new_id
    return path


def _refuse_if_cleared(document: CommentedMap, path: str) -> None:
    steps = [s for p, s in clearances(document).items() if _names(path, p)]
    if steps:
        raise Refused(
            Message(
                "the field '{field}' stays sensitive while steps are cleared for it ({steps}); take the "
                "clearance away first",
                field=path,
                steps=", ".join(sorted({s for group in steps for s in group})),
            )
        )


def _refuse_if_named_inside(document: CommentedMap, path: str) -> None:
    """A table that becomes another type (or a field that becomes a table)
    loses its columns' or its own meaning in conditions and clearances."""
    _refuse_if_named(document, path, "retyped")


def _set_clearance(
    document: CommentedMap, path: str, raw: CommentedMap, steps: list[str], add: bool = True
) -> None:
    tasks = dict(user_tasks(document))
    wanted = {str(s) for s in steps}
    unknown = wanted - set(tasks)
    if unknown:
        raise Refused(Message("there is no review step '{node}'", node=sorted(unknown)[0]))
    if wanted and raw.get("sensitivity") != "secret":
        raise Refused(
            Message("only a sensitive field (敏感) needs a clearance; '{field}' is not one", field=path)
        )
    for node_id, task in tasks.items():
        current = task.get("clearance")
        has = isinstance(current, list) and path in [str(v) for v in current]
        if node_id in wanted and not has and add:
            if not isinstance(current, CommentedSeq):
                current = CommentedSeq()
                current.fa.set_flow_style()
                _insert_before_flows(task, "clearance", current)
            current.append(path)
        elif node_id not in wanted and has:
            current.remove(path)
            if not current:
                del task["clearance"]


def _insert_before_flows(raw: CommentedMap, key: str, value: Any) -> None:
    keys = list(raw.keys())
    for flow_key in ("outcomes", "next", "branches"):
        if flow_key in keys:
            raw.insert(keys.index(flow_key), key, value)
            return
    raw[key] = value


def op_remove_field(document: CommentedMap, op: dict[str, Any]) -> None:
    table, field_id = _split(str(op.get("field", "")))
    seq = _field_seq(document, table)
    raw = _find(seq, field_id, Message("there is no field '{field}' in the form", field=op.get("field", "")))
    path = f"{table}.{field_id}" if table else field_id
    _refuse_if_named(document, path, "removed")
    if table and len(seq) == 1:
        raise Refused(Message("a table needs at least one column"))
    _remove(seq, raw)


def _append(seq: CommentedSeq, raw: CommentedMap) -> None:
    """Add an item at the end; the comment (or blank line) written after
    the last item moves below the new one."""
    last = seq[-1] if seq and isinstance(seq[-1], CommentedMap) else None
    seq.append(raw)
    if last is not None:
        token = _get_tail(last)
        _set_tail(last, None)
        _set_tail(raw, token)


def _remove(seq: CommentedSeq, raw: CommentedMap) -> None:
    """Take an item out; the comment (or blank line) written after it
    belongs to what follows, so it stays where it was."""
    position = seq.index(raw)
    if position > 0 and isinstance(seq[position - 1], CommentedMap):
        _set_tail(seq[position - 1], _get_tail(raw))
    del seq[position]


def _move(seq: CommentedSeq, raw: CommentedMap, direction: str) -> None:
    """Swap an item with its neighbour; the comments written after each
    stay in their places."""
    i = seq.index(raw)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(seq) or not isinstance(seq[j], CommentedMap):
        raise Refused(Message("it is already the first or the last"))
    tail_i, tail_j = _get_tail(seq[i]), _get_tail(seq[j])
    seq[i], seq[j] = seq[j], seq[i]
    _set_tail(seq[i], tail_i)
    _set_tail(seq[j], tail_j)


def op_move_field(document: CommentedMap, op: dict[str, Any]) -> str:
    table, field_id = _split(str(op.get("field", "")))
    seq = _field_seq(document, table)
    raw = _find(seq, field_id, Message("there is no field '{field}' in the form", field=op.get("field", "")))
    _move(seq, raw, str(op.get("direction", "")))
    return str(op.get("field"))


def _material_seq(document: CommentedMap, create: bool = False) -> CommentedSeq:
    form = _form(document, create=create)
    seq = _list(form, "attachments", create=create) if form is not None else None
    if seq is None:
        raise Refused(Message("the form has no materials"))
    return seq


def op_add_material(document: CommentedMap, op: dict[str, Any]) -> str:
    seq = _material_seq(document, create=True)
    material_id = _new_id(_all_form_ids(document), "material")
    raw = CommentedMap()
    raw["id"] = material_id
    raw["label"] = _flow_map(zh="新材料", en="New document")
    types = CommentedSeq(["application/pdf"])
    types.fa.set_flow_style()
    raw["types"] = types
    raw["required"] = True
    _append(seq, raw)
    return material_id


def op_set_material(document: CommentedMap, op: dict[str, Any]) -> str:
    seq = _material_seq(document)
    material_id = str(op.get("material", ""))
    raw = _find(seq, material_id, Message("there is no material '{id}' in the form", id=material_id))
    values: dict[str, Any] = op.get("values") or {}
    for language in ("zh", "en"):
        if f"label_{language}" in values:
            text = str(values[f"label_{language}"]).strip()
            if not text:
                raise Refused(Message("a material needs a name in Chinese and in English"))
            _set_label(raw, language, text)
    if "types" in values:
        types = [str(t) for t in values["types"] or []]
        if not types:
            raise Refused(Message("a material needs at least one file type"))
        bad = [t for t in types if t not in KNOWN_MIME_TYPES]
        if bad:
            raise Refused(Message("unknown file type '{type}'", type=bad[0]))
        current = raw.get("types")
        if not isinstance(current, list) or [str(t) for t in current] != types:
            seq_types = CommentedSeq(types)
            seq_types.fa.set_flow_style()
            raw["types"] = seq_types
    for key, low, high in (("max_size_mb", 1, 200), ("max_count", 1, 50)):
        if key in values:
            text = str(values[key]).strip()
            if text == str(raw.get(key, "")):
                continue
            if not text:
                if key in raw:
                    del raw[key]
                continue
            if not text.isdigit() or not low <= int(text) <= high:
                raise Refused(
                    Message(
                        "'{key}' must be a whole number from {low} to {high}", key=key, low=low, high=high
                    )
                )
            raw[key] = int(text)
    if "required" in values:
        required = values["required"] in (True, "1", "on", "true")
        if not required and any(k in raw for k in ("deferrable", "commitment")):
            raise Refused(
                Message(
                    "a material that may follow (容缺) or be replaced by a commitment (告知承诺) "
                    "must be required"
                )
            )
        if required != (raw.get("required") is True):
            raw["required"] = required
    if "id" in values and str(values["id"]).strip() != material_id:
        new_id = str(values["id"]).strip()
        if not IDENT.match(new_id):
            raise Refused(
                Message(
                    "'{id}' is not an id: lowercase letters, digits and '_', starting with a letter",
                    id=new_id,
                )
            )
        if new_id in _all_form_ids(document):
            raise Refused(Message("the form already has an id '{id}'", id=new_id))
        raw["id"] = new_id
        material_id = new_id
    return material_id


def op_remove_material(document: CommentedMap, op: dict[str, Any]) -> None:
    seq = _material_seq(document)
    material_id = str(op.get("material", ""))
    raw = _find(seq, material_id, Message("there is no material '{id}' in the form", id=material_id))
    _remove(seq, raw)


def op_move_material(document: CommentedMap, op: dict[str, Any]) -> str:
    seq = _material_seq(document)
    material_id = str(op.get("material", ""))
    raw = _find(seq, material_id, Message("there is no material '{id}' in the form", id=material_id))
    _move(seq, raw, str(op.get("direction", "")))
    return material_id


FORM_OPERATIONS = {
    "add_field": op_add_field,
    "set_field": op_set_field,
    "remove_field": op_remove_field,
    "move_field": op_move_field,
    "add_material": op_add_material,
    "set_material": op_set_material,
    "remove_material": op_remove_material,
    "move_material": op_move_material,
}


def apply_form(text: str, op: dict[str, Any], *, check: Check = default_check) -> Result:
    """Apply one operation on the form (`op["op"]` names it) to `text`.
    `focus` of the result is what the panel shows next: a field's path or
    a material's id."""
    name = str(op.get("op", ""))
    handler = FORM_OPERATIONS.get(name)
    if handler is None:
        return Result(text, False, Message("unknown designer operation '{op}'", op=name))
    try:
        document = load(text)
        focus = handler(document, op)
        new_text = dump(document, text)
    except Refused as exc:
        return Result(text, False, exc.message)
    except DocumentError as exc:
        return Result(text, False, exc.message)
    if new_text == text:
        return Result(text, False, focus=focus)
    problems = check(new_text)
    if name in ("remove_field", "remove_material") or _renamed(op):
        # anything else the template names the old id by (the validator knows every place)
        before = Counter(str(p.message) for p in check(text))
        new = []
        for problem in problems:
            if before[str(problem.message)] > 0:
                before[str(problem.message)] -= 1
            else:
                new.append(problem)
        if new:
            return Result(
                text,
                False,
                Message(
                    "the change is refused: {reason} (line {line})", reason=new[0].message, line=new[0].line
                ),
                problems,
            )
    return Result(new_text, True, None, problems, focus)


def _renamed(op: dict[str, Any]) -> bool:
    values = op.get("values") or {}
    old = str(op.get("field") or op.get("material") or "").rpartition(".")[2]
    return "id" in values and str(values["id"]).strip() != old
