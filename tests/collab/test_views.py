"""The web side: the decision panel offers each operation only when legal;
the pages of the delegate, the consulted department, the copied reader and
the applicant urging."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from govflow.collab.copies import copy_send
from govflow.collab.models import Consultation, Copy, Urge
from govflow.collab.services import consultation_request

pytestmark = [pytest.mark.django_db, pytest.mark.operations]


def _client(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_holder_sees_the_operations_and_a_colleague_does_not(
    held_intake, submitted_case, market_reviewer, market_colleague
):
    page = _client(market_reviewer).get(f"/cases/{submitted_case.reference}/").content.decode()
    assert f"/collab/tasks/{held_intake.pk}/consult/" in page
    assert f"/collab/tasks/{held_intake.pk}/delegate/" in page
    other = _client(market_colleague).get(f"/cases/{submitted_case.reference}/").content.decode()
    assert f"/collab/tasks/{held_intake.pk}/consult/" not in other
    assert f"/collab/tasks/{held_intake.pk}/delegate/" not in other


def test_consult_from_the_page_and_answer_from_the_requests_page(
    held_intake, submitted_case, market_reviewer, fire_reviewer
):
    response = _client(market_reviewer).post(
        f"/collab/tasks/{held_intake.pk}/consult/",
        {"departments": ["fire"], "question": "消防意见？", "days": "2"},
    )
    assert response.status_code == 302
    consultation = Consultation.objects.get()
    fire = _client(fire_reviewer)
    listed = fire.get("/collab/requests/").content.decode()
    assert "消防意见？" in listed
    assert fire.get(f"/cases/{submitted_case.reference}/").status_code == 200
    fire.post(f"/collab/consultations/{consultation.pk}/answer/", {"opinion": "同意"})
    consultation.refresh_from_db()
    assert consultation.opinion == "同意"
    page = _client(market_reviewer).get(f"/cases/{submitted_case.reference}/").content.decode()
    assert "同意" in page


def test_a_refused_decision_says_why_in_chinese(held_intake, submitted_case, market_reviewer, now):
    consultation_request(task_id=held_intake.pk, actor=market_reviewer, departments=["fire"], question="?")
    client = _client(market_reviewer)
    response = client.post(
        f"/inbox/tasks/{held_intake.pk}/decide/",
        {"outcome": "approve", "opinion": "同意"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert held_intake.__class__.objects.get(pk=held_intake.pk).status == "claimed"
    assert "会商" in response.content.decode()


def test_a_copy_is_read_only_and_the_sender_sees_it_read(
    held_intake, submitted_case, market_reviewer, base_data
):
    copy_send(task_id=held_intake.pk, actor=market_reviewer, user_ids=[base_data["tax_reviewer"].pk])
    tax = _client(base_data["tax_reviewer"])
    assert submitted_case.reference in tax.get("/collab/copies/").content.decode()
    copy = Copy.objects.get()
    opened = tax.get(f"/collab/copies/{copy.pk}/", follow=True)
    assert opened.status_code == 200
    page = opened.content.decode()
    assert f"/inbox/tasks/{held_intake.pk}/decide/" not in page  # read only
    copy.refresh_from_db()
    assert copy.read_at is not None


def test_the_applicant_sees_when_they_may_urge_and_urges(submitted_case, applicant, now):
    client = _client(applicant)
    with time_machine.travel(now + timedelta(hours=1), tick=False):
        early = client.get(f"/cases/{submitted_case.reference}/").content.decode()
    assert f"/collab/cases/{submitted_case.reference}/urge/" not in early
    assert 'id="urge"' in early
    with time_machine.travel(now + timedelta(days=1, hours=6), tick=False):
        ready = client.get(f"/cases/{submitted_case.reference}/").content.decode()
        assert f"/collab/cases/{submitted_case.reference}/urge/" in ready
        client.post(f"/collab/cases/{submitted_case.reference}/urge/", {"note": "请加快"})
        after = client.get(f"/cases/{submitted_case.reference}/").content.decode()
    assert Urge.objects.filter(role="applicant").count() == 1
    assert f"/collab/cases/{submitted_case.reference}/urge/" not in after


def test_the_operation_pages_render(market_reviewer, base_data):
    client = _client(base_data["market_regulation_head"])
    for url in (
        "/collab/requests/",
        "/collab/copies/",
        "/collab/proxies/",
        "/collab/opinions/",
        "/collab/batch/",
    ):
        assert client.get(url).status_code == 200, url
