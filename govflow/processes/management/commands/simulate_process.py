"""simulate_process PATH (--decisions FILE | --approve-all) [--start YYYY-MM-DD
[--calendar FILE]] [--json]

Runs a case through the engine with no database: scripted form data and
decisions on a virtual working-day clock (see govflow.engine.simulate). With
--start the run is also laid on the working-day calendar: the database's
calendar by default (the file in fixtures/calendar/ when the database has
none), or the file given with --calendar."""

import json
import re
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from govflow.command_language import TranslatedCommand, short_language
from govflow.engine.loader import _key_pos, _scan, _value_pos
from govflow.engine.simulate import (
    Script,
    SimulationDataError,
    SimulationError,
    script_from_mapping,
    simulate,
)
from govflow.messages import engine_text
from govflow.processes.cli import read_definition
from govflow.timers.calendar import WorkingCalendar, load_calendar_file
from govflow.timers.services import calendar_get

SCRIPT_KEYS = ("data", "decisions", "durations", "results", "corrections", "commitments", "signers")
COMMITMENT_SCRIPT = {"materials": ("supplied", "missing"), "verification": ("confirmed", "false")}
PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A case is taken as accepted at office open of its start date.
ACCEPTED_AT = time(9)
START_YEARS = range(1900, 2201)  # the years a calendar file may hold


