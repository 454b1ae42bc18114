"""双人审核: a countersign with `distinct_people` needs a different person on
each signature task of the node in one round. The services refuse the same
person taking, being given or signing a second signature; another person of
the department signs it and the case moves on."""

import pytest

from govflow.accounts.models import Department, Membership
from govflow.cases.models import Task, TaskKind, TaskStatus
from govflow.cases.operations.signers import task_add_signer
from govflow.cases.operations.take_back import task_take_back
from govflow.cases.services import (
    case_create,
    case_submit,
    task_claim,
    task_complete,
    task_handover,
    task_release,
)
from govflow.demo import ensure_user
from govflow.errors import Conflict
from govflow.processes.services import process_publish
from tests.deciding import claim_and_complete

TEMPLATE = """
id: two_person_check
title: {zh: 双人审核, en: Two-person check}
form:
  fields:
    - {id: company_name, type: text, label: {zh: 名称, en: Name}, required: true}
nodes:
  - {id: start, type: start, next: sign}
  - id: sign
    type: user_task
    title: {zh: 双人审核, en: Two signatures}
    countersign: {mode: %(mode)s, distinct_people: %(distinct)s, signers: [%(signers)s]}
    outcomes: {approve: done, reject: refused}
  - {id: done, type: end, title: {zh: 通过, en: Approved}, outcome: approved}
  - {id: refused, type: end, title: {zh: 驳回, en: Refused}, outcome: rejected}
"""


def publish(mode="all", distinct="true", signers="market_regulation, market_regulation"):
    return process_publish(source=TEMPLATE % {"mode": mode, "distinct": distinct, "signers": signers})


@pytest.fixture
def colleague(base_data):
    user = ensure_user("market_regulation_reviewer2", password="x", groups=("reviewer",))
    Membership.objects.get_or_create(user=user, department=Department.objects.get(code="market_regulation"))
    return user


def submit(applicant, now):
    case = case_create(
        applicant=applicant, template_code="two_person_check", data={"company_name": "甲"}, now=now
    )
    return case_submit(case_id=case.pk, actor=applicant, now=now)


def signatures(case):
    return list(Task.objects.filter(case=case, kind=TaskKind.SIGNATURE).order_by("pk"))


@pytest.mark.django_db
def test_the_same_person_cannot_sign_twice_and_a_colleague_completes_the_step(
    base_data, applicant, market_reviewer, colleague, now
):
    publish()
    case = submit(applicant, now)
    first, second = signatures(case)
    assert first.department_id == second.department_id
    claim_and_complete(task_id=first.pk, actor=market_reviewer, outcome="approve", opinion="同意", now=now)
    with pytest.raises(Conflict, match="different person"):
        claim_and_complete(
            task_id=second.pk, actor=market_reviewer, outcome="approve", opinion="同意", now=now
        )
    with pytest.raises(Conflict, match="different person"):
        task_claim(task_id=second.pk, actor=market_reviewer, now=now)
    with pytest.raises(Conflict, match="different person"):
        task_handover(task_id=second.pk, actor=colleague, to_user=market_reviewer, now=now)
    second.refresh_from_db()
    assert second.status == TaskStatus.OPEN
    assert second.assignee_id is None
    claim_and_complete(task_id=second.pk, actor=colleague, outcome="approve", opinion="同意", now=now)
    case.refresh_from_db()
    assert case.status == "approved"
    assert {t.decided_by_id for t in signatures(case)} == {market_reviewer.pk, colleague.pk}


@pytest.mark.django_db
def test_holding_one_signature_blocks_taking_the_other(base_data, applicant, market_reviewer, colleague, now):
    publish()
    case = submit(applicant, now)
    first, second = signatures(case)
    task_claim(task_id=first.pk, actor=market_reviewer, now=now)
    with pytest.raises(Conflict, match="holds"):
        task_claim(task_id=second.pk, actor=market_reviewer, now=now)
    # Once the first is handed to the colleague, the reviewer may take the second.
    task_handover(task_id=first.pk, actor=market_reviewer, to_user=colleague, now=now)
    task_claim(task_id=second.pk, actor=market_reviewer, now=now)


@pytest.mark.django_db
def test_a_signature_taken_back_is_signed_again_by_its_signer_or_frees_them_for_the_other(
    base_data, applicant, market_reviewer, colleague, now
):
    # As the engine: a take-back removes the person's own signature, so signing
    # the task given back is not a second signature, nor is signing the other one.
    publish()
    case = submit(applicant, now)
    first, second = signatures(case)
    claim_and_complete(task_id=first.pk, actor=market_reviewer, outcome="approve", opinion="同意", now=now)
    again = task_take_back(task_id=first.pk, actor=market_reviewer, now=now)
    task_complete(task_id=again.pk, actor=market_reviewer, outcome="approve", opinion="同意", now=now)

    # taken back once more, released, and the other signature taken instead
    again = task_take_back(task_id=again.pk, actor=market_reviewer, now=now)
    task_release(task_id=again.pk, actor=market_reviewer, now=now)
    claim_and_complete(task_id=second.pk, actor=market_reviewer, outcome="approve", opinion="同意", now=now)
    with pytest.raises(Conflict) as refused:
        task_claim(task_id=again.pk, actor=market_reviewer, now=now)
    assert refused.value.code == "distinct_people"
    claim_and_complete(task_id=again.pk, actor=colleague, outcome="approve", opinion="同意", now=now)
    case.refresh_from_db()
    assert case.status == "approved"


