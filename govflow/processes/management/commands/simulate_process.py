"""simulate_process PATH (--decisions FILE | --approve-all) [--json]

Runs a case through the engine with no database: scripted form data and
decisions on a virtual working-day clock (see govflow.engine.simulate)."""

import json
import re

from django.core.management.base import BaseCommand
from django.utils import timezone
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from govflow.engine.loader import _key_pos, _scan, _value_pos
from govflow.engine.simulate import (
    Script,
    SimulationDataError,
    SimulationError,
    script_from_mapping,
    simulate,
)
from govflow.processes.cli import read_definition

SCRIPT_KEYS = ("data", "decisions", "durations", "results", "corrections")
PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class Command(BaseCommand):
    help = "Dry-run a process template with scripted data and decisions (no database needed)."

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="PATH")
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument(
            "--decisions", metavar="FILE", help="YAML with data:, decisions:, durations:, results:"
        )
        mode.add_argument("--approve-all", action="store_true", help="approve every task, using example data")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, path, decisions, approve_all, json: bool, **options):
        definition, problems = read_definition(path)
        if problems:
            for line in problems:
                self.stdout.write(line)
            raise SystemExit(1)
        raw = None
        script = Script()
        if decisions:
            raw, errors = self.read_script(decisions, definition)
            if errors:
                for line in errors:
                    self.stdout.write(line)
                raise SystemExit(1)
            script = script_from_mapping(raw)
        try:
            result = simulate(definition, script, today=timezone.localdate())
        except SimulationDataError as exc:
            for error in exc.errors:
                line, col = self.data_position(getattr(self, "document", None), error.path)
                where = decisions or path
                self.stdout.write(
                    f"{where}:{line}:{col}: data.{error.path}: {error.message.get('en', error.code)}"
                )
            raise SystemExit(1) from None
        except SimulationError as exc:
            self.stdout.write(f"{decisions or path}:1:1: simulation failed: {exc.message}")
            raise SystemExit(1) from None
        if json:
            self.stdout.write(_dumps(result.as_json()))
            return
        out = result.as_json()
        self.stdout.write(f"outcome: {out['outcome']}")
        self.stdout.write(
            f"working days: {out['working_days']}"
            + (f" (limit {out['time_limit_days']:g})" if out["time_limit_days"] else "")
        )
        self.stdout.write("trace: " + " -> ".join(out["trace"]))
        for cert in out["certificates"]:
            self.stdout.write(f"certificate: {cert['type']} by {cert['department']}")

    def read_script(self, path: str, definition):
        try:
            with open(path, "rb") as stream:
                source = stream.read()
        except OSError as exc:
            return None, [f"{path}:1:1: cannot read the file: {exc.strerror or exc}"]
        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError:
            return None, [f"{path}:1:1: file is not UTF-8 text"]
        if "\x00" in text:
            return None, [f"{path}:1:1: file is binary, not YAML text"]
        scanned = _scan(text)
        if scanned:
            return None, [p.format(path) for p in scanned]
        try:
            raw = YAML(typ="rt", pure=True).load(text)
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            return None, [f"{path}:{line}:{col}: YAML syntax error: {getattr(exc, 'problem', exc)}"]
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            return None, [f"{path}:1:1: a decisions file is a mapping with {', '.join(SCRIPT_KEYS)}"]
        errors = []

        def err(pos, message):
            errors.append(f"{path}:{pos[0]}:{pos[1]}: {message}")

        for key in raw:
            if key not in SCRIPT_KEYS:
                err(_key_pos(raw, key), f"unknown key '{key}' (allowed: {', '.join(SCRIPT_KEYS)})")
        for key in SCRIPT_KEYS:
            if raw.get(key) is not None and not isinstance(raw[key], dict):
                err(_value_pos(raw, key), f"'{key}' must be a mapping")
        if errors:
            return None, errors
        for section in ("decisions", "durations", "results", "corrections"):
            mapping = raw.get(section) or {}
            for node_id in mapping:
                if node_id not in definition.nodes:
                    err(_key_pos(mapping, node_id), f"{section}: unknown node '{node_id}'")
        for node_id, value in (raw.get("decisions") or {}).items():
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, str) for v in values):
                err(
                    _value_pos(raw["decisions"], node_id),
                    f"decisions: '{node_id}' takes an outcome or a list of them",
                )
        for node_id, value in (raw.get("durations") or {}).items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                err(
                    _value_pos(raw["durations"], node_id),
                    f"durations: '{node_id}' takes a number of working days",
                )
        for node_id, value in (raw.get("results") or {}).items():
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, dict) for v in values):
                err(
                    _value_pos(raw["results"], node_id),
                    f"results: '{node_id}' takes a mapping or a list of them",
                )
        self.document = raw  # keeps line/column positions for data errors
        return (None, errors) if errors else (_plain(raw), [])

    def data_position(self, raw, field_path: str) -> tuple[int, int]:
        if not raw or "data" not in raw:
            return 1, 1
        node = raw["data"]
        pos = _key_pos(raw, "data")
        for name, index in PATH_PART.findall(field_path):
            try:
                if name and isinstance(node, dict) and name in node:
                    pos = _key_pos(node, name)
                    node = node[name]
                elif index and isinstance(node, list) and int(index) < len(node):
                    line, col = node.lc.item(int(index))
                    pos = (line + 1, col + 1)
                    node = node[int(index)]
                else:
                    break
            except (AttributeError, KeyError, TypeError):
                break
        return pos


def _plain(value):
    """ruamel's commented containers and scalars as plain Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)
