"""撤回 of a decision that ended a sub-process (issue 19): allowed while the
caller's next step has not acted, refused with a clear message once it has
(claimed or decided), through the service and the API."""

from datetime import timedelta
from pathlib import Path

import pytest

from govflow.audit.models import AuditEvent
from govflow.cases.models import Case, Task, TaskStatus
from govflow.cases.operations.take_back import task_take_back
from govflow.cases.services import case_create, case_submit, task_claim
from govflow.errors import Conflict
from govflow.processes.services import process_publish
from tests.api.conftest import api_client, assert_error

from .conftest import decide, live_task

pytestmark = [pytest.mark.operations, pytest.mark.django_db]

CALL_YAML = Path(__file__).parent.parent / "data" / "services" / "call_take_back.yaml"


@pytest.fixture
def call_case(base_data, applicant, now):
    process_publish(source=CALL_YAML.read_text(encoding="utf-8"))
    case = case_create(
        applicant=applicant, template_code="test_call_take_back", data={"company_name": "甲"}, now=now
    )
    return case_submit(case_id=case.pk, actor=applicant, now=now)


def _open_nodes(case):
    return sorted(
        Task.objects.filter(case=case, status__in=["open", "claimed"]).values_list("node_id", flat=True)
    )


def test_the_decision_that_ended_a_sub_process_is_taken_back_while_the_next_step_waits(
    call_case, base_data, now
):
    # Given the inspection, the sub-process's last step, approved: the sub-process ended
    reviewer = base_data["market_regulation_reviewer"]
    inspect = live_task(call_case, "inspect")
    decide(call_case, "inspect", reviewer, now=now + timedelta(hours=1))
    case = Case.objects.get(pk=call_case.pk)
    assert _open_nodes(case) == ["sign_off"]
    assert case.state["frames"] == {}
    assert case.state["decisions"]["check"]["outcome"] == "approved"

    # When the inspector takes the decision back before the sign-off is claimed
    again = task_take_back(task_id=inspect.pk, actor=reviewer, now=now + timedelta(hours=2))

    # Then the sub-process is open again at the inspection, the inspector's again, with its time
    case = Case.objects.get(pk=call_case.pk)
    assert _open_nodes(case) == ["inspect"]
    assert (again.node_id, again.status, again.assignee_id) == ("inspect", TaskStatus.CLAIMED, reviewer.pk)
    assert again.due_at == inspect.due_at
    assert [f["call"] for f in case.state["frames"].values()] == ["check"]
    assert "check" not in case.state["decisions"]
    assert Task.objects.get(case=case, node_id="sign_off").status == TaskStatus.CANCELLED
    event = AuditEvent.objects.get(case=case, action="TASK_DECISION_TAKEN_BACK")
    assert event.data["node"] == "inspect"

    # and deciding it again ends the sub-process again
    decide(case, "inspect", reviewer, now=now + timedelta(hours=3))
    assert _open_nodes(Case.objects.get(pk=case.pk)) == ["sign_off"]


def test_it_is_refused_once_the_callers_next_step_is_claimed(call_case, base_data, now):
    reviewer = base_data["market_regulation_reviewer"]
    inspect = live_task(call_case, "inspect")
    decide(call_case, "inspect", reviewer, now=now)
    task_claim(task_id=live_task(call_case, "sign_off").pk, actor=base_data["fire_reviewer"], now=now)
    with pytest.raises(Conflict) as refused:
        task_take_back(task_id=inspect.pk, actor=reviewer, now=now)
    assert refused.value.message == (
        "the next reviewer has already claimed the case; it can no longer be taken back"
    )
    assert _open_nodes(Case.objects.get(pk=call_case.pk)) == ["sign_off"]


def test_it_is_refused_once_the_callers_next_step_decided(call_case, base_data, now):
    reviewer = base_data["market_regulation_reviewer"]
    inspect = live_task(call_case, "inspect")
    decide(call_case, "inspect", reviewer, now=now)
    decide(call_case, "sign_off", base_data["fire_reviewer"], now=now)
    with pytest.raises(Conflict) as refused:
        task_take_back(task_id=inspect.pk, actor=reviewer, now=now)
    assert refused.value.message == (
        "the next step has already acted on this decision; it can no longer be taken back"
    )
    assert _open_nodes(Case.objects.get(pk=call_case.pk)) == ["filing"]


