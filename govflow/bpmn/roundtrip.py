"""What "importing an export gives back an equivalent template" means,
as a comparable value: everything the engine reads from a template (the
parsed Definition: nodes, flows, conditions, timers, departments, forms,
certificates ...) plus node descriptions, which the engine does not keep.
Not compared: YAML layout, comments, key order and node order, and
defaults written out or left implicit (`on_breach: escalate`)."""

from __future__ import annotations

import dataclasses
from typing import Any

from ruamel.yaml import YAML

from govflow.engine import load_definition

COMPUTED = {"successors", "in_degree", "is_split", "is_join", "join", "block", "line", "col"}


def canonical(source: str | bytes) -> dict[str, Any]:
    definition = load_definition(source)
    raw = YAML(typ="safe", pure=True).load(source)
    descriptions = {}
    for item in raw.get("nodes") or []:
        descriptions[item["id"]] = item.get("description")
    for sub in (raw.get("subprocesses") or {}).values():
        for item in sub.get("nodes") or []:
            descriptions[item["id"]] = item.get("description")
    nodes = {}
    for node_id, node in sorted(definition.nodes.items()):
        values = {}
        for f in dataclasses.fields(node):
            if f.name in COMPUTED:
                continue
            values[f.name] = _value(getattr(node, f.name))
        values["description"] = descriptions.get(node_id)
        if node.type in ("parallel",):
            values["next"] = sorted(values["next"])
        nodes[node_id] = values
    return {
        "id": definition.id,
        "title": dict(definition.title),
        "description": _value(definition.description),
        "calendar": definition.calendar,
        "time_limit": _value(definition.time_limit),
        "statutory_limit": _value(definition.statutory_limit),
        "catalog": _value(definition.catalog),
        "claim_required": definition.claim_required,
        "repeat_signer": definition.repeat_signer,
        "legal_basis": definition.legal_basis,
        "form": _value(definition.form),
        "title_field": definition.title_field,
        "verification": _value(definition.verification),
        "processes": {pid: _value(p) for pid, p in sorted(definition.processes.items())},
        "nodes": nodes,
    }


def _value(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "source") and hasattr(value, "names"):  # a compiled condition
        return {"condition": value.source}
    if isinstance(value, dict):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    if isinstance(value, frozenset | set):
        return sorted(_value(v) for v in value)
    return value
