"""The webhook admin pages: who may use them, registering with the secret
shown once, bad input refused with nothing written, editing, deactivating,
rotating, the delivery list and "retry now"."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from govflow.audit.models import AuditEvent
from govflow.cases.services import case_create, case_submit
from govflow.outbox.models import OutboxMessage
from govflow.webhooks.models import Delivery, DeliveryStatus, Endpoint

from .conftest import GOOD_DATA, Receiver, drain, register

pytestmark = pytest.mark.django_db


def form(**overrides):
    values = {
        "name": "企业登记系统",
        "url": "https://registry.example.gov.cn/hooks",
        "department": "",
        "system": "registry",
        "kinds": ["case.submitted", "case.approved"],
    }
    values.update(overrides)
    return values


@pytest.fixture
def admin_client(client, process_admin):
    client.force_login(process_admin)
    return client


def test_only_process_admins_may_open_the_pages(client, applicant, market_reviewer, process_admin):
    endpoint, _secret = register(process_admin, "https://x.example/hooks")
    urls = [
        reverse("webhooks:endpoints"),
        reverse("webhooks:endpoint_new"),
        reverse("webhooks:endpoint", args=[endpoint.pk]),
        reverse("webhooks:endpoint_edit", args=[endpoint.pk]),
        reverse("webhooks:deliveries"),
    ]
    for url in urls:
        assert client.get(url).status_code == 302  # to the login page
    for user in (applicant, market_reviewer):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 403, url
        assert client.post(reverse("webhooks:endpoint_rotate", args=[endpoint.pk])).status_code == 403
        assert client.post(reverse("webhooks:endpoint_new"), form()).status_code == 403
    assert Endpoint.objects.count() == 1
    assert Endpoint.objects.get().secret == _secret


def test_registering_shows_the_secret_once_and_is_audited(admin_client, process_admin):
    response = admin_client.post(reverse("webhooks:endpoint_new"), form(), HTTP_ACCEPT_LANGUAGE="zh")

    assert response.status_code == 200
    endpoint = Endpoint.objects.get()
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.secret in response.content.decode()
    assert "no-store" in response.headers.get("Cache-Control", "")
    assert endpoint.kinds == ["case.submitted", "case.approved"]
    assert endpoint.created_by == process_admin
    # never again: not on the endpoint's page, the list, nor the Django admin
    for url in (reverse("webhooks:endpoint", args=[endpoint.pk]), reverse("webhooks:endpoints")):
        assert endpoint.secret not in admin_client.get(url).content.decode()
    audit = AuditEvent.objects.get(action="WEBHOOK_ENDPOINT_REGISTERED")
    assert audit.actor_id == process_admin.pk
    assert audit.data["url"] == endpoint.url
    assert endpoint.secret not in str(audit.data)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://files.example/hooks",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://",
        "registry.example/hooks",
        "https://user:password@registry.example/hooks",
        "http://registry.example:port/hooks",
        "http://registry.example/ho oks",
        "",
    ],
)
def test_bad_urls_are_refused_with_a_message_and_nothing_is_written(admin_client, url):
    response = admin_client.post(reverse("webhooks:endpoint_new"), form(url=url))

    assert response.status_code == 200
    assert b"error-summary" in response.content
    assert b"whsec_" not in response.content
    assert not Endpoint.objects.exists()
    assert not AuditEvent.objects.filter(action="WEBHOOK_ENDPOINT_REGISTERED").exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": ""},
        {"kinds": []},
        {"kinds": ["case.lost"]},
        {"system": ""},
        {"department": "fire"},  # and a system: one owner only
        {"department": "nonexistent", "system": ""},
        {"name": "x" * 101},
    ],
)
def test_other_bad_input_is_refused(admin_client, overrides):
    response = admin_client.post(reverse("webhooks:endpoint_new"), form(**overrides))

    assert response.status_code == 200
    assert b"error-summary" in response.content
    assert not Endpoint.objects.exists()


def test_editing_deactivating_and_rotating_are_audited(admin_client, process_admin):
    endpoint, old_secret = register(process_admin, "https://x.example/hooks")

    response = admin_client.post(
        reverse("webhooks:endpoint_edit", args=[endpoint.pk]),
        form(url="https://y.example/hooks", system="", department="fire", cleared_for_secrets="on"),
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.department.code, endpoint.system) == (
        "https://y.example/hooks",
        "fire",
        "",
    )
    assert endpoint.cleared_for_secrets is True

    response = admin_client.post(reverse("webhooks:endpoint_rotate", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.secret != old_secret
    assert endpoint.secret in response.content.decode()
    assert endpoint.previous_secret == old_secret

    admin_client.post(reverse("webhooks:endpoint_activation", args=[endpoint.pk]), {"active": "0"})
    endpoint.refresh_from_db()
    assert endpoint.is_active is False

    actions = list(
        AuditEvent.objects.filter(object_type="webhook_endpoint", object_id=str(endpoint.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "WEBHOOK_ENDPOINT_REGISTERED",
        "WEBHOOK_ENDPOINT_CHANGED",
        "WEBHOOK_SECRET_ROTATED",
        "WEBHOOK_ENDPOINT_DEACTIVATED",
    ]
    changed = AuditEvent.objects.get(action="WEBHOOK_ENDPOINT_CHANGED").data["changed"]
    assert changed["url"] == {"from": "https://x.example/hooks", "to": "https://y.example/hooks"}
    for event in AuditEvent.objects.filter(object_type="webhook_endpoint"):
        assert old_secret not in str(event.data)
        assert endpoint.secret not in str(event.data)


def test_the_delivery_list_shows_status_and_retry_now_sends_again(
    admin_client, review_template, applicant, process_admin, now
):
    # Given a delivery that failed for good while its receiver was down
    receiver = Receiver().start()
    receiver.stop()
    _endpoint, _secret = register(process_admin, receiver.url, kinds=["case.submitted"])
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)
    Delivery.objects.update(give_up_at=now)
    drain()
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED

    # The list shows it with its attempts and error
    page = admin_client.get(reverse("webhooks:deliveries"), {"status": "failed"}).content.decode()
    assert "delivery-failed" in page
    assert "connection failed" in page
    assert (
        admin_client.get(reverse("webhooks:deliveries"), {"status": "delivered"}).content.count(
            b"delivery-failed"
        )
        == 0
    )

    # When the receiver is back and an admin presses "retry now"
    try:
        receiver.start()
        response = admin_client.post(reverse("webhooks:delivery_retry", args=[delivery.pk]))
        assert response.status_code == 302
        drain()
    finally:
        receiver.stop()

    # Then it is delivered, and the retry is in the trail
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED
    assert len(receiver.requests) == 1
    assert AuditEvent.objects.filter(action="WEBHOOK_DELIVERY_RETRIED", object_id=str(delivery.pk)).exists()
    # A delivered one cannot be retried: a message, nothing queued
    before = OutboxMessage.objects.count()
    response = admin_client.post(reverse("webhooks:delivery_retry", args=[delivery.pk]), follow=True)
    assert response.status_code == 200
    assert OutboxMessage.objects.count() == before
    assert admin_client.get(reverse("webhooks:delivery", args=[delivery.pk])).status_code == 200
    assert admin_client.post(reverse("webhooks:delivery_retry", args=[999999])).status_code == 404


def test_a_delivery_page_hides_secret_form_data(admin_client, review_template, applicant, process_admin, now):
    register(process_admin, "http://127.0.0.1:9/hooks", kinds=["case.submitted"], cleared_for_secrets=True)
    case = case_create(applicant=applicant, template_code="test_review", data=GOOD_DATA, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)
    delivery = Delivery.objects.get()
    assert GOOD_DATA["rep_id_number"] in delivery.body

    page = admin_client.get(reverse("webhooks:delivery", args=[delivery.pk])).content.decode()

    assert GOOD_DATA["rep_id_number"] not in page
    assert case.reference in page


def test_the_django_admin_lists_webhooks_without_the_secret(client, base_data, process_admin):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.org", "x")
    endpoint, secret = register(process_admin, "https://x.example/hooks")
    client.force_login(root)
    for url in (
        reverse("admin:webhooks_endpoint_changelist"),
        reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]),
        reverse("admin:webhooks_delivery_changelist"),
    ):
        response = client.get(url)
        assert response.status_code == 200
        assert secret not in response.content.decode()


def test_the_pages_speak_chinese_by_default(admin_client, process_admin):
    register(process_admin, "https://x.example/hooks")

    page = admin_client.get(reverse("webhooks:endpoints")).content.decode()

    assert "登记接收端" in page
    assert "Webhook 推送" in page
    blank = admin_client.get(reverse("webhooks:endpoint_new")).content.decode()
    assert 'value="case.submitted"' in blank
    assert "授权接收敏感字段" in blank


def test_the_lists_are_one_query_however_many_rows(process_admin, django_assert_num_queries):
    from govflow.webhooks import selectors

    for n in range(3):
        endpoint, _secret = register(process_admin, f"https://x{n}.example/hooks", name=f"e{n}")
        Delivery.objects.bulk_create(
            Delivery(
                endpoint=endpoint,
                event_id=uuid.uuid4(),
                kind="case.submitted",
                body="{}",
                created_at=endpoint.created_at,
                give_up_at=endpoint.created_at,
            )
            for _ in range(4)
        )
    with django_assert_num_queries(1):
        rows = list(selectors.endpoints_for_admin())
        assert [e.pending_count for e in rows] == [4, 4, 4]
    with django_assert_num_queries(1):
        page = selectors.deliveries_for_admin(status="pending")
        assert len(page.rows) == 12
        assert {d.endpoint.name for d in page.rows} == {"e0", "e1", "e2"}