def test_the_api_takes_it_back_and_answers_409_once_the_next_step_acted(call_case, base_data):
    reviewer = base_data["market_regulation_reviewer"]
    client = api_client(reviewer)
    inspect = live_task(call_case, "inspect")
    client.post(f"/api/v1/tasks/{inspect.pk}/claim/")
    client.post(f"/api/v1/tasks/{inspect.pk}/decide/", {"outcome": "approve"}, format="json")

    back = client.post(f"/api/v1/tasks/{inspect.pk}/take-back/")
    assert back.status_code == 200, back.content
    again = back.json()
    assert (again["node"], again["status"]) == ("inspect", "claimed")

    client.post(f"/api/v1/tasks/{again['id']}/decide/", {"outcome": "approve"}, format="json")
    sign_off = live_task(call_case, "sign_off")
    api_client(base_data["fire_reviewer"]).post(f"/api/v1/tasks/{sign_off.pk}/claim/")
    refused = client.post(f"/api/v1/tasks/{again['id']}/take-back/")
    error = assert_error(refused, 409, "take_back_closed")
    assert error["message"] in (
        "下一环节审查人已签收，不能再撤回。",
        "The next reviewer has already claimed the case; it can no longer be taken back.",
    )


def test_the_web_takes_it_back_and_then_says_why_it_cannot(call_case, base_data, now, client):
    reviewer = base_data["market_regulation_reviewer"]
    inspect = live_task(call_case, "inspect")
    decide(call_case, "inspect", reviewer, now=now)
    client.force_login(reviewer)
    page = client.get(f"/cases/{call_case.reference}/").content.decode()
    assert f"/inbox/tasks/{inspect.pk}/take-back/" in page

    client.post(f"/inbox/tasks/{inspect.pk}/take-back/", {"next": f"/cases/{call_case.reference}/"})
    again = live_task(call_case, "inspect")
    assert again.assignee_id == reviewer.pk

    decide(call_case, "inspect", reviewer, now=now)
    task_claim(task_id=live_task(call_case, "sign_off").pk, actor=base_data["fire_reviewer"], now=now)
    page = client.post(
        f"/inbox/tasks/{again.pk}/take-back/",
        {"next": f"/cases/{call_case.reference}/"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
        follow=True,
    ).content.decode()
    assert "下一环节审查人已签收，不能再撤回。" in page
    assert _open_nodes(Case.objects.get(pk=call_case.pk)) == ["sign_off"]


BRANCH_YAML = Path(__file__).parent.parent / "data" / "services" / "call_branch_take_back.yaml"


@pytest.fixture
def branch_case(base_data, applicant, now):
    process_publish(source=BRANCH_YAML.read_text(encoding="utf-8"))
    case = case_create(
        applicant=applicant, template_code="test_call_branch_take_back", data={"company_name": "甲"}, now=now
    )
    return case_submit(case_id=case.pk, actor=applicant, now=now)


def test_a_branch_decision_is_refused_once_the_other_branch_ended_the_sub_process(
    branch_case, base_data, now
):
    # Given the inspection's branch ended (terminate: false), then the survey ended the sub-process
    reviewer = base_data["market_regulation_reviewer"]
    inspect = live_task(branch_case, "inspect")
    decide(branch_case, "inspect", reviewer, now=now)
    decide(branch_case, "survey", base_data["fire_reviewer"], now=now)
    assert _open_nodes(Case.objects.get(pk=branch_case.pk)) == ["sign_off"]

    # When the inspector takes the inspection back
    with pytest.raises(Conflict) as refused:
        task_take_back(task_id=inspect.pk, actor=reviewer, now=now)

    # Then it is refused, and nothing moved
    assert (refused.value.code, refused.value.message) == (
        "take_back_closed",
        "the sub-process of this step has already ended; its decision can no longer be taken back",
    )
    case = Case.objects.get(pk=branch_case.pk)
    assert _open_nodes(case) == ["sign_off"]
    assert case.state["frames"] == {}


def test_the_api_answers_409_in_chinese_for_a_branch_of_an_ended_sub_process(branch_case, base_data, now):
    reviewer = base_data["market_regulation_reviewer"]
    inspect = live_task(branch_case, "inspect")
    decide(branch_case, "inspect", reviewer, now=now)
    decide(branch_case, "survey", base_data["fire_reviewer"], now=now)

    refused = api_client(reviewer).post(
        f"/api/v1/tasks/{inspect.pk}/take-back/", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    error = assert_error(refused, 409, "take_back_closed")
    assert error["message"] == "本环节所在的子流程已结束，其意见不能再撤回。"
