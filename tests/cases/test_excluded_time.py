"""Excluded time per branch (行政许可法 art 45): an expert review excluded
from the clock stops only its own branch; a parallel review's SLA keeps
running, the case's statutory clock stops only while every live branch is
stopped, and the applicant is told in writing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from govflow.cases.models import Case, Task
from govflow.cases.services import case_create, case_submit
from govflow.letters.models import Letter
from govflow.outbox.services import outbox_drain
from govflow.processes.services import process_publish
from govflow.timers.models import Timer
from govflow.timers.services import calendar_invalidate
from tests.deciding import claim_and_complete

pytestmark = [pytest.mark.django_db, pytest.mark.procedure]
TEMPLATE = Path(__file__).resolve().parents[1] / "data" / "services" / "excluded_branch.yaml"


def beijing(year, month, day, hour=10):
    return datetime(year, month, day, hour - 8, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_calendar_cache():
    calendar_invalidate()
    yield
    calendar_invalidate()


def submit(applicant, source: str) -> Case:
    process_publish(source=source)
    at = beijing(2026, 3, 2)  # a Monday
    case = case_create(
        applicant=applicant, template_code="test_excluded_branch", data={"company_name": "示例"}, now=at
    )
    return case_submit(case_id=case.pk, actor=applicant, now=at)


def decide(base_data, case, node, reviewer, at):
    task = Task.objects.get(case=case, node_id=node, status__in=["open", "claimed"])
    claim_and_complete(task_id=task.pk, actor=base_data[reviewer], outcome="approve", opinion="同意", now=at)


def test_a_branch_scoped_exclusion_leaves_the_parallel_sla_running(base_data, applicant):
    # Given a case whose fire branch is in an excluded expert review
    case = submit(applicant, TEMPLATE.read_text(encoding="utf-8"))

    # Then the tax review's SLA runs: due at 17:00 on the 5th working day
    breach = Timer.objects.get(case=case, kind="sla_breach", node_id="tax")
    assert (breach.status, breach.due_at) == (Timer.PENDING, beijing(2026, 3, 9, 17))
    case.refresh_from_db()
    assert case.clock_paused_at is None

    # When tax decides on Wednesday, only the excluded branch is left
    decide(base_data, case, "tax", "tax_reviewer", beijing(2026, 3, 4))

    # Then the statutory clock stops from then on
    case.refresh_from_db()
    assert case.clock_paused_at == beijing(2026, 3, 4)

    # When the experts finish four working days later, the case ends with
    # those four days not counted
    decide(base_data, case, "experts", "fire_reviewer", beijing(2026, 3, 10))
    case.refresh_from_db()
    assert case.status == "approved"
    assert case.paused_seconds == 4 * 8 * 3600


def test_a_case_scoped_exclusion_stops_every_sla(base_data, applicant):
    source = TEMPLATE.read_text(encoding="utf-8").replace(
        "excluded: true\n", "excluded: true\n      scope: case\n"
    )
    case = submit(applicant, source)

    breach = Timer.objects.get(case=case, kind="sla_breach", node_id="tax")
    assert breach.status == Timer.PAUSED
    case.refresh_from_db()
    assert case.clock_paused_at == beijing(2026, 3, 2)

    # When the experts finish, the tax SLA runs again with its full time
    decide(base_data, case, "experts", "fire_reviewer", beijing(2026, 3, 10))
    breach.refresh_from_db()
    assert (breach.status, breach.due_at) == (Timer.PENDING, beijing(2026, 3, 17, 17))


def test_the_applicant_is_told_in_writing_with_the_basis_and_the_expected_length(base_data, applicant):
    case = submit(applicant, TEMPLATE.read_text(encoding="utf-8"))

    outbox_drain()
    outbox_drain()  # a second run issues nothing more

    letter = Letter.objects.get(case=case, kind="excluded_time")
    text = " ".join(letter.paragraphs)
    assert "专家评审" in text
    assert "预计15个工作日" in text
    assert "第十七条" in letter.legal_basis
    assert Letter.objects.filter(case=case, kind="excluded_time").count() == 1
