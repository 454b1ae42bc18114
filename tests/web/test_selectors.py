"""The read-side selectors: permission filtering, SLA colours, masking and the
secret-read audit, and pinned query counts (an N+1 fails here)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from govflow.audit.models import AuditEvent
from govflow.cases import selectors
from govflow.cases.attachments import attachment_add
from govflow.cases.models import Task
from govflow.cases.reads import case_reads_record
from govflow.cases.services import case_create, task_claim
from govflow.errors import NotFound
from govflow.timers.models import Timer
from govflow.timers.services import calendar_get
from govflow.web.presenters import department_tasks_for_head
from tests.deciding import claim_and_complete

from .conftest import live_task, pdf, submitted

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _warm_calendar(base_data):
    # calendar_get caches for a minute; load it before counting queries.
    calendar_get("cn")


def test_an_applicant_lists_and_searches_only_their_own_cases(applicant, other_applicant, business_case):
    theirs = case_create(
        applicant=other_applicant,
        template_code="business_setup",
        data={"company_name": "北京测试科技有限公司"},
    )

    mine = list(selectors.cases_for_applicant(user=applicant))
    found = list(selectors.cases_for_applicant(user=applicant, q="测试科技"))

    assert business_case in mine
    assert theirs not in mine
    assert found == [business_case]
    assert list(selectors.cases_for_applicant(user=other_applicant, q=business_case.reference)) == []


def test_case_access_owner_reviewer_on_the_case_and_nobody_else(
    applicant, other_applicant, market_reviewer, fire_reviewer, business_case
):
    ref = business_case.reference
    assert selectors.case_access(user=applicant, reference=ref).role == "owner"
    access = selectors.case_access(user=market_reviewer, reference=ref)
    assert access.role == "reviewer"
    assert [d.code for d in access.departments] == ["market_regulation"]
    for outsider in (other_applicant, fire_reviewer):
        with pytest.raises(NotFound):
            selectors.case_access(user=outsider, reference=ref)
    with pytest.raises(NotFound):
        selectors.case_access(user=applicant, reference="GFNOSUCHCASE")


def test_a_reviewer_keeps_seeing_a_case_their_department_had_a_task_on(
    base_data, market_reviewer, business_case
):
    claim_and_complete(
        task_id=live_task(business_case, "registration").pk,
        actor=market_reviewer,
        outcome="approve",
        opinion="同意",
    )

    access = selectors.case_access(user=market_reviewer, reference=business_case.reference)

    assert access.role == "reviewer"
    assert not selectors.case_detail(user=market_reviewer, reference=business_case.reference).my_tasks


def test_secret_fields_are_masked_for_uncleared_departments_and_unmasked_reads_audited(
    base_data, applicant, market_reviewer, business_case
):
    # Given market regulation is cleared for the legal representative's ID and phone, not shareholders' IDs
    legal_id = business_case.data["legal_rep_id_number"]
    shareholder_id = business_case.data["shareholders"][0]["id_number"]
    before = AuditEvent.objects.filter(action="SECRET_FIELD_READ").count()

    detail = selectors.case_detail(user=market_reviewer, reference=business_case.reference)
    assert AuditEvent.objects.filter(action="SECRET_FIELD_READ").count() == before  # a selector only reads
    case_reads_record(actor=market_reviewer, detail=detail, source_ip="10.0.0.8")

    views = {f.id: f for f in detail.disclosure.fields}
    assert detail.disclosure.revealed == ["legal_rep_id_number", "legal_rep_phone"]
    assert views["legal_rep_id_number"].text == legal_id
    assert not views["legal_rep_id_number"].masked
    cell = views["shareholders"].rows[0][1]
    assert cell.masked
    assert cell.text == shareholder_id[:4] + "*" * 10 + shareholder_id[-4:]
    event = AuditEvent.objects.filter(action="SECRET_FIELD_READ").latest("id")
    assert AuditEvent.objects.filter(action="SECRET_FIELD_READ").count() == before + 1
    assert event.actor == market_reviewer
    assert event.case_id == business_case.pk
    assert event.data["fields"] == ["legal_rep_id_number", "legal_rep_phone"]
    assert event.source_ip == "10.0.0.8"

    # and the applicant's own page masks without writing to the audit trail
    owner = selectors.case_detail(user=applicant, reference=business_case.reference)
    case_reads_record(actor=applicant, detail=owner)
    owner_views = {f.id: f for f in owner.disclosure.fields}
    assert owner_views["legal_rep_id_number"].masked
    assert AuditEvent.objects.filter(action="SECRET_FIELD_READ").count() == before + 1


def test_a_department_not_cleared_sees_every_secret_masked_and_nothing_is_audited(base_data, business_case):
    from govflow.outbox.services import outbox_drain

    claim_and_complete(
        task_id=live_task(business_case, "registration").pk,
        actor=base_data["market_regulation_reviewer"],
        outcome="approve",
        opinion="同意",
    )
    outbox_drain()
    hr = base_data["human_resources_reviewer"]  # social insurance: no clearance in the template
    before = AuditEvent.objects.filter(action="SECRET_FIELD_READ").count()

    detail = selectors.case_detail(user=hr, reference=business_case.reference)
    case_reads_record(actor=hr, detail=detail)

    views = {f.id: f for f in detail.disclosure.fields}
    assert views["legal_rep_id_number"].masked
    assert "*" in views["legal_rep_id_number"].text
    assert views["legal_rep_phone"].text.startswith("138")
    assert views["legal_rep_phone"].masked
    assert AuditEvent.objects.filter(action="SECRET_FIELD_READ").count() == before


def test_the_inbox_shows_only_the_reviewers_departments_with_filters(
    base_data, applicant, market_reviewer, fire_reviewer, business_case
):
    second = submitted(applicant, "business_setup", company_name="北京第二测试有限公司")
    task_claim(task_id=live_task(second, "registration").pk, actor=market_reviewer)

    everything = selectors.tasks_for_reviewer(user=market_reviewer)
    mine = selectors.tasks_for_reviewer(user=market_reviewer, status="mine")
    unclaimed = selectors.tasks_for_reviewer(user=market_reviewer, status="open")
    searched = selectors.tasks_for_reviewer(user=market_reviewer, q="第二测试")
    other = selectors.tasks_for_reviewer(user=fire_reviewer)
    by_service = selectors.tasks_for_reviewer(user=market_reviewer, service="construction_permit")

    assert {r.task.case_id for r in everything.rows} == {business_case.pk, second.pk}
    assert [r.task.case_id for r in mine.rows] == [second.pk]
    assert mine.rows[0].can_release
    assert [r.task.case_id for r in unclaimed.rows] == [business_case.pk]
    assert unclaimed.rows[0].can_claim
    assert [r.task.case_id for r in searched.rows] == [second.pk]
    assert other.rows == []
    assert by_service.rows == []
    assert selectors.tasks_for_reviewer(user=applicant).rows == []


def test_sla_is_green_then_amber_after_the_reminder_then_red_when_overdue(market_reviewer, business_case):
    task = live_task(business_case, "registration")
    reminder = Timer.objects.get(task=task, kind="sla_reminder").due_at

    def level(now):
        rows = selectors.tasks_for_reviewer(user=market_reviewer, now=now).rows
        return next(r.sla for r in rows if r.task.pk == task.pk)

    assert level(reminder - timedelta(minutes=1)).level == "green"
    amber = level(reminder + timedelta(minutes=1))
    assert amber.level == "amber"
    assert 0 < amber.days < 0.5
    red = level(task.due_at + timedelta(hours=1))
    assert red.level == "red"
    assert red.is_overdue
    soon = selectors.tasks_for_reviewer(user=market_reviewer, due="soon", now=reminder + timedelta(minutes=1))
    overdue = selectors.tasks_for_reviewer(
        user=market_reviewer, due="overdue", now=task.due_at + timedelta(hours=1)
    )
    not_yet = selectors.tasks_for_reviewer(user=market_reviewer, due="overdue", now=reminder)
    assert [r.task.pk for r in soon.rows] == [task.pk]
    assert [r.task.pk for r in overdue.rows] == [task.pk]
    assert not_yet.rows == []


def test_inbox_sorts_by_due_date_both_ways_and_pages(applicant, market_reviewer, business_case):
    later = submitted(applicant, "business_setup", company_name="北京晚到测试有限公司")
    Task.objects.filter(pk=live_task(later, "registration").pk).update(
        due_at=live_task(business_case, "registration").due_at + timedelta(days=1)
    )

    soonest = selectors.tasks_for_reviewer(user=market_reviewer, sort="due")
    latest = selectors.tasks_for_reviewer(user=market_reviewer, sort="-due")
    first_page = selectors.tasks_for_reviewer(user=market_reviewer, per_page=1)
    second_page = selectors.tasks_for_reviewer(user=market_reviewer, per_page=1, page=2)

    assert [r.task.case_id for r in soonest.rows] == [business_case.pk, later.pk]
    assert [r.task.case_id for r in latest.rows] == [later.pk, business_case.pk]
    assert first_page.has_next
    assert not second_page.has_next
    assert second_page.rows[0].task.case_id == later.pk


def test_heads_see_their_department_counts_and_members(base_data, applicant, business_case):
    head = base_data["market_regulation_head"]
    task = live_task(business_case, "registration")
    Task.objects.filter(pk=task.pk).update(due_at=timezone.now() - timedelta(hours=1))

    loads = department_tasks_for_head(user=head)

    assert [load.department.code for load in loads] == ["market_regulation"]
    assert loads[0].overdue_count == 1
    assert loads[0].open_count == 1
    assert {u.username for u in loads[0].members} == {"market_regulation_reviewer", "market_regulation_head"}
    assert department_tasks_for_head(user=base_data["market_regulation_reviewer"]) == []


def test_attachment_download_is_for_the_owner_and_reviewers_on_the_case(
    applicant, other_applicant, market_reviewer, fire_reviewer, business_case
):
    from govflow.cases.services import case_create

    draft = case_create(applicant=applicant, template_code="business_setup")
    attachment = attachment_add(
        case_id=draft.pk, actor=applicant, slot="articles_of_association", upload=pdf()
    )

    assert (
        selectors.attachment_get_for_user(
            user=applicant, reference=draft.reference, attachment_id=attachment.pk
        )
        == attachment
    )
    for outsider in (other_applicant, market_reviewer, fire_reviewer):
        with pytest.raises(NotFound):
            selectors.attachment_get_for_user(
                user=outsider, reference=draft.reference, attachment_id=attachment.pk
            )
    # an attachment id under another case's reference is not found either
    with pytest.raises(NotFound):
        selectors.attachment_get_for_user(
            user=applicant, reference=business_case.reference, attachment_id=attachment.pk
        )


def test_colleague_get_only_finds_members_of_the_tasks_department(
    base_data, market_reviewer, fire_reviewer, business_case
):
    task = live_task(business_case, "registration")
    head = base_data["market_regulation_head"]

    assert selectors.colleague_get(actor=market_reviewer, task_id=task.pk, user_id=head.pk) == head
    with pytest.raises(NotFound):
        selectors.colleague_get(actor=market_reviewer, task_id=task.pk, user_id=fire_reviewer.pk)
    with pytest.raises(NotFound):
        selectors.colleague_get(actor=fire_reviewer, task_id=task.pk, user_id=head.pk)
    with pytest.raises(NotFound):
        selectors.colleague_get(actor=market_reviewer, task_id=task.pk, user_id="x")


# -- query counts -------------------------------------------------------------------


def test_cases_for_applicant_is_one_query_however_many_cases(applicant, django_assert_num_queries):
    for number in range(3):
        case_create(
            applicant=applicant, template_code="business_setup", data={"company_name": f"公司{number}"}
        )
    with django_assert_num_queries(1):
        cases = list(selectors.cases_for_applicant(user=applicant, q="公司"))
        [case.template.title_zh for case in cases]
    assert len(cases) == 3


def test_tasks_for_reviewer_query_count_does_not_grow_with_tasks(
    applicant, market_reviewer, business_case, django_assert_num_queries
):
    # memberships, one ordered query per department, the page's tasks (with
    # their versions' fingerprints: a parsed definition costs no query)
    with django_assert_num_queries(3):
        one = selectors.tasks_for_reviewer(user=market_reviewer)
    for number in range(3):
        submitted(applicant, "business_setup", company_name=f"北京计数测试{number}有限公司")
    with django_assert_num_queries(3):
        four = selectors.tasks_for_reviewer(user=market_reviewer)
    assert len(one.rows) == 1
    assert len(four.rows) == 4


@pytest.mark.parametrize("sort", ["due", "-due"])
def test_inbox_merges_departments_in_order_across_pages(base_data, applicant, sort):
    """A reviewer of two departments: the per-department queries merged give
    the same pages as one query sorted over both would."""
    from govflow.accounts.models import Department, Membership

    user = base_data["market_regulation_reviewer"]
    Membership.objects.get_or_create(user=user, department=Department.objects.get(code="public_security"))
    for number in range(9):
        submitted(applicant, "business_setup", company_name=f"北京合并测试{number}有限公司")
    tasks = list(Task.objects.filter(department__code="market_regulation", status="open").order_by("id"))
    assert len(tasks) == 9
    base = timezone.now()
    for index, task in enumerate(tasks):
        department = "public_security" if index % 3 == 0 else "market_regulation"
        due = None if index == 4 else base + timedelta(hours=(index * 7) % 10)
        Task.objects.filter(pk=task.pk).update(department=Department.objects.get(code=department), due_at=due)

    def expected_key(task):
        if sort == "due":
            return (task.due_at is None, task.due_at or base, task.pk)
        return (task.due_at is not None, -(task.due_at.timestamp()) if task.due_at else 0, -task.pk)

    expected = [t.pk for t in sorted(Task.objects.filter(pk__in=[t.pk for t in tasks]), key=expected_key)]
    seen = []
    for page in (1, 2, 3, 4):
        result = selectors.tasks_for_reviewer(user=user, sort=sort, page=page, per_page=4)
        seen += [row.task.pk for row in result.rows]
        assert result.has_next == (page * 4 < 9)
    assert seen == expected


def test_department_tasks_for_head_query_count(
    base_data, applicant, business_case, django_assert_num_queries
):
    submitted(applicant, "business_setup", company_name="北京负责人测试有限公司")
    with django_assert_num_queries(3):  # departments, tasks (with their versions' fingerprints), members
        loads = department_tasks_for_head(user=base_data["market_regulation_head"])
    assert len(loads[0].rows) == 2


def test_case_detail_query_counts(
    base_data, applicant, market_reviewer, business_case, django_assert_num_queries
):
    selectors.case_detail(user=applicant, reference=business_case.reference)  # parse and cache the definition
    # owner: case, tasks, correction timers (none), audit timeline, attachments, case limits,
    # and 一件事's item lines: their departments' names and the certificates the items issued
    with django_assert_num_queries(7):
        selectors.case_detail(user=applicant, reference=business_case.reference)
    # reviewer: + departments, colleagues (the unmasked read is recorded by the view)
    with django_assert_num_queries(9):
        selectors.case_detail(user=market_reviewer, reference=business_case.reference)
