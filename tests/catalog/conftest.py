"""Fixtures for the data catalogue tests: cases driven through the real
services, and the catalogue's outbox rows consumed in this process."""

from __future__ import annotations

import pytest
from django.utils import timezone

from govflow.cases.models import LIVE_TASK_STATUSES, Task, TaskKind
from govflow.cases.services import case_create, case_submit
from govflow.catalog.publishing import TOPIC
from govflow.demo_cases import accept_pending, attach_required_documents
from govflow.outbox.services import outbox_drain
from tests.deciding import claim_and_complete
from tests.web.conftest import PDF_BYTES, example  # noqa: F401

LEGAL_REP_ID = "11010519491231002X"


def publish_pending() -> int:
    """Consume the catalogue's outbox rows (what a worker does)."""
    return outbox_drain(topics=[TOPIC, "service_task"])


def drive(case, users, *, until: set[str] | None = None, now=None) -> None:
    """Approve every open review (or only the nodes in `until`) by the
    reviewer of its department, until nothing is left to approve."""
    for _ in range(80):
        publish_pending()
        accept_pending(case, now=now or timezone.now())  # a later stage's acceptance (受理)
        tasks = Task.objects.filter(
            case=case, status__in=LIVE_TASK_STATUSES, kind__in=[TaskKind.REVIEW, TaskKind.SIGNATURE]
        ).select_related("department")
        if until is not None:
            tasks = tasks.filter(node_id__in=until)
        task = tasks.order_by("id").first()
        if task is None:
            break
        claim_and_complete(
            task_id=task.pk,
            actor=users[f"{task.department.code}_reviewer"],
            outcome="approve",
            opinion="同意",
            now=now,
        )
    publish_pending()
    case.refresh_from_db()


def submit(case, applicant, now=None) -> None:
    """Submit, and let the accepting department accept it (受理)."""
    attach_required_documents(case, applicant, now=now or timezone.now())
    case_submit(case_id=case.pk, actor=applicant, now=now)
    accept_pending(case, now=now or timezone.now())
    case.refresh_from_db()


def approved_company(users, applicant, *, name="北京数据共享科技有限公司", legal_rep_id=LEGAL_REP_ID):
    """A business-setup case taken to approval: the company register knows it."""
    case = case_create(
        applicant=applicant,
        template_code="business_setup",
        data=example(
            "business_setup",
            company_name=name,
            legal_rep_name="王五",
            legal_rep_id_number=legal_rep_id,
            legal_rep_phone="13800138000",
        ),
    )
    submit(case, applicant)
    drive(case, users)
    assert case.status == "approved", case.status
    return case


def credit_code_of(case) -> str:
    return case.state["results"]["assign_credit_code"]["credit_code"]


def construction_draft(applicant, **overrides):
    data = example("construction_permit", **overrides)
    for name in ("builder_name", "builder_legal_rep_id", "builder_credit_code"):
        data.pop(name, None)
    return case_create(applicant=applicant, template_code="construction_permit", data=data)


@pytest.fixture
def users(base_data):
    return base_data


@pytest.fixture
def company(users, applicant):
    return approved_company(users, applicant)
