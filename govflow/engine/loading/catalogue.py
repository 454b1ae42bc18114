"""What a template publishes into and reuses from the data catalogue."""

from __future__ import annotations

from typing import Any

from ruamel.yaml.comments import CommentedMap

from ..definition import CatalogPublish, CatalogReuse, CatalogSource, CatalogSpec, Node
from ..kinds import KINDS
from ..problems import Message
from .positions import Pos, item_pos, key_pos, value_pos
from .primitives import ID_RE, Primitives

CATALOG_CASE_SOURCES = ("case.reference", "case.date")
CATALOG_CERTIFICATE_SOURCES = ("certificate.type", "certificate.department")
MAX_CATALOG_ENTRIES = 50


class CatalogueReader(Primitives):
    def read_catalog(self, value: Any, pos: Pos, nodes: dict[str, Node]) -> CatalogSpec:
        root = self.mapping(value, pos, "catalog")
        if root is None:
            return CatalogSpec()
        self.keys(root, ("publishes", "reuses"), (), "catalog")
        publishes: list[CatalogPublish] = []
        reuses: list[CatalogReuse] = []
        for key, reader, out in (
            ("publishes", self.catalog_publish, publishes),
            ("reuses", self.catalog_reuse, reuses),
        ):
            if key not in root:
                continue
            items = self.seq(root[key], value_pos(root, key), Message("catalog '{key}'", key=key))
            if items is None:
                continue
            if len(items) > MAX_CATALOG_ENTRIES:
                self.err(
                    value_pos(root, key),
                    Message(
                        "catalog '{key}' has more than {MAX_CATALOG_ENTRIES} entries",
                        key=key,
                        MAX_CATALOG_ENTRIES=MAX_CATALOG_ENTRIES,
                    ),
                )
                continue
            for index, item in enumerate(items):
                what = Message("catalog {key} entry {index}", key=key, index=index + 1)
                entry = self.mapping(item, item_pos(items, index, value_pos(root, key)), what)
                if entry is not None:
                    found = reader(entry, what, nodes)
                    if found is not None:
                        out.append(found)
        return CatalogSpec(tuple(publishes), tuple(reuses))

    def catalog_publish(
        self, entry: CommentedMap, what: str, nodes: dict[str, Node]
    ) -> CatalogPublish | None:
        self.keys(entry, ("dataset", "at", "key", "fields", "per"), ("dataset", "at", "key", "fields"), what)
        dataset = self.ident(entry, "dataset", what)
        per_certificate = False
        if "per" in entry:
            if entry["per"] != "certificate":
                self.err(
                    value_pos(entry, "per"), Message("{what} 'per' can only be 'certificate'", what=what)
                )
            per_certificate = entry["per"] == "certificate"
        at: list[str] = []
        raw_at = entry.get("at")
        # 一件事: the approved end of a bundle's item publishes what the item
        # produced, certificates or not (the item is a matter of its own).
        items = {i.id for n in nodes.values() if n.type == "bundle" for i in n.items}
        for target in raw_at if isinstance(raw_at, list) else [raw_at]:
            pos = value_pos(entry, "at")
            if target == "approved" and not per_certificate:
                at.append("approved")
                continue
            node = nodes.get(target) if isinstance(target, str) else None
            reached = (
                node is not None
                and node.type == "end"
                and node.outcome == "approved"
                and (bool(node.certificates) or (node.process in items and not per_certificate))
            )
            if not reached:
                self.err(
                    pos,
                    Message(
                        "{what} 'at' must be 'approved' (the case's approval), an end with outcome "
                        "approved that issues certificates, or the approved end of a bundle's item; "
                        "got {target}",
                        what=what,
                        target=repr(target),
                    )
                    + (" ('approved' cannot be used with per: certificate)" if target == "approved" else ""),
                )
                continue
            at.append(str(target))
        keys: list[CatalogSource] = []
        raw_key = entry.get("key")
        for part in raw_key if isinstance(raw_key, list) else [raw_key]:
            source = self.catalog_source(part, value_pos(entry, "key"), what, nodes, per_certificate)
            if source is not None:
                keys.append(source)
        if isinstance(raw_key, list) and not 1 <= len(raw_key) <= 4:
            self.err(value_pos(entry, "key"), Message("{what} 'key' takes one to four parts", what=what))
        fields: dict[str, CatalogSource] = {}
        mapping = self.mapping(
            entry.get("fields"), value_pos(entry, "fields"), Message("{what} 'fields'", what=what)
        )
        for name in mapping or ():
            pos = key_pos(mapping, name)
            if not isinstance(name, str) or not ID_RE.match(name):
                self.err(
                    pos,
                    Message(
                        "{what}: dataset field {name} must be a lowercase identifier",
                        what=what,
                        name=repr(name),
                    ),
                )
                continue
            source = self.catalog_source(
                mapping[name], value_pos(mapping, name), what, nodes, per_certificate
            )
            if source is not None:
                fields[name] = source
        if mapping is not None and not mapping:
            self.err(
                value_pos(entry, "fields"),
                Message("{what} 'fields' must name at least one dataset field", what=what),
            )
        if dataset is None or not at or len(keys) != len(raw_key if isinstance(raw_key, list) else [raw_key]):
            return None
        return CatalogPublish(dataset, tuple(at), tuple(keys), fields, per_certificate)

    def catalog_source(
        self, value: Any, pos: Pos, what: str, nodes: dict[str, Node], per_certificate: bool
    ) -> CatalogSource | None:
        if isinstance(value, dict):
            self.keys(value, ("value",), ("value",), Message("{what} fixed value", what=what))
            fixed = value.get("value")
            if isinstance(fixed, bool) or not isinstance(fixed, str | int) or not str(fixed).strip():
                self.err(
                    pos, Message("{what}: a fixed value must be non-empty text or a whole number", what=what)
                )
                return None
            return CatalogSource(value=str(fixed)[:200])
        if not isinstance(value, str) or not value:
            self.err(
                pos,
                Message(
                    "{what}: a source must be a field id, result.<node>.<key>, case.* or {{value: ...}}",
                    what=what,
                ),
            )
            return None
        if value in CATALOG_CASE_SOURCES:
            return CatalogSource(path=value)
        if value in CATALOG_CERTIFICATE_SOURCES:
            if not per_certificate:
                self.err(pos, Message("{what}: '{value}' needs per: certificate", what=what, value=value))
                return None
            return CatalogSource(path=value)
        parts = value.split(".")
        if parts[0] == "result":
            node = nodes.get(parts[1]) if len(parts) == 3 else None
            if node is None or not KINDS[node.type].has_results or not ID_RE.match(parts[2]):
                self.err(
                    pos,
                    Message(
                        "{what}: unknown result '{value}' (use result.<service or user task id>.<key>)",
                        what=what,
                        value=value,
                    ),
                )
                return None
            return CatalogSource(path=value)
        spec = self.fields.get(value)
        if spec is None or spec.type == "table":
            if value not in self.declared_fields or spec is not None:
                self.err(
                    pos,
                    Message(
                        "{what}: '{value}' is not a field of the form (tables cannot be published)",
                        what=what,
                        value=value,
                    ),
                )
            return None
        return CatalogSource(path=value)

    def catalog_reuse(self, entry: CommentedMap, what: str, nodes: dict[str, Node]) -> CatalogReuse | None:
        self.keys(
            entry, ("dataset", "key", "fields", "expect", "related"), ("dataset", "key", "fields"), what
        )
        dataset = self.ident(entry, "dataset", what)
        key = self.ident(entry, "key", what)
        if key is not None and (key not in self.fields or self.fields[key].type == "table"):
            self.err(
                value_pos(entry, "key"),
                Message("{what} 'key' must name a field of the form; got '{key}'", what=what, key=key),
            )
            key = None
        fields: dict[str, str] = {}
        mapping = self.mapping(
            entry.get("fields"), value_pos(entry, "fields"), Message("{what} 'fields'", what=what)
        )
        for form_field in mapping or ():
            pos = key_pos(mapping, form_field)
            target = mapping[form_field]
            if not isinstance(form_field, str) or form_field not in self.fields:
                self.err(
                    pos,
                    Message(
                        "{what}: {form_field} is not a field of the form",
                        what=what,
                        form_field=repr(form_field),
                    ),
                )
            elif self.fields[form_field].type == "table" or form_field == key:
                self.err(
                    pos,
                    Message(
                        "{what}: '{form_field}' cannot be prefilled (a table, or the key itself)",
                        what=what,
                        form_field=form_field,
                    ),
                )
            elif not isinstance(target, str) or not ID_RE.match(target):
                self.err(
                    value_pos(mapping, form_field),
                    Message("{what}: {target} must be a dataset field id", what=what, target=repr(target)),
                )
            else:
                fields[form_field] = target
        if mapping is not None and not mapping:
            self.err(
                value_pos(entry, "fields"), Message("{what} 'fields' must name at least one field", what=what)
            )
        expect: dict[str, str] = {}
        if "expect" in entry:
            raw = self.mapping(
                entry["expect"], value_pos(entry, "expect"), Message("{what} 'expect'", what=what)
            )
            for name in raw or ():
                value = raw[name]
                if not isinstance(name, str) or not ID_RE.match(name) or not isinstance(value, str):
                    self.err(
                        key_pos(raw, name),
                        Message("{what} 'expect' maps dataset field ids to text values", what=what),
                    )
                else:
                    expect[name] = value
        related: list[tuple[str, str]] = []
        if "related" in entry:
            items = self.seq(
                entry["related"], value_pos(entry, "related"), Message("{what} 'related'", what=what)
            )
            for index, item in enumerate(items or ()):
                rel = self.mapping(
                    item,
                    item_pos(items, index, value_pos(entry, "related")),
                    Message("{what} 'related'", what=what),
                )
                if rel is None:
                    continue
                self.keys(rel, ("dataset", "by"), ("dataset", "by"), Message("{what} 'related'", what=what))
                rel_dataset = self.ident(rel, "dataset", Message("{what} 'related'", what=what))
                by = self.ident(rel, "by", Message("{what} 'related'", what=what))
                if rel_dataset and by:
                    related.append((rel_dataset, by))
        if dataset is None or key is None or not fields:
            return None
        return CatalogReuse(dataset, key, fields, expect, tuple(related))
