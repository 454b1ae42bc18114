"""The reviewer inbox and task actions through the Django test client: claim
and release (plain and HTMX), hand over, decide with an opinion, countersign,
and the department head's dashboard with reassignment."""

from datetime import timedelta

import pytest
from django.utils import timezone

from govflow.audit.models import AuditEvent
from govflow.cases.models import Task, TaskStatus
from govflow.cases.services import task_claim
from govflow.outbox.services import outbox_drain
from tests.deciding import claim, claim_and_complete

from .conftest import live_task, login, submitted

pytestmark = pytest.mark.django_db


def test_the_inbox_lists_the_departments_tasks_with_their_clock(market_reviewer, business_case):
    html = login(market_reviewer).get("/inbox/").content.decode()
    task = live_task(business_case, "registration")
    assert f'id="task-{task.pk}"' in html
    assert "设立登记审核" in html
    assert "sla-green" in html
    assert "剩余" in html
    filtered = (
        login(market_reviewer).get("/inbox/?service=construction_permit&status=bogus&due=x").content.decode()
    )
    assert f'id="task-{task.pk}"' not in filtered


def test_claim_and_release_with_htmx_return_the_row(market_reviewer, business_case):
    client = login(market_reviewer)
    task = live_task(business_case, "registration")

    claimed = client.post(f"/inbox/tasks/{task.pk}/claim/", HTTP_HX_REQUEST="true")
    assert claimed.status_code == 200
    row = claimed.content.decode()
    assert row.strip().startswith("<tr")
    assert "退回待办" in row
    task.refresh_from_db()
    assert task.status == TaskStatus.CLAIMED
    assert task.assignee == market_reviewer

    released = client.post(f"/inbox/tasks/{task.pk}/release/", HTTP_HX_REQUEST="true")
    assert "签收" in released.content.decode()
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    assert task.assignee is None


def test_a_claim_that_lost_the_race_says_so_in_the_row(base_data, market_reviewer, business_case):
    task = live_task(business_case, "registration")
    task_claim(task_id=task.pk, actor=base_data["market_regulation_head"])
    row = (
        login(market_reviewer).post(f"/inbox/tasks/{task.pk}/claim/", HTTP_HX_REQUEST="true").content.decode()
    )
    assert "同事已经签收了此任务" in row
    plain = login(market_reviewer).post(f"/inbox/tasks/{task.pk}/claim/", {"next": "/inbox/?status=open"})
    assert plain.status_code == 302
    assert plain["Location"] == "/inbox/?status=open"


def test_next_never_leads_off_site(market_reviewer, business_case):
    task = live_task(business_case, "registration")
    response = login(market_reviewer).post(
        f"/inbox/tasks/{task.pk}/claim/", {"next": "https://evil.example/"}
    )
    assert response["Location"] == "/inbox/"


def test_a_reviewer_hands_a_task_to_a_colleague(base_data, market_reviewer, business_case):
    task = live_task(business_case, "registration")
    head = base_data["market_regulation_head"]
    response = login(market_reviewer).post(f"/inbox/tasks/{task.pk}/handover/", {"to_user": head.pk})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.assignee == head
    outsider = login(market_reviewer).post(
        f"/inbox/tasks/{task.pk}/handover/", {"to_user": base_data["fire_reviewer"].pk}
    )
    assert outsider.status_code == 404


def test_deciding_needs_an_opinion_for_a_return_and_keeps_what_was_typed(market_reviewer, business_case):
    task = live_task(business_case, "registration")
    client = login(market_reviewer)
    claim(task.pk, market_reviewer)

    refused = client.post(f"/inbox/tasks/{task.pk}/decide/", {"outcome": "return", "opinion": "  "})
    html = refused.content.decode()
    assert refused.status_code == 400
    assert f'id="opinion-{task.pk}-error"' in html
    assert "必须填写审批意见" in html
    assert f'id="outcome-{task.pk}-return" name="outcome" value="return" checked' in html

    missing = client.post(f"/inbox/tasks/{task.pk}/decide/", {"opinion": "同意"})
    assert "请选择审批决定" in missing.content.decode()
    assert "同意" in missing.content.decode()

    done = client.post(f"/inbox/tasks/{task.pk}/decide/", {"outcome": "approve", "opinion": "材料齐全。"})
    assert done.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.COMPLETED
    assert task.outcome == "approve"
    assert task.opinion == "材料齐全。"
    again = client.post(f"/inbox/tasks/{task.pk}/decide/", {"outcome": "approve"})
    assert again.status_code == 302  # back to the case page with "already decided"
    assert "此任务已经办结" in client.get(again["Location"]).content.decode()


