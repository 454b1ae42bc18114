"""Fixtures for the insight tests: a small two-department template whose
cases are driven through the real services at chosen moments, so every
working-day figure can be worked out by hand on the calendar."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.deciding import claim_and_complete

PROBE = """
id: insight_probe
title: {zh: 统计探针, en: Statistics probe}
calendar: cn
time_limit: {days: 3}
form:
  fields:
    - {id: company_name, type: text, label: {zh: 名称, en: Name}, required: true, max_length: 50}
nodes:
  - {id: start, type: start, next: split}
  - {id: split, type: parallel, next: [review_a, review_b]}
  - id: review_a
    type: user_task
    title: {zh: 市场监管审查, en: Market review}
    department: market_regulation
    sla: {days: 2, on_breach: escalate}
    outcomes: {approve: join, reject: rejected, return: fix}
  - id: fix
    type: correction
    title: {zh: 补正, en: Correct}
    deadline: {days: 5}
    on_timeout: withdrawn
    next: review_a
  - id: review_b
    type: user_task
    title: {zh: 消防审查, en: Fire review}
    department: fire
    sla: {days: 1, on_breach: approve, legal_basis: "测试用地方规定 / a local rule for the tests"}
    outcomes: {approve: join, reject: rejected}
  - {id: join, type: parallel, next: approved}
  - {id: approved, type: end, title: {zh: 准予, en: Approved}, outcome: approved}
  - {id: rejected, type: end, title: {zh: 不予, en: Rejected}, outcome: rejected}
  - {id: withdrawn, type: end, title: {zh: 撤回, en: Withdrawn}, outcome: withdrawn}
"""


def beijing(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """An instant given in Beijing time."""
    # In UTC, as timezone.now() gives: the audit chain hashes instants as written.
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


@pytest.fixture
def probe(base_data):
    from govflow.processes.services import process_publish

    return process_publish(source=PROBE).template


@pytest.fixture
def leader(base_data):
    return base_data["leader"]


class Driver:
    """Moves probe cases through the real services at given moments."""

    def __init__(self, applicant, market, fire):
        self.applicant, self.market, self.fire = applicant, market, fire
        # After each step the facts are projected, as beat does within
        # seconds in production (False: they wait until `project`).
        self.projecting = True

    def project(self) -> int:
        from govflow.insight.facts import facts_project

        return facts_project()

    def _step(self, result):
        if self.projecting:
            self.project()
        return result

    def submit(self, at: datetime, name: str = "北京测试科技有限公司"):
        from govflow.cases.services import case_create, case_submit

        case = case_create(
            applicant=self.applicant, template_code="insight_probe", data={"company_name": name}, now=at
        )
        return self._step(case_submit(case_id=case.pk, actor=self.applicant, now=at))

    def decide(self, case, node: str, outcome: str, at: datetime, opinion: str = ""):
        from govflow.cases.models import Task

        task = Task.objects.filter(case=case, node_id=node, status__in=["open", "claimed"]).get()
        actor = self.market if node == "review_a" else self.fire
        if outcome != "approve" and not opinion:
            opinion = "请补正材料" if outcome == "return" else "不符合条件"
        return self._step(
            claim_and_complete(task_id=task.pk, actor=actor, outcome=outcome, opinion=opinion, now=at)
        )

    def correct(self, case, at: datetime):
        from govflow.cases.services import case_answer_correction

        return self._step(
            case_answer_correction(
                case_id=case.pk, actor=self.applicant, data={"company_name": "北京测试科技有限公司"}, now=at
            )
        )

    def sweep(self, at: datetime) -> int:
        from govflow.cases.automation import timers_fire_due

        return self._step(timers_fire_due(now=at))


@pytest.fixture
def driver(probe, applicant, market_reviewer, fire_reviewer):
    return Driver(applicant, market_reviewer, fire_reviewer)


@pytest.fixture
def known_cases(driver):
    """Three cases with hand-computed working-day figures (see test_statistics.py)."""
    with_holiday = driver.submit(beijing(2026, 2, 13, 10))  # Fri; Sat 02-14 is a worked day
    driver.decide(with_holiday, "review_b", "approve", beijing(2026, 2, 14, 16))
    driver.decide(with_holiday, "review_a", "approve", beijing(2026, 2, 24, 12))  # after Spring Festival

    late = driver.submit(beijing(2026, 3, 3, 10))  # Tue
    assert driver.sweep(beijing(2026, 3, 4, 17, 1)) >= 1  # fire's SLA ends: silent consent
    assert driver.sweep(beijing(2026, 3, 5, 17, 1)) >= 1  # market's SLA ends: escalation
    driver.decide(late, "review_a", "approve", beijing(2026, 3, 6, 11))

    corrected = driver.submit(beijing(2026, 3, 9, 10))  # Mon
    driver.decide(corrected, "review_b", "approve", beijing(2026, 3, 9, 15))
    driver.decide(corrected, "review_a", "return", beijing(2026, 3, 10, 10))
    driver.correct(corrected, beijing(2026, 3, 12, 10))
    driver.decide(corrected, "review_a", "reject", beijing(2026, 3, 12, 16))
    for case in (with_holiday, late, corrected):
        case.refresh_from_db()
    return {"with_holiday": with_holiday, "late": late, "corrected": corrected}
