"""The 好差评 pages: the applicant rates from the case page; the head of the
department remedies and records the callback; an administrator decides an
appeal; nobody else sees a remediation."""

from __future__ import annotations

import pytest
from django.test import Client

from govflow.accounts.models import Membership
from govflow.ratings.models import Rating, Remediation, RemediationStatus
from tests.web.conftest import login

pytestmark = pytest.mark.django_db


def test_the_applicant_rates_each_item_from_the_case_page(approved_case, applicant):
    client = login(applicant)
    page = client.get(f"/cases/{approved_case.reference}/").content.decode()
    assert f'href="/ratings/cases/{approved_case.reference}/"' in page
    form = client.get(f"/ratings/cases/{approved_case.reference}/")
    assert form.status_code == 200
    assert len(form.context["items"]) == 4
    ok = client.post(f"/ratings/cases/{approved_case.reference}/", {"department": "", "level": "5"})
    assert ok.status_code == 302
    poor = client.post(f"/ratings/cases/{approved_case.reference}/", {"department": "fire", "level": "1"})
    assert poor.status_code == 400
    assert "差评请说明原因" in poor.content.decode()
    item = next(i for i in poor.context["items"] if i["key"] == "fire")
    assert item["errors"]["form"]
    assert item["typed"]["level"] == "1"
    client.post(
        f"/ratings/cases/{approved_case.reference}/",
        {"department": "fire", "level": "1", "comment": "一直不回复"},
    )
    assert Rating.objects.filter(case=approved_case).count() == 2
    again = client.get(f"/ratings/cases/{approved_case.reference}/").content.decode()
    assert "一直不回复" in again


def test_another_applicant_gets_a_404(approved_case, other_applicant):
    client = login(other_applicant)
    assert client.get(f"/ratings/cases/{approved_case.reference}/").status_code == 404
    assert client.post(f"/ratings/cases/{approved_case.reference}/", {"level": "5"}).status_code == 404
    assert not Rating.objects.exists()


def test_an_open_case_cannot_be_rated_yet(submitted_case, applicant):
    client = login(applicant)
    page = client.get(f"/cases/{submitted_case.reference}/").content.decode()
    assert "/ratings/cases/" not in page
    response = client.post(f"/ratings/cases/{submitted_case.reference}/", {"level": "5"})
    assert response.status_code == 400
    assert not response.context["rateable"]
    assert not Rating.objects.exists()


def test_the_head_remedies_and_calls_back_on_the_web(approved_case, applicant, base_data):
    from govflow.ratings.services import rating_submit

    fire_head = base_data["fire_reviewer"]
    Membership.objects.filter(user=fire_head, department__code="fire").update(is_head=True)
    rating = rating_submit(
        case_id=approved_case.pk, actor=applicant, level=2, department="fire", comment="慢"
    )
    pk = rating.remediation.pk
    client = login(fire_head)
    listing = client.get("/ratings/remediations/")
    assert listing.status_code == 200
    assert approved_case.reference in listing.content.decode()
    empty = client.post(f"/ratings/remediations/{pk}/", {"action": "remedy", "remedy": ""})
    assert empty.status_code == 400
    client.post(f"/ratings/remediations/{pk}/", {"action": "remedy", "remedy": "已改进审查流程"})
    client.post(f"/ratings/remediations/{pk}/", {"action": "callback", "result": "satisfied", "note": "电话"})
    assert Remediation.objects.get(pk=pk).status == RemediationStatus.CLOSED
    # Reviewers of other departments and applicants see nothing.
    for outsider in (base_data["tax_reviewer"], applicant):
        other = login(outsider)
        assert other.get(f"/ratings/remediations/{pk}/").status_code == 404
        assert (
            other.post(f"/ratings/remediations/{pk}/", {"action": "appeal", "reason": "x"}).status_code == 404
        )


def test_an_administrator_decides_an_appeal_on_the_web(approved_case, applicant, market_head, process_admin):
    from govflow.ratings.services import rating_submit

    rating = rating_submit(case_id=approved_case.pk, actor=applicant, level=1, comment="恶意")
    pk = rating.remediation.pk
    head = login(market_head)
    head.post(f"/ratings/remediations/{pk}/", {"action": "appeal", "reason": "恶意差评"})
    assert Remediation.objects.get(pk=pk).status == RemediationStatus.APPEALED
    admin = login(process_admin)
    assert approved_case.reference in admin.get("/ratings/remediations/").content.decode()
    admin.post(
        f"/ratings/remediations/{pk}/", {"action": "decide", "decision": "upheld", "note": "核实属恶意"}
    )
    assert Rating.objects.get(pk=rating.pk).excluded


def test_the_figures_on_the_public_page_and_the_dashboard(approved_case, applicant, base_data, time_machine):
    from govflow.ratings.services import rating_submit

    time_machine.move_to("2026-03-10 10:00 +08:00", tick=False)
    rating_submit(case_id=approved_case.pk, actor=applicant, level=5)
    rating_submit(case_id=approved_case.pk, actor=applicant, level=4, department="fire")
    rating_submit(case_id=approved_case.pk, actor=applicant, level=1, department="tax", comment="慢")
    public = Client().get(f"/insight/services/{approved_case.template.code}/")
    assert public.status_code == 200
    figures = public.context["figures"]
    assert (figures.total, figures.poor) == (3, 1)
    assert abs(figures.good_rate - 2 / 3) < 1e-9
    assert 'id="rating-figures"' in public.content.decode()
    board = login(base_data["leader"]).get("/insight/?from=2026-03-01&to=2026-03-31")
    assert board.status_code == 200
    stats = board.context["rating_stats"]
    assert stats.total == 3
    assert stats.remediations == 1
    only_tax = login(base_data["leader"]).get("/insight/?from=2026-03-01&to=2026-03-31&department=tax")
    assert only_tax.context["rating_stats"].total == 1
    earlier = login(base_data["leader"]).get("/insight/?from=2026-02-01&to=2026-02-28")
    assert earlier.context["rating_stats"].total == 0