def test_an_outcome_the_step_does_not_offer_is_refused(market_reviewer, business_case):
    task = live_task(business_case, "registration")
    claim(task.pk, market_reviewer)
    response = login(market_reviewer).post(f"/inbox/tasks/{task.pk}/decide/", {"outcome": "explode"})
    assert response.status_code == 400
    task.refresh_from_db()
    assert (task.status, task.outcome) == (TaskStatus.CLAIMED, "")


def test_deciding_a_task_nobody_claimed_says_to_claim_it_first(market_reviewer, business_case):
    # Given a registration task nobody has claimed (签收)
    task = live_task(business_case, "registration")
    client = login(market_reviewer)
    page = client.get(f"/cases/{business_case.reference}/").content.decode()
    assert f'id="claim-first-{task.pk}"' in page
    assert f'action="/inbox/tasks/{task.pk}/decide/"' not in page

    # When a decision is posted anyway, it is refused with a message and nothing changes
    response = client.post(
        f"/inbox/tasks/{task.pk}/decide/", {"outcome": "approve", "opinion": "同意"}, follow=True
    )

    assert "请先签收该任务，再作出决定。" in response.content.decode()
    task.refresh_from_db()
    assert (task.status, task.assignee_id, task.outcome) == (TaskStatus.OPEN, None, "")
    # Once claimed, the form is there and the decision keeps the holder
    client.post(f"/inbox/tasks/{task.pk}/claim/")
    assert (
        f'action="/inbox/tasks/{task.pk}/decide/"'
        in client.get(f"/cases/{business_case.reference}/").content.decode()
    )
    client.post(f"/inbox/tasks/{task.pk}/decide/", {"outcome": "approve", "opinion": "同意"})
    task.refresh_from_db()
    assert (task.status, task.assignee_id) == (TaskStatus.COMPLETED, market_reviewer.pk)


def test_a_reviewer_cannot_decide_their_own_application(base_data, market_reviewer):
    case = submitted(market_reviewer, "business_setup", company_name="北京自审测试有限公司")
    task = live_task(case, "registration")
    client = login(market_reviewer)
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert "本部门办理事项" not in page  # the owner's view: no decide form
    response = client.post(f"/inbox/tasks/{task.pk}/decide/", {"outcome": "approve", "opinion": "同意"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def _to_countersign(base_data, applicant):
    """A construction-permit case at stage 3's two-department countersignature."""
    case = submitted(
        applicant,
        "construction_permit",
        project_type="office",
        has_basement=False,
        is_special_project=False,
        floor_area="5000.00",
    )
    for _ in range(30):
        outbox_drain()
        open_tasks = list(
            Task.objects.filter(
                case=case, status=TaskStatus.OPEN, kind__in=("review", "acceptance")
            ).select_related("department")
        )
        if Task.objects.filter(case=case, kind="signature", status=TaskStatus.OPEN).exists():
            return case
        for task in open_tasks:
            claim_and_complete(
                task_id=task.pk,
                actor=base_data[f"{task.department.code}_reviewer"],
                outcome="accept" if task.kind == "acceptance" else "approve",
                opinion="同意",
            )
    raise AssertionError("the case never reached the countersignature")


def test_countersign_shows_who_has_signed(base_data, applicant):
    case = _to_countersign(base_data, applicant)
    # the joint drawing-review opinion: housing and construction (which
    # reviews fire design since Order 51) and civil air defence sign
    air_sign = Task.objects.get(case=case, kind="signature", department__code="civil_air_defence")
    claim_and_complete(
        task_id=air_sign.pk,
        actor=base_data["civil_air_defence_reviewer"],
        outcome="approve",
        opinion="同意会签",
    )

    html = login(base_data["housing_construction_reviewer"]).get(f"/cases/{case.reference}/").content.decode()

    assert "会签情况" in html
    assert "已签 1 / 2" in html
    assert "人民防空办公室审查员" in html
    assert "尚未签署" in html


def test_heads_see_overdue_work_and_reassign(base_data, business_case):
    head = base_data["market_regulation_head"]
    task = live_task(business_case, "registration")
    task_claim(task_id=task.pk, actor=base_data["market_regulation_reviewer"])
    Task.objects.filter(pk=task.pk).update(due_at=timezone.now() - timedelta(hours=2))
    client = login(head)

    html = client.get("/inbox/department/?due=overdue").content.decode()
    assert business_case.reference in html
    assert "sla-red" in html
    assert "已超期" in html

    response = client.post(
        f"/inbox/tasks/{task.pk}/handover/", {"to_user": head.pk, "next": "/inbox/department/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/inbox/department/"
    task.refresh_from_db()
    assert task.assignee == head
    assert AuditEvent.objects.filter(action="TASK_HANDED_OVER", object_id=task.engine_id).exists()
    assert login(base_data["market_regulation_reviewer"]).get("/inbox/department/").status_code == 403
