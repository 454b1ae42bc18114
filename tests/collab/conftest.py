import pytest

from govflow.accounts.models import Membership
from govflow.cases.services import task_claim
from tests.cases.conftest import decide, live_task, review_template, submitted_case  # noqa: F401


@pytest.fixture
def tax_reviewer(base_data):
    return base_data["tax_reviewer"]


@pytest.fixture
def market_head(base_data):
    return base_data["market_regulation_head"]


@pytest.fixture
def market_colleague(base_data):
    from govflow.accounts.models import Department
    from govflow.demo import ensure_user

    user = ensure_user("market_colleague", password="x", groups=("reviewer",), first_name="同事")
    Membership.objects.get_or_create(user=user, department=Department.objects.get(code="market_regulation"))
    return user


@pytest.fixture
def held_intake(submitted_case, market_reviewer, now):  # noqa: F811
    """The intake task of a submitted case, claimed by the market reviewer."""
    task = live_task(submitted_case, "intake")
    task_claim(task_id=task.pk, actor=market_reviewer, now=now)
    task.refresh_from_db()
    return task
