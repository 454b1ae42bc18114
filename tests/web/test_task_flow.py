"""The decision panel's 退回 / 撤回 / 转办 / 加签 forms (issue 19, part A)."""

import pytest

from govflow.cases.models import Task

pytestmark = [pytest.mark.operations, pytest.mark.django_db]


@pytest.fixture
def review_case(base_data, applicant, now):
    from govflow.cases.services import case_create, case_submit
    from govflow.processes.services import process_publish
    from tests.cases.conftest import GOOD_DATA, REVIEW_YAML

    process_publish(source=REVIEW_YAML.read_text(encoding="utf-8"))
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
    return case_submit(case_id=case.pk, actor=applicant, now=now)


def _live(case, node):
    return Task.objects.get(case=case, node_id=node, status__in=["open", "claimed"])


def test_the_panel_offers_only_legal_operations_and_they_work(client, base_data, review_case):
    # At intake nothing came before: no return, but transfer and signers
    reviewer = base_data["market_regulation_reviewer"]
    client.force_login(reviewer)
    page = client.get(f"/cases/{review_case.reference}/").content.decode()
    assert "/return/" not in page
    assert f"/inbox/tasks/{_live(review_case, 'intake').pk}/transfer/" in page

    # After the decision the reviewer may take it back, and does
    intake = _live(review_case, "intake")
    client.post(f"/inbox/tasks/{intake.pk}/claim/")
    client.post(f"/inbox/tasks/{intake.pk}/decide/", {"outcome": "approve", "opinion": "同意"})
    page = client.get(f"/cases/{review_case.reference}/").content.decode()
    assert f"/inbox/tasks/{intake.pk}/take-back/" in page
    response = client.post(
        f"/inbox/tasks/{intake.pk}/take-back/", {"next": f"/cases/{review_case.reference}/"}
    )
    assert response.status_code == 302
    again = _live(review_case, "intake")
    assert again.assignee_id == reviewer.pk

    # Fire may send the case back to intake
    client.post(f"/inbox/tasks/{again.pk}/decide/", {"outcome": "approve", "opinion": "同意"})
    client.force_login(base_data["fire_reviewer"])
    fire = _live(review_case, "fire")
    page = client.get(f"/cases/{review_case.reference}/").content.decode()
    # 退回 and 加签 decide: offered once the task is claimed (签收); 转办 before
    assert f"/inbox/tasks/{fire.pk}/return/" not in page
    assert f"/inbox/tasks/{fire.pk}/add-signer/" not in page
    assert f"/inbox/tasks/{fire.pk}/transfer/" in page
    client.post(f"/inbox/tasks/{fire.pk}/claim/")
    page = client.get(f"/cases/{review_case.reference}/").content.decode()
    assert f"/inbox/tasks/{fire.pk}/return/" in page
    assert f"/inbox/tasks/{fire.pk}/add-signer/" in page
    client.post(f"/inbox/tasks/{fire.pk}/return/", {"target": "intake", "opinion": "退回重审"})
    assert _live(review_case, "intake").round == 2


def test_a_refused_operation_is_a_message_not_an_error(client, base_data, review_case):
    client.force_login(base_data["market_regulation_reviewer"])
    intake = _live(review_case, "intake")
    response = client.post(
        f"/inbox/tasks/{intake.pk}/transfer/", {"department": "tax", "opinion": ""}, follow=True
    )
    assert response.status_code == 200
    assert _live(review_case, "intake").department.code == "market_regulation"
