"""Dataset metadata: reading the catalogue file and defining datasets.

`datasets_define` is the only writer of Dataset rows; it takes the entries
of a catalogue file (govflow/catalog/datasets.yaml) after `parse_catalogue`
checked every one of them and reported every problem at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from govflow.accounts.models import Department
from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit, audit_write
from govflow.engine.forms import FIELD_TYPES
from govflow.errors import InvalidInput

from .models import SENSITIVITIES, Dataset

DEFAULT_FILE = Path(__file__).resolve().parent / "datasets.yaml"
ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SHARING = ("unconditional", "conditional", "none")
FIELD_KINDS = tuple(t for t in FIELD_TYPES if t not in ("table", "multichoice"))
MAX_FIELDS = 200


@dataclass(frozen=True)
class DatasetField:
    id: str
    type: str
    sensitivity: str
    label: dict[str, str]
    shared_with: tuple[str, ...] | str = ()
    choices: tuple[tuple[str, dict[str, str]], ...] = ()

    def label_in(self, language: str) -> str:
        return self.label.get("en" if language.startswith("en") else "zh") or self.id

    def shared_with_department(self, code: str) -> bool:
        return self.shared_with == "all" or code in self.shared_with

    def display(self, value: Any, language: str) -> str:
        if value is None or value == "":
            return ""
        if self.choices:
            lang = "en" if language.startswith("en") else "zh"
            for choice, label in self.choices:
                if choice == str(value):
                    return label.get(lang) or choice
        if isinstance(value, bool):
            return ("Yes" if value else "No") if language.startswith("en") else ("是" if value else "否")
        return str(value)


def dataset_fields(dataset: Dataset) -> list[DatasetField]:
    return [
        DatasetField(
            id=f["id"],
            type=f["type"],
            sensitivity=f["sensitivity"],
            label=dict(f["label"]),
            shared_with="all" if f.get("shared_with") == "all" else tuple(f.get("shared_with") or ()),
            choices=tuple((c["value"], dict(c["label"])) for c in f.get("choices") or ()),
        )
        for f in dataset.fields
    ]


# -- reading the file -----------------------------------------------------------


def parse_catalogue(text: str) -> list[dict[str, Any]]:
    """The datasets of a catalogue file, checked; InvalidInput lists every
    problem (by dataset and field) when anything is wrong."""
    try:
        document = YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        raise InvalidInput(f"the catalogue file is not valid YAML: {exc}") from exc
    problems: dict[str, list[str]] = {}
    if not isinstance(document, dict) or not isinstance(document.get("datasets"), list):
        raise InvalidInput("the catalogue file needs a list under 'datasets'")
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, raw in enumerate(document["datasets"]):
        where = f"datasets[{index}]"
        entry = _dataset(raw, where, problems)
        if entry is None:
            continue
        if entry["code"] in seen:
            problems.setdefault(where, []).append(f"dataset '{entry['code']}' is defined twice")
            continue
        seen.add(entry["code"])
        entries.append(entry)
    if problems:
        raise InvalidInput("the catalogue file has problems", fields=problems)
    return entries


def _label(raw: Any) -> dict[str, str] | None:
    if not isinstance(raw, dict) or set(raw) != {"zh", "en"}:
        return None
    if not all(isinstance(v, str) and v.strip() for v in raw.values()):
        return None
    return {"zh": raw["zh"].strip(), "en": raw["en"].strip()}


def _dataset(raw: Any, where: str, problems: dict[str, list[str]]) -> dict[str, Any] | None:
    def problem(message: str, at: str = where) -> None:
        problems.setdefault(at, []).append(message)

    if not isinstance(raw, dict):
        problem("each dataset must be a mapping")
        return None
    allowed = {
        "code",
        "title",
        "description",
        "owner",
        "process",
        "key",
        "update_rule",
        "sharing",
        "licence",
        "fields",
    }
    for key in raw:
        if key not in allowed:
            problem(f"unknown key '{key}' (allowed: {', '.join(sorted(allowed))})")
    code = raw.get("code")
    if not isinstance(code, str) or not ID_RE.match(code):
        problem("'code' must be a lowercase identifier")
        return None
    where = f"{where} ({code})"
    labels = {}
    for key in ("title", "description", "key", "update_rule", "licence"):
        labels[key] = _label(raw.get(key))
        if labels[key] is None:
            problem(f"'{key}' needs non-empty zh and en texts", where)
    for key in ("owner", "process"):
        if not isinstance(raw.get(key), str) or not ID_RE.match(raw[key]):
            problem(f"'{key}' must be a code (a department / a template id)", where)
    if raw.get("sharing") not in SHARING:
        problem(f"'sharing' must be one of {', '.join(SHARING)}", where)
    fields: list[dict[str, Any]] = []
    raw_fields = raw.get("fields")
    if not isinstance(raw_fields, list) or not raw_fields or len(raw_fields) > MAX_FIELDS:
        problem(f"'fields' must list 1 to {MAX_FIELDS} fields", where)
        raw_fields = []
    ids: set[str] = set()
    for index, item in enumerate(raw_fields):
        at = f"{where}.fields[{index}]"
        spec = _field(item, at, problem)
        if spec is None:
            continue
        if spec["id"] in ids:
            problem(f"field '{spec['id']}' is listed twice", at)
            continue
        ids.add(spec["id"])
        fields.append(spec)
    if any(labels[k] is None for k in labels) or where in problems:
        return None
    return {
        "code": code,
        "title": labels["title"],
        "description": labels["description"],
        "owner": raw["owner"],
        "process": raw["process"],
        "key": labels["key"],
        "update_rule": labels["update_rule"],
        "sharing": raw["sharing"],
        "licence": labels["licence"],
        "fields": fields,
    }


def _field(item: Any, at: str, problem) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        problem("each field must be a mapping", at)
        return None
    for key in item:
        if key not in ("id", "type", "sensitivity", "label", "shared_with", "choices"):
            problem(f"unknown key '{key}'", at)
    field_id = item.get("id")
    if not isinstance(field_id, str) or not ID_RE.match(field_id):
        problem("'id' must be a lowercase identifier", at)
        return None
    ok = True
    if item.get("type") not in FIELD_KINDS:
        problem(f"'type' must be one of {', '.join(FIELD_KINDS)}", at)
        ok = False
    sensitivity = item.get("sensitivity", "public")
    if sensitivity not in SENSITIVITIES:
        problem("'sensitivity' must be public, internal or secret", at)
        ok = False
    label = _label(item.get("label"))
    if label is None:
        problem("'label' needs non-empty zh and en texts", at)
        ok = False
    shared = item.get("shared_with", [])
    if shared != "all" and (
        not isinstance(shared, list) or not all(isinstance(c, str) and ID_RE.match(c) for c in shared)
    ):
        problem("'shared_with' must be 'all' or a list of department codes", at)
        ok = False
    choices = []
    for choice in item.get("choices") or []:
        choice_label = _label(choice.get("label")) if isinstance(choice, dict) else None
        if choice_label is None or not isinstance(choice.get("value"), str):
            problem("each choice needs a text 'value' and a zh/en 'label'", at)
            ok = False
            continue
        choices.append({"value": choice["value"], "label": choice_label})
    if not ok:
        return None
    spec: dict[str, Any] = {
        "id": field_id,
        "type": item["type"],
        "sensitivity": sensitivity,
        "label": label,
        "shared_with": shared,
    }
    if choices:
        spec["choices"] = choices
    return spec


# -- defining -------------------------------------------------------------------


@transaction.atomic
def datasets_define(
    *, entries: list[dict[str, Any]], actor=None, now: datetime | None = None
) -> list[Dataset]:
    """Create or update the datasets of checked entries (parse_catalogue).
    Idempotent: an unchanged dataset is left alone; a new or changed one is
    written and recorded in the audit trail."""
    now = now or timezone.now()
    owners = {d.code: d for d in Department.objects.filter(code__in={e["owner"] for e in entries})}
    missing = sorted({e["owner"] for e in entries} - set(owners))
    shared = {c for e in entries for f in e["fields"] if f["shared_with"] != "all" for c in f["shared_with"]}
    unknown = sorted(shared - set(Department.objects.filter(code__in=shared).values_list("code", flat=True)))
    if missing or unknown:
        raise InvalidInput(f"unknown department(s): {', '.join(missing + unknown)}")
    audits: list[PendingAudit] = []
    datasets = []
    for entry in entries:
        values = {
            "title_zh": entry["title"]["zh"],
            "title_en": entry["title"]["en"],
            "description_zh": entry["description"]["zh"],
            "description_en": entry["description"]["en"],
            "owner": owners[entry["owner"]],
            "process": entry["process"],
            "key_label_zh": entry["key"]["zh"],
            "key_label_en": entry["key"]["en"],
            "update_rule_zh": entry["update_rule"]["zh"],
            "update_rule_en": entry["update_rule"]["en"],
            "sharing": entry["sharing"],
            "licence_zh": entry["licence"]["zh"],
            "licence_en": entry["licence"]["en"],
            "fields": entry["fields"],
        }
        dataset = Dataset.objects.select_for_update().filter(code=entry["code"]).first()
        if dataset is not None and all(getattr(dataset, k) == v for k, v in values.items()):
            datasets.append(dataset)
            continue
        created = dataset is None
        dataset = dataset or Dataset(code=entry["code"])
        for key, value in values.items():
            setattr(dataset, key, value)
        dataset.defined_at = now
        dataset.save()
        datasets.append(dataset)
        audits.append(
            PendingAudit(
                action=Action.CATALOG_DATASET_DEFINED,
                at=now,
                actor_id=actor.pk if actor is not None else None,
                object_type="dataset",
                object_id=dataset.code,
                data={"created": created, "owner": entry["owner"], "process": entry["process"]},
            )
        )
    audit_write(audits)
    return datasets


def catalogue_load_file(path: str | Path | None = None, *, actor=None) -> list[Dataset]:
    text = Path(path or DEFAULT_FILE).read_text(encoding="utf-8")
    return datasets_define(entries=parse_catalogue(text), actor=actor)
