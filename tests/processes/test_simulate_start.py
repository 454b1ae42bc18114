"""simulate_process --start and --calendar: a dry run laid on the real
working-day calendar (docs/process-language.md, "simulate_process").

The test database holds the shipped calendar (2025 and 2026, see DOMAIN.md);
2027 is not loaded, so what is counted in 2027 is provisional. Every date is
given on the command line: nothing depends on the day the tests run.
"""

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from ruamel.yaml import YAML

from govflow.engine.simulate import Script, simulate
from govflow.processes.cli import read_definition
from govflow.timers.models import Calendar, CalendarDay
from govflow.timers.services import calendar_invalidate

ROOT = Path(__file__).resolve().parents[2]
CONSTRUCTION = str(ROOT / "workflows" / "construction_permit.yaml")
FIXTURE_CALENDAR = ROOT / "fixtures" / "calendar" / "cn.yaml"
pytestmark = pytest.mark.django_db

TWENTY_DAYS = """\
id: twenty-days
title: {zh: 二十日审查, en: Twenty-day review}
time_limit: {days: 20}
nodes:
  - {id: start, type: start, next: review}
  - id: review
    type: user_task
    title: {zh: 审查, en: Review}
    department: market_regulation
    sla: {days: 20}
    outcomes: {approve: done, reject: refused}
  - {id: done, type: end, title: {zh: 通过, en: Approved}, outcome: approved}
  - {id: refused, type: end, title: {zh: 驳回, en: Refused}, outcome: rejected}
"""


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    calendar_invalidate()
    yield
    calendar_invalidate()  # what a test changed is rolled back; so must the cache be


@pytest.fixture
def twenty_days(tmp_path):
    path = tmp_path / "twenty_days.yaml"
    path.write_text(TWENTY_DAYS, encoding="utf-8")
    return str(path)


@pytest.fixture
def calendar_with_2027(tmp_path):
    """The shipped calendar plus a 2027 that is a TEST FIXTURE: no notice for
    2027 is available, so its one break (2027-01-04..06) is made up."""
    document = YAML(typ="safe", pure=True).load(FIXTURE_CALENDAR.read_text(encoding="utf-8"))
    document["years"][2027] = {
        "source": {"title": "TEST FIXTURE - not the State Council notice for 2027"},
        "holidays": [
            {"from": "2027-01-04", "to": "2027-01-06", "name": {"zh": "测试假日", "en": "Test-only holiday"}}
        ],
        "workdays": [],
    }
    path = tmp_path / "cn-with-2027.yaml"
    with path.open("w", encoding="utf-8") as stream:
        YAML(typ="safe", pure=True).dump(document, stream)
    return str(path)


EN = ("--language", "en")  # the commands speak Chinese unless told otherwise


def run(*args):
    out, err = StringIO(), StringIO()
    try:
        call_command("simulate_process", *args, stdout=out, stderr=err, language="en")
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def run_json(*args):
    code, out, err = run(*args, "--json")
    assert code == 0, out
    return json.loads(out), err


def test_a_case_started_before_national_day_runs_past_the_break():
    # Given the construction permit, accepted on 2026-09-30 (the break is 10-01..10-07)
    # When it is simulated from that date
    result, err = run_json(CONSTRUCTION, "--approve-all", "--start", "2026-09-30")

    # Then the database's calendar was used (nothing said about it), every
    # deadline falls after the break, and the first 3-day review is decided
    # on the worked Saturday 2026-10-10
    assert err == ""
    assert result["start"] == "2026-09-30"
    assert result["deadlines"]
    assert min(d["due"] for d in result["deadlines"]) > "2026-10-07"
    # (stage 1 is accepted at the window on the day, 受理)
    accepted, first = result["decisions"][:2]
    assert (accepted["node"], accepted["outcome"], accepted["date"]) == ("s1_accept", "accept", "2026-09-30")
    assert (first["node"], first["day"], first["date"], first["provisional"]) == (
        "s1_project_filing",
        3.0,
        "2026-10-10",
        False,
    )
    assert "2026-10-10" in {d["due"] for d in result["deadlines"]}


def test_a_20_day_limit_from_late_december_is_provisional_in_2027(twenty_days):
    # Given a 20-working-day review accepted on Sunday 2026-12-20; 2027 is not loaded
    # When it is simulated from that date
    result, _ = run_json(twenty_days, "--approve-all", "--start", "2026-12-20")

    # Then its deadline is counted into 2027 by the weekday rule, and says so
    assert result["deadlines"] == [
        {"node": "review", "kind": "sla_breach", "due": "2027-01-15", "provisional": True}
    ]
    assert result["end_date"] == "2027-01-15"
    assert result["provisional_dates"] is True
    assert 2027 in result["provisional_years"]
    assert result["working_days"] == 20
    assert result["within_time_limit"] is True