@pytest.mark.django_db
def test_an_approval_held_for_a_signer_added_after_it_is_a_signature(
    base_data, applicant, market_reviewer, colleague, fire_reviewer, now
):
    # 后加签: the approval counts once fire approves, but it is signed already
    publish()
    case = submit(applicant, now)
    first, second = signatures(case)
    task_claim(task_id=first.pk, actor=market_reviewer, now=now)
    task_add_signer(task_id=first.pk, actor=market_reviewer, department="fire", position="after", now=now)
    task_complete(task_id=first.pk, actor=market_reviewer, outcome="approve", opinion="同意", now=now)
    with pytest.raises(Conflict) as refused:
        task_claim(task_id=second.pk, actor=market_reviewer, now=now)
    assert refused.value.code == "distinct_people"
    with pytest.raises(Conflict) as refused:
        task_handover(task_id=second.pk, actor=colleague, to_user=market_reviewer, now=now)
    assert refused.value.code == "distinct_people"
    claim_and_complete(task_id=second.pk, actor=colleague, outcome="approve", opinion="同意", now=now)
    (added,) = Task.objects.filter(case=case, status=TaskStatus.OPEN)
    claim_and_complete(task_id=added.pk, actor=fire_reviewer, outcome="approve", opinion="同意", now=now)
    case.refresh_from_db()
    assert case.status == "approved"
    assert {t.decided_by_id for t in signatures(case)} == {market_reviewer.pk, colleague.pk}


@pytest.mark.django_db
def test_without_distinct_people_one_person_of_two_departments_signs_both(
    base_data, applicant, market_reviewer, now
):
    fire = Department.objects.get(code="fire")
    Membership.objects.get_or_create(user=market_reviewer, department=fire)
    publish(distinct="false", signers="market_regulation, fire")
    case = submit(applicant, now)
    for task in signatures(case):
        claim_and_complete(task_id=task.pk, actor=market_reviewer, outcome="approve", opinion="同意", now=now)
    case.refresh_from_db()
    assert case.status == "approved"


@pytest.mark.django_db
def test_distinct_people_across_departments_binds_a_member_of_both(
    base_data, applicant, market_reviewer, now
):
    fire = Department.objects.get(code="fire")
    Membership.objects.get_or_create(user=market_reviewer, department=fire)
    publish(signers="market_regulation, fire")
    case = submit(applicant, now)
    first, second = signatures(case)
    claim_and_complete(task_id=first.pk, actor=market_reviewer, outcome="approve", opinion="同意", now=now)
    with pytest.raises(Conflict):
        claim_and_complete(
            task_id=second.pk, actor=market_reviewer, outcome="approve", opinion="同意", now=now
        )


# -- 审批人去重 is the default (issue 19) ------------------------------------------------

DEFAULT = TEMPLATE.replace("distinct_people: %(distinct)s, ", "")


def publish_default(signers="market_regulation, fire"):
    assert "distinct_people" not in DEFAULT
    return process_publish(source=DEFAULT % {"mode": "all", "signers": signers})


@pytest.mark.operations
@pytest.mark.django_db
def test_without_the_key_one_person_cannot_sign_two_signatures(base_data, applicant, market_reviewer, now):
    # Given a countersign that says nothing of distinct people, and a reviewer in both departments
    Membership.objects.get_or_create(user=market_reviewer, department=Department.objects.get(code="fire"))
    publish_default()
    case = submit(applicant, now)
    first, second = signatures(case)
    claim_and_complete(task_id=first.pk, actor=market_reviewer, outcome="approve", opinion="同意", now=now)

    # When the same person signs the second signature, it is refused with its own code
    with pytest.raises(Conflict) as refused:
        claim_and_complete(
            task_id=second.pk, actor=market_reviewer, outcome="approve", opinion="同意", now=now
        )
    assert refused.value.code == "distinct_people"
    assert refused.value.message.startswith("this countersign needs a different person for each signature")
    second.refresh_from_db()
    assert second.status == TaskStatus.OPEN


@pytest.mark.operations
@pytest.mark.django_db
def test_the_api_and_the_web_say_why_in_chinese(base_data, applicant, market_reviewer, now, client):
    from tests.api.conftest import api_client, assert_error

    Membership.objects.get_or_create(user=market_reviewer, department=Department.objects.get(code="fire"))
    publish_default()
    case = submit(applicant, now)
    first, second = signatures(case)
    claim_and_complete(task_id=first.pk, actor=market_reviewer, outcome="approve", opinion="同意", now=now)

    refused = api_client(market_reviewer).post(f"/api/v1/tasks/{second.pk}/claim/")
    error = assert_error(refused, 409, "distinct_people")
    assert (
        error["message"]
        == "此会签环节须由不同人员分别签署（双人审核）：同一人已持有或已签署本环节的另一份签署任务。"
    )

    client.force_login(market_reviewer)
    page = client.post(
        f"/inbox/tasks/{second.pk}/claim/", HTTP_ACCEPT_LANGUAGE="zh-hans", follow=True
    ).content.decode()
    assert "此会签环节须由不同人员分别签署" in page
