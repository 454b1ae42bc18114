"""受理 (行政许可法 art 32) and the one-time correction notice (一次性告知)
through the services, on the real calendar (fixtures/calendar/cn.yaml)."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from govflow.audit.models import AuditEvent
from govflow.cases import events
from govflow.cases.automation import timers_fire_due
from govflow.cases.corrections import changes_since
from govflow.cases.models import Case, CaseRevision, CaseStatus, Task, TaskKind, TaskStatus
from govflow.cases.services import case_answer_correction, case_create, case_submit
from govflow.errors import Conflict, InvalidInput
from govflow.processes.services import process_publish, version_definition
from govflow.timers.models import Timer
from tests.deciding import claim_and_complete

from .conftest import live_task

pytestmark = pytest.mark.procedure

TEMPLATE = Path(__file__).parent.parent / "data" / "workflows" / "valid" / "acceptance.yaml"
# Wednesday 1 April 2026, 10:00 in Beijing; 4-6 April is the Qingming holiday.
SUBMITTED = datetime(2026, 4, 1, 2, 0, tzinfo=UTC)
BEIJING = ZoneInfo("Asia/Shanghai")
NAME_NOTICE = [{"kind": "field", "id": "company_name", "reason": "名称含有禁用字词"}]


@pytest.fixture
def template(base_data):
    return process_publish(source=TEMPLATE.read_text(encoding="utf-8")).template


def submit(applicant, name="北京受理示例科技有限公司", now=SUBMITTED):
    case = case_create(
        applicant=applicant,
        template_code="acceptance_demo",
        data={"company_name": name, "scope": "软件"},
        now=now,
    )
    return case_submit(case_id=case.pk, actor=applicant, now=now)


def accept_task(case):
    return live_task(case, "accept")


def test_the_case_waits_for_acceptance_and_silence_accepts_it_on_day_five(template, applicant):
    # Given a case submitted on the Wednesday before the Qingming holiday
    heard = []

    def hear(changes, found):
        heard.extend(found)

    events.subscribe(hear, events.CaseAccepted)
    try:
        case = submit(applicant)
        task = accept_task(case)
        assert case.status == CaseStatus.SUBMITTED
        assert case.accepted_at is None
        assert task.kind == TaskKind.ACCEPTANCE
        timer = Timer.objects.get(case=case, kind="acceptance_deadline")
        # the limit is 5 working days: 2, 3, 7, 8 and 9 April (4-6 April are holidays)
        assert timer.legal_effect is True
        assert timer.due_at.astimezone(BEIJING).date() == date(2026, 4, 9)

        # When the sweep runs just before the limit, nothing happens
        assert timers_fire_due(now=timer.due_at - timedelta(minutes=1)) == 0
        assert Case.objects.get(pk=case.pk).status == CaseStatus.SUBMITTED
        # and at the limit the application counts as accepted
        assert timers_fire_due(now=timer.due_at) == 1
    finally:
        events.unsubscribe(hear)

    case.refresh_from_db()
    task.refresh_from_db()
    # Then it is in review, accepted in law as of receipt (art 32(4)), by an automatic decision
    assert case.status == CaseStatus.IN_REVIEW
    assert case.accepted_at == SUBMITTED
    assert (task.status, task.outcome, task.silent_consent) == (TaskStatus.COMPLETED, "accept", True)
    assert "第三十二条" in task.legal_basis
    accepted = AuditEvent.objects.get(case=case, action="CASE_ACCEPTED")
    assert accepted.data["deemed"] is True
    assert accepted.data["node"] == "accept"
    assert [type(e).__name__ for e in heard] == ["CaseAccepted"]
    assert heard[0].deemed
    assert heard[0].at == SUBMITTED
    assert live_task(case, "review")  # the name check passed, the review is open


def test_a_decision_accepts_at_once_and_records_the_date(template, applicant, market_reviewer):
    case = submit(applicant)
    at = SUBMITTED + timedelta(hours=2)

    claim_and_complete(task_id=accept_task(case).pk, actor=market_reviewer, outcome="accept", now=at)

    case.refresh_from_db()
    assert (case.status, case.accepted_at) == (CaseStatus.IN_REVIEW, at)
    assert Timer.objects.get(case=case, kind="acceptance_deadline").status == Timer.CANCELLED
    assert AuditEvent.objects.get(case=case, action="CASE_ACCEPTED").data["deemed"] is False


def test_a_refusal_to_accept_needs_reasons_and_legal_basis_and_ends_the_case(
    template, applicant, market_reviewer
):
    case = submit(applicant)
    task = accept_task(case)

    with pytest.raises(InvalidInput) as no_reason:
        claim_and_complete(
            task_id=task.pk, actor=market_reviewer, outcome="refuse", legal_basis="行政许可法第三十二条"
        )
    with pytest.raises(InvalidInput) as no_basis:
        claim_and_complete(
            task_id=task.pk, actor=market_reviewer, outcome="refuse", opinion="不属于本机关职权范围"
        )
    assert "opinion" in no_reason.value.fields
    assert "legal_basis" in no_basis.value.fields

    claim_and_complete(
        task_id=task.pk,
        actor=market_reviewer,
        outcome="refuse",
        opinion="申请事项不属于本机关职权范围",
        legal_basis="《中华人民共和国行政许可法》第三十二条第一款第（二）项",
        now=SUBMITTED + timedelta(hours=1),
    )

    case.refresh_from_db()
    task.refresh_from_db()
    assert case.status == CaseStatus.REJECTED
    assert case.accepted_at is None
    assert (task.outcome, task.opinion) == ("refuse", "申请事项不属于本机关职权范围")
    assert "第（二）项" in task.legal_basis


def test_the_one_time_notice_limits_what_the_applicant_may_change(template, applicant, market_reviewer):
    # Given a notice listing only the company name
    case = submit(applicant)
    with pytest.raises(InvalidInput) as empty:
        claim_and_complete(task_id=accept_task(case).pk, actor=market_reviewer, outcome="notice", notice=[])
    with pytest.raises(InvalidInput) as unknown:
        claim_and_complete(
            task_id=accept_task(case).pk,
            actor=market_reviewer,
            outcome="notice",
            notice=[{"kind": "field", "id": "capital", "reason": "x"}],
        )
    assert "notice" in empty.value.fields
    assert "capital" in unknown.value.message
    claim_and_complete(
        task_id=accept_task(case).pk, actor=market_reviewer, outcome="notice", notice=NAME_NOTICE
    )
    case.refresh_from_db()
    correction = live_task(case, "supply")
    assert case.status == CaseStatus.AWAITING_CORRECTION
    assert case.accepted_at is None
    assert correction.notice == NAME_NOTICE

    # When the applicant changes a field the notice does not list, it is refused
    with pytest.raises(InvalidInput) as outside:
        case_answer_correction(case_id=case.pk, actor=applicant, data={"scope": "咨询"})
    assert outside.value.code == "outside_notice"
    assert list(outside.value.fields) == ["scope"]
    # (sending an unlisted field unchanged is no change)
    case_answer_correction(
        case_id=case.pk,
        actor=applicant,
        data={"company_name": "北京受理更名科技有限公司", "scope": "软件"},
        now=SUBMITTED + timedelta(days=1),
    )

    # Then the case is back with the accepting department, its title follows the name
    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED
    assert case.title == "北京受理更名科技有限公司"
    assert case.data["scope"] == "软件"
    revision = CaseRevision.objects.get(case=case)
    assert revision.fields == ["company_name"]
    assert revision.before == {"company_name": "北京受理示例科技有限公司"}
    # and a second notice is refused (max_rounds: 1): the department accepts or refuses
    with pytest.raises(InvalidInput) as again:
        claim_and_complete(
            task_id=accept_task(case).pk, actor=market_reviewer, outcome="notice", notice=NAME_NOTICE
        )
    assert again.value.code == "correction_rounds_exhausted"


def test_a_correction_reruns_the_name_check_and_a_taken_name_goes_back_to_the_applicant(
    template, applicant, other_applicant, market_reviewer
):
    # Given a case in review, and another open case holding the name 乙
    taken = submit(other_applicant, name="北京乙科技有限公司")
    case = submit(applicant, name="北京甲科技有限公司")
    for each in (taken, case):
        claim_and_complete(
            task_id=accept_task(each).pk, actor=market_reviewer, outcome="accept", now=SUBMITTED
        )
    looked = SUBMITTED + timedelta(hours=1)
    claim_and_complete(
        task_id=live_task(case, "review").pk,
        actor=market_reviewer,
        outcome="return",
        opinion="请更正名称",
        notice=[{"kind": "field", "id": "company_name", "reason": "名称与经营范围不符"}],
        now=looked,
    )

    # When the correction changes the name to the one already taken
    case_answer_correction(
        case_id=case.pk,
        actor=applicant,
        data={"company_name": "北京乙科技有限公司"},
        now=looked + timedelta(hours=1),
    )

    # Then the name check ran again and refused it: the case is with the applicant, not the reviewer
    case.refresh_from_db()
    assert case.status == CaseStatus.AWAITING_CORRECTION
    assert not Task.objects.filter(case=case, node_id="review", status=TaskStatus.OPEN).exists()
    assert live_task(case, "fix_name")
    assert case.state["results"]["check_name"] == {"available": False, "reason": "taken"}
    assert Task.objects.filter(case=case, node_id="check_name", status=TaskStatus.COMPLETED).count() == 2
    # and the reviewer's diff since their last decision shows the change
    definition = version_definition(case.version)
    diff = changes_since(case, definition, looked)
    assert [(c.field, c.before, c.after) for c in diff] == [
        ("company_name", "北京甲科技有限公司", "北京乙科技有限公司")
    ]

    # When a free name is given, the case goes on to review
    case_answer_correction(case_id=case.pk, actor=applicant, data={"company_name": "北京丙科技有限公司"})
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW
    assert case.title == "北京丙科技有限公司"
    assert live_task(case, "review")


def test_an_answered_correction_cannot_be_answered_twice(template, applicant, market_reviewer):
    case = submit(applicant)
    claim_and_complete(
        task_id=accept_task(case).pk, actor=market_reviewer, outcome="notice", notice=NAME_NOTICE
    )
    case_answer_correction(case_id=case.pk, actor=applicant, data={"company_name": "北京另名科技有限公司"})
    with pytest.raises(Conflict):
        case_answer_correction(
            case_id=case.pk, actor=applicant, data={"company_name": "北京又名科技有限公司"}
        )
