from pathlib import Path

import pytest

from govflow.cases.models import Task, TaskStatus
from govflow.cases.services import case_create, case_submit
from govflow.processes.services import process_publish
from tests.deciding import claim_and_complete

REVIEW_YAML = Path(__file__).parent.parent / "data" / "services" / "review.yaml"
GOOD_DATA = {"company_name": "北京示例科技有限公司", "area": 120, "rep_id_number": "11010519491231002X"}


@pytest.fixture
def review_template(base_data):
    return process_publish(source=REVIEW_YAML.read_text(encoding="utf-8")).template


@pytest.fixture
def submitted_case(review_template, applicant, now):
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
    return case_submit(case_id=case.pk, actor=applicant, now=now)


def live_task(case, node_id):
    return Task.objects.get(case=case, node_id=node_id, status__in=[TaskStatus.OPEN, TaskStatus.CLAIMED])


def decide(case, node_id, user, outcome="approve", opinion="同意", now=None):
    return claim_and_complete(
        task_id=live_task(case, node_id).pk, actor=user, outcome=outcome, opinion=opinion, now=now
    )