def test_a_calendar_file_with_2027_makes_the_run_exact(twenty_days, calendar_with_2027):
    # Given the same case and a calendar file that has a (test-only) 2027 with
    # three weekdays off in January
    # When it is simulated on that file
    result, err = run_json(
        twenty_days, "--approve-all", "--start", "2026-12-20", "--calendar", calendar_with_2027
    )

    # Then the deadline is exact and three working days later (01-15 -> 01-20)
    assert err == ""
    assert result["deadlines"] == [
        {"node": "review", "kind": "sla_breach", "due": "2027-01-20", "provisional": False}
    ]
    assert result["decisions"][0]["date"] == "2027-01-20"
    assert result["provisional_dates"] is False
    assert result["provisional_years"] == []


def test_the_human_readable_output_gives_the_dates(twenty_days):
    # Given the 20-day case from late December
    # When it is simulated without --json
    code, out, _ = run(twenty_days, "--approve-all", "--start", "2026-12-20")

    # Then it prints the start, the end and each deadline, marking the provisional one
    assert code == 0, out
    lines = out.splitlines()
    assert "start: 2026-12-20" in lines
    assert "end date: 2027-01-15" in lines
    assert (
        "deadline: review sla_breach due 2027-01-15 (provisional: the 2027 calendar is not loaded)" in lines
    )
    assert any(line.startswith("provisional dates: 2027") for line in lines)


def test_without_start_the_output_is_what_it_always_was(twenty_days):
    # Given a template simulated without --start
    definition, problems = read_definition(CONSTRUCTION)
    assert problems == []

    # When the command prints JSON and text
    result, _ = run_json(CONSTRUCTION, "--approve-all")
    code, text, _ = run(twenty_days, "--approve-all")

    # Then the JSON has only the abstract keys, decisions only abstract fields,
    # and is the engine's undated result; the text has no date lines
    assert list(result) == [
        "outcome",
        "trace",
        "certificates",
        "working_days",
        "time_limit_days",
        "within_time_limit",
        "statutory_limit_days",
        "within_statutory_limit",
        "not_counted_days",
        "excluded_steps",
        "decisions",
        "accepted",  # 受理: where and on which working day
    ]
    assert all(
        set(d) <= {"node", "outcome", "day", "silent_consent", "legal_basis"} for d in result["decisions"]
    )
    assert result == json.loads(json.dumps(simulate(definition, Script()).as_json(), default=str))
    assert code == 0
    assert text.splitlines() == [
        "outcome: approved",
        "working days: 20 (limit 20)",
        "trace: start -> review -> done",
    ]


def test_with_start_working_days_and_the_rest_stay_the_same():
    # Given the same run with and without --start
    plain, _ = run_json(CONSTRUCTION, "--approve-all")
    dated, _ = run_json(CONSTRUCTION, "--approve-all", "--start", "2026-09-30")

    # Then the dated run only adds to the undated one
    assert {key: dated[key] for key in plain if key != "decisions"} == {
        key: value for key, value in plain.items() if key != "decisions"
    }
    assert [{k: d[k] for k in plain["decisions"][0]} for d in dated["decisions"]] == plain["decisions"]


def test_the_database_calendar_is_the_default(twenty_days):
    # Given an admin marked 2026-12-24 a holiday in the database (a test-only edit)
    cn = Calendar.objects.get(code="cn")
    CalendarDay.objects.create(calendar=cn, date="2026-12-24", kind=CalendarDay.HOLIDAY, name="test only")
    calendar_invalidate()

    # When the 20-day case is simulated with no --calendar
    result, err = run_json(twenty_days, "--approve-all", "--start", "2026-12-20")

    # Then the database's day off counts, and no fallback is reported
    assert err == ""
    assert result["deadlines"][0]["due"] == "2027-01-18"


def test_with_no_calendar_in_the_database_the_shipped_file_is_used_and_said(twenty_days):
    # Given a database with no 'cn' calendar
    Calendar.objects.filter(code="cn").delete()
    calendar_invalidate()

    # When the 20-day case is simulated
    result, err = run_json(twenty_days, "--approve-all", "--start", "2026-12-20")

    # Then the shipped file was used, and stderr says so
    assert result["deadlines"][0]["due"] == "2027-01-15"
    assert str(FIXTURE_CALENDAR) in err
    assert "no 'cn' calendar" in err


@pytest.mark.parametrize("start", ["2026-02-30", "tomorrow", "2026-9-30", "20260930", "0999-01-01"])
def test_a_bad_start_is_one_line_and_exit_1(start):
    code, out, err = run(CONSTRUCTION, "--approve-all", "--start", start)
    assert code == 1
    assert len(out.splitlines()) == 1
    assert out.startswith(f"--start: {start}") or out.startswith(f"--start: '{start}'")
    assert "Traceback" not in out + err