class Command(TranslatedCommand):
    help = "Dry-run a process template with scripted data and decisions (no database needed)."

    def add_arguments(self, parser):
        parser.add_argument("path", metavar="PATH")
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument(
            "--decisions", metavar="FILE", help="YAML with data:, decisions:, durations:, results:"
        )
        mode.add_argument("--approve-all", action="store_true", help="approve every task, using example data")
        parser.add_argument(
            "--start",
            metavar="YYYY-MM-DD",
            help="the date the case is accepted: report real due dates on the working-day calendar",
        )
        parser.add_argument(
            "--calendar",
            metavar="FILE",
            help="with --start: count on this calendar file instead of the database's calendar",
        )
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, path, decisions, approve_all, json: bool, start, calendar, **options):
        accepted = None
        if start is not None:
            accepted = _parse_start(start)
            if accepted is None:
                self.stdout.write(
                    _("--start: '%(start)s' is not a date written as YYYY-MM-DD") % {"start": start}
                )
                raise SystemExit(1)
            if accepted.year not in START_YEARS:
                self.stdout.write(
                    _("--start: %(start)s is not in a year a calendar can hold (1900 to 2200)")
                    % {"start": start}
                )
                raise SystemExit(1)
        elif calendar is not None:
            self.stdout.write(_("--calendar: only used with --start"))
            raise SystemExit(1)
        definition, problems = read_definition(path)
        if problems:
            for line in problems:
                self.stdout.write(line)
            raise SystemExit(1)
        working = None
        if accepted is not None:
            working, problem = self.working_calendar(definition.calendar, calendar)
            if problem:
                self.stdout.write(problem)
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
            if accepted is None:
                result = simulate(definition, script, today=timezone.localdate())
            else:
                moment = datetime.combine(accepted, ACCEPTED_AT, tzinfo=ZoneInfo(working.tz))
                result = simulate(definition, script, today=accepted, start=moment, calendar=working)
        except SimulationDataError as exc:
            language = short_language()
            for error in exc.errors:
                line, col = self.data_position(getattr(self, "document", None), error.path)
                where, field = decisions or path, "data." + error.path  # the field's path in the script
                self.stdout.write(f"{where}:{line}:{col}: {field}: {error.message.get(language, error.code)}")
            raise SystemExit(1) from None
        except SimulationError as exc:
            self.stdout.write(self.failure_line(exc, path, decisions))
            raise SystemExit(1) from None
        if json:
            self.stdout.write(_dumps(result.as_json()))
            return
        self.write_text(result.as_json())

    def write_text(self, out) -> None:
        """The run for a person to read, in the active language; the words
        change, the identifiers (nodes, departments, certificates) do not."""
        self.stdout.write(_("outcome: %(outcome)s") % {"outcome": status_text(out["outcome"])})
        limit_days = out["time_limit_days"]
        self.stdout.write(
            (_("working days: %(days)s (limit %(limit)s)") if limit_days else _("working days: %(days)s"))
            % {"days": out["working_days"], "limit": f"{limit_days:g}" if limit_days else ""}
        )
        # With a statutory limit, both limits side by side (the line above
        # gives the promise alone)
        for label, limit, within in (
            (_("promised (time_limit)"), out["time_limit_days"], out["within_time_limit"]),
            (_("statutory (statutory_limit)"), out["statutory_limit_days"], out["within_statutory_limit"]),
        ):
            if limit is not None and out["statutory_limit_days"] is not None:
                verdict = (
                    _("%(label)s: %(limit)s working days, within (%(counted)s counted)")
                    if within
                    else _("%(label)s: %(limit)s working days, over (%(counted)s counted)")
                )
                self.stdout.write(
                    verdict % {"label": label, "limit": f"{limit:g}", "counted": out["working_days"]}
                )
        skipped = out["not_counted_days"]
        if any(skipped.values()):
            self.stdout.write(
                _("not counted: %(excluded)s excluded (art 45), %(applicant)s with the applicant")
                % {"excluded": skipped.get("excluded", 0), "applicant": skipped.get("applicant", 0)}
            )
        for step in out["excluded_steps"]:
            self.stdout.write(
                _("excluded step: %(node)s took %(days)s working days")
                % {"node": step["node"], "days": step["days"]}
            )
        self.stdout.write(_("trace: %(steps)s") % {"steps": " -> ".join(out["trace"])})
        if "accepted" in out:
            accepted = out["accepted"]
            values = {"node": accepted["node"], "day": f"{accepted['day']:g}"}
            self.stdout.write(
                (
                    _("accepted: at %(node)s on working day %(day)s by silence (art 32(4))")
                    if accepted["deemed"]
                    else _("accepted: at %(node)s on working day %(day)s")
                )
                % values
            )
        for cert in out["certificates"]:
            self.stdout.write(
                _("certificate: %(type)s by %(department)s")
                % {"type": cert["type"], "department": cert["department"]}
            )
        if "items" in out:
            # 一件事: a line per item, and the bundle's outcome
            self.stdout.write(_("bundle: %(outcome)s") % {"outcome": status_text(out["bundle_outcome"])})
            for item in out["items"]:
                line = _("item: %(item)s (%(department)s) %(status)s") % {
                    "item": item["item"],
                    "department": item["department"],
                    "status": pgettext("item status", item["status"]) if item["status"] else "",
                }
                if "ended_day" in item and "started_day" in item:
                    line += _(", working days %(first)s to %(last)s") % {
                        "first": f"{item['started_day']:g}",
                        "last": f"{item['ended_day']:g}",
                    }
                if item["certificates"]:
                    line += _(", certificates: %(types)s") % {"types": ", ".join(item["certificates"])}
                self.stdout.write(line)
        if "start" in out:
            self.write_dates(out)

    def write_dates(self, out) -> None:
        first = date.fromisoformat(out["start"]).year

        def note(item, on: str) -> str:
            if not item["provisional"]:
                return ""
            last = date.fromisoformat(on).year
            years = [str(y) for y in out["provisional_years"] if first <= y <= last]
            if len(years) > 1:
                return _(" (provisional: the %(years)s calendars are not loaded)") % {
                    "years": _(" and ").join(years)
                }
            return _(" (provisional: the %(years)s calendar is not loaded)") % {"years": "".join(years)}

        self.stdout.write(_("start: %(date)s") % {"date": out["start"]})
        self.stdout.write(_("end date: %(date)s") % {"date": out["end_date"]})
        for item in out["decisions"]:
            values = {
                "node": item["node"],
                "outcome": pgettext("decision outcome", item["outcome"]),
                "date": item["date"],
            }
            self.stdout.write(
                _("decision: %(node)s %(outcome)s on %(date)s") % values + note(item, item["date"])
            )
        for item in out["deadlines"]:
            values = {
                "node": item["node"],
                "kind": pgettext("deadline kind", item["kind"]),
                "due": item["due"],
            }
            self.stdout.write(_("deadline: %(node)s %(kind)s due %(due)s") % values + note(item, item["due"]))
        if out["provisional_dates"]:
            years = ", ".join(str(y) for y in out["provisional_years"])
            self.stdout.write(
                _(
                    "provisional dates: %(years)s counted Monday to Friday "
                    "until the State Council notice is loaded"
                )
                % {"years": years}
            )

    def working_calendar(self, code: str, path: str | None) -> tuple[WorkingCalendar | None, str]:
        """The calendar to count on, or (None, the problem in one line).

        By default the database's calendar (the one admins maintain); the
        shipped fixtures/calendar/<code>.yaml when the database is unreachable
        or has no such calendar, said on stderr."""
        if path is None:
            try:
                found = calendar_get(code)
            except DatabaseError as exc:  # no database yet, or not migrated
                found = None
                why = _("cannot read the database: %(error)s") % {"error": " ".join(str(exc).split())}
            else:
                why = _("the database has no '%(code)s' calendar") % {"code": code}
            if found is not None and found.years:
                return found, ""
            path = str(Path(settings.GOVFLOW_FIXTURES_DIR) / "calendar" / f"{code}.yaml")
            self.stderr.write(_("calendar: %(path)s (%(why)s)") % {"path": path, "why": why})
        try:
            return WorkingCalendar(load_calendar_file(path)), ""
        except OSError as exc:
            return None, f"{path}:1:1: " + _("cannot read the calendar file: %(reason)s") % {
                "reason": exc.strerror or exc
            }
        except ValueError as exc:
            return None, " ".join(str(exc).split())

    def read_script(self, path: str, definition):
        try:
            with open(path, "rb") as stream:
                source = stream.read()
        except OSError as exc:
            return None, [
                f"{path}:1:1: " + _("cannot read the file: %(reason)s") % {"reason": exc.strerror or exc}
            ]
        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError:
            return None, [f"{path}:1:1: " + _("file is not UTF-8 text")]
        if "\x00" in text:
            return None, [f"{path}:1:1: " + _("file is binary, not YAML text")]
        scanned = _scan(text)
        if scanned:
            return None, [f"{path}:{p.line}:{p.col}: {engine_text(p.message)}" for p in scanned]
        try:
            raw = YAML(typ="rt", pure=True).load(text)
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            problem = _("YAML syntax error: %(problem)s") % {"problem": getattr(exc, "problem", exc)}
            return None, [f"{path}:{line}:{col}: {problem}"]
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            return None, [
                f"{path}:1:1: "
                + _("a decisions file is a mapping with %(keys)s") % {"keys": ", ".join(SCRIPT_KEYS)}
            ]
        errors = []

        def err(pos, message):
            errors.append(f"{path}:{pos[0]}:{pos[1]}: {message}")

        for key in raw:
            if key not in SCRIPT_KEYS:
                err(
                    _key_pos(raw, key),
                    _("unknown key '%(key)s' (allowed: %(keys)s)")
                    % {"key": key, "keys": ", ".join(SCRIPT_KEYS)},
                )
        for key in SCRIPT_KEYS:
            if raw.get(key) is not None and not isinstance(raw[key], dict):
                err(_value_pos(raw, key), _("'%(key)s' must be a mapping") % {"key": key})
        if errors:
            return None, errors
        for section in ("decisions", "durations", "results", "corrections", "signers"):
            mapping = raw.get(section) or {}
            for node_id in mapping:
                if node_id not in definition.nodes:
                    err(
                        _key_pos(mapping, node_id),
                        _("%(section)s: unknown node '%(node)s'") % {"section": section, "node": node_id},
                    )
        for node_id, value in (raw.get("decisions") or {}).items():
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, str) for v in values):
                err(
                    _value_pos(raw["decisions"], node_id),
                    _("decisions: '%(node)s' takes an outcome or a list of them") % {"node": node_id},
                )
        for node_id, value in (raw.get("signers") or {}).items():
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, str) and v.strip() for v in values):
                err(
                    _value_pos(raw["signers"], node_id),
                    _("signers: '%(node)s' takes a person's name or a list of them") % {"node": node_id},
                )
        for node_id, value in (raw.get("durations") or {}).items():
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                err(
                    _value_pos(raw["durations"], node_id),
                    _("durations: '%(node)s' takes a number of working days") % {"node": node_id},
                )
        for node_id, value in (raw.get("results") or {}).items():
            values = value if isinstance(value, list) else [value]
            if not values or not all(isinstance(v, dict) for v in values):
                err(
                    _value_pos(raw["results"], node_id),
                    _("results: '%(node)s' takes a mapping or a list of them") % {"node": node_id},
                )
        commitments = raw.get("commitments") or {}
        for key, value in commitments.items():
            if key not in COMMITMENT_SCRIPT:
                err(
                    _key_pos(commitments, key),
                    _("commitments: unknown key '%(key)s' (allowed: materials, verification)") % {"key": key},
                )
            elif str(value).lower() not in COMMITMENT_SCRIPT[key]:
                err(
                    _value_pos(commitments, key),
                    _("commitments: '%(key)s' takes %(first)s or %(second)s")
                    % {"key": key, "first": COMMITMENT_SCRIPT[key][0], "second": COMMITMENT_SCRIPT[key][1]},
                )
            elif key == "materials" and not definition.deferrable_slots():
                err(
                    _key_pos(commitments, key),
                    _("commitments: the template has no deferrable document (容缺)"),
                )
            elif key == "verification" and definition.verification is None:
                err(
                    _key_pos(commitments, key),
                    _("commitments: the template has no 'verification' (告知承诺)"),
                )
        self.document = raw  # keeps line/column positions for data errors
        return (None, errors) if errors else (_plain(raw), [])

    def failure_line(self, exc: SimulationError, path: str, decisions: str | None) -> str:
        """One `FILE:LINE:COL: simulation failed: ...` line: at the scripted
        entry that caused the failure, else at the node where the case
        stopped in the template, else at the start of the file."""
        document = getattr(self, "document", None)
        failed = _("simulation failed: %(reason)s") % {"reason": engine_text(exc.message)}
        if exc.script is not None and decisions and document is not None:
            section, node_id, index = exc.script
            entries = document.get(section)
            if isinstance(entries, dict) and node_id in entries:
                line, col = _value_pos(entries, node_id)
                value = entries[node_id]
                if index is not None and isinstance(value, list) and index < len(value):
                    try:
                        item_line, item_col = value.lc.item(index)
                        line, col = item_line + 1, item_col + 1
                    except (AttributeError, KeyError, TypeError):
                        pass
                return f"{decisions}:{line}:{col}: {failed}"
        if exc.nodes:
            _node, line, col = exc.nodes[0]
            return f"{path}:{line}:{col}: {failed}"
        return f"{decisions or path}:1:1: {failed}"

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


def status_text(status: str | None) -> str:
    """A case's or a bundle's outcome in words (准予许可 / approved)."""
    return pgettext("case outcome", status) if status else ""


def _parse_start(text: str) -> date | None:
    if not ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:  # 2026-02-30
        return None


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
