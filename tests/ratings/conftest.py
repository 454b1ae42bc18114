import pytest

from govflow.accounts.models import Membership
from tests.cases.conftest import decide, review_template, submitted_case  # noqa: F401  (shared fixtures)


@pytest.fixture
def approved_case(submitted_case, base_data, now):  # noqa: F811  (the imported fixture)
    decide(submitted_case, "intake", base_data["market_regulation_reviewer"], now=now)
    decide(submitted_case, "fire", base_data["fire_reviewer"], now=now)
    decide(submitted_case, "tax", base_data["tax_reviewer"], now=now)
    submitted_case.refresh_from_db()
    assert submitted_case.status == "approved"
    return submitted_case


@pytest.fixture
def market_head(base_data):
    head = base_data["market_regulation_reviewer"]
    Membership.objects.filter(user=head, department__code="market_regulation").update(is_head=True)
    return head