def test_a_bad_calendar_file_is_one_line_and_exit_1(tmp_path):
    bad = tmp_path / "cal.yaml"
    bad.write_text(
        "jurisdiction: cn\nname: {zh: 甲, en: A}\nyears:\n  2027: {holidays: []}\n", encoding="utf-8"
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("years: [\n  : :\n", encoding="utf-8")
    for path, expected in [
        (bad, f"{bad}: year 2027: missing key 'source'"),
        (broken, f"{broken}: not valid YAML"),
        (tmp_path / "absent.yaml", f"{tmp_path / 'absent.yaml'}:1:1: cannot read the calendar file"),
    ]:
        code, out, _ = run(CONSTRUCTION, "--approve-all", "--start", "2026-09-30", "--calendar", str(path))
        assert code == 1
        assert len(out.splitlines()) == 1, out
        assert out.startswith(expected), out


def test_calendar_without_start_is_refused(calendar_with_2027):
    code, out, _ = run(CONSTRUCTION, "--approve-all", "--calendar", calendar_with_2027)
    assert code == 1
    assert out.strip() == "--calendar: only used with --start"


def test_form_dates_are_checked_against_the_start_date(tmp_path):
    # Given a template whose form date may not lie after "today", and data
    # dated the day after the start date (but long before the real today)
    template = tmp_path / "dated.yaml"
    template.write_text(
        "id: dated\n"
        "title: {zh: 日期, en: Dated}\n"
        "form:\n"
        "  fields:\n"
        "    - {id: signed_on, type: date, label: {zh: 签署日期, en: Signed on}, max: today}\n"
        "nodes:\n"
        "  - {id: start, type: start, next: done}\n"
        "  - {id: done, type: end, title: {zh: 完成, en: Done}, outcome: approved}\n",
        encoding="utf-8",
    )
    script = tmp_path / "d.yaml"
    script.write_text("data:\n  signed_on: 2020-01-03\n", encoding="utf-8")

    # When it is simulated from 2020-01-02
    code, out, _ = run(str(template), "--decisions", str(script), "--start", "2020-01-02")

    # Then the data is refused: "today" was the start date
    assert code == 1
    assert out.startswith(f"{script}:2:3: data.signed_on: ")


def test_with_no_database_at_all_the_shipped_calendar_is_used(tmp_path):
    # Given a fresh checkout with no database
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path}/none/absent.sqlite3",
        "GOVFLOW_VAR_DIR": str(tmp_path / "var"),
    }

    # When a dated simulation runs
    dated = ("--start", "2026-09-30")
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "simulate_process",
            CONSTRUCTION,
            "--approve-all",
            *dated,
            "--json",
            *EN,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # Then it works on fixtures/calendar/cn.yaml and says so on stderr
    assert done.returncode == 0, done.stderr
    # (decision 0 is stage 1's acceptance at the window, the day it was submitted)
    assert json.loads(done.stdout)["decisions"][1]["date"] == "2026-10-10"
    assert done.stderr.startswith(f"calendar: {FIXTURE_CALENDAR} (cannot read the database")


LARGE_PROJECT = str(ROOT / "tests" / "data" / "simulations" / "construction_permit_large_project.yaml")


@pytest.mark.procedure
def test_the_worst_construction_case_stays_within_the_120_day_reform_limit_on_the_real_calendar():
    # Given the worst case (a special chemical plant, every department using
    # its full limit, the EIA technical evaluation and the fire-design expert
    # review 20 working days each, a construction period of 60), accepted on
    # 2026-01-05
    result, err = run_json(CONSTRUCTION, "--decisions", LARGE_PROJECT, "--start", "2026-01-05")

    # Then it stays within the 国办发〔2019〕11号 limit of 120 working days
    # (it was 132 before the reform's stages, Order 51 and the EIA's calendar
    # days were drawn in), every date is on the loaded calendar
    assert err == ""
    assert (result["working_days"], result["time_limit_days"]) == (114.86, 120)
    assert result["within_time_limit"] is True
    assert result["provisional_dates"] is False
    # the construction period is the builder's time, the reviews the law
    # excludes are not counted
    assert result["not_counted_days"] == {"excluded": 25, "applicant": 60}
    # and the EIA report falls due 60 calendar days after the technical
    # evaluation (2026-02-13 + 60 days = Tuesday 2026-04-14), not 60 working days
    decided = {d["node"]: d["date"] for d in result["decisions"]}
    assert decided["s2_eia_evaluation"] == "2026-02-13"
    due = {(d["node"], d["kind"]): d["due"] for d in result["deadlines"]}
    assert due[("s2_eia_report", "sla_breach")] == "2026-04-14"
    # stage 4 is accepted only after the 60 working days of construction
    # that follow the permit
    assert (decided["s3_permit"], decided["s4_accept"]) == ("2026-06-30", "2026-09-21")
