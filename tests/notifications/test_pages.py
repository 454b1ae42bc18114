"""What a user sees of their notifications: the bell's unread count on every
page, the notification page (opening one marks it read and goes to its
case), the API; and the notices the applicant gets without asking (the
decision on the application)."""

from __future__ import annotations

import re

import pytest

from govflow.notifications.models import Notification
from govflow.outbox.services import outbox_drain
from tests.api.conftest import api_client
from tests.cases.conftest import decide, review_template, submitted_case  # noqa: F401  (shared fixtures)

pytestmark = pytest.mark.django_db


def _end(case, base_data, now, last="approve"):
    decide(case, "intake", base_data["market_regulation_reviewer"], now=now)
    decide(case, "fire", base_data["fire_reviewer"], now=now)
    decide(case, "tax", base_data["tax_reviewer"], outcome=last, now=now)
    outbox_drain()
    case.refresh_from_db()
    return case


@pytest.mark.parametrize(
    ("last", "status", "words"), [("approve", "approved", "准予许可"), ("reject", "rejected", "未予许可")]
)
def test_the_applicant_is_told_how_the_application_ended_once(
    submitted_case, base_data, applicant, now, mailoutbox, last, status, words  # noqa: F811
):
    case = _end(submitted_case, base_data, now, last)
    assert case.status == status

    (notice,) = Notification.objects.filter(user=applicant, kind="case_ended")
    assert notice.case_id == case.pk
    assert words in notice.body
    assert case.reference in notice.body
    assert [m.to for m in mailoutbox if words in m.subject] == [[applicant.email]]
    outbox_drain()  # a redelivery writes nothing more
    assert Notification.objects.filter(user=applicant, kind="case_ended").count() == 1


def test_a_withdrawn_draft_is_no_application_and_tells_nobody(review_template, applicant, now):  # noqa: F811
    from govflow.cases.services import case_create, case_withdraw

    draft = case_create(applicant=applicant, template_code=review_template.code, data={}, now=now)
    case_withdraw(case_id=draft.pk, actor=applicant, now=now)
    outbox_drain()
    assert not Notification.objects.filter(kind="case_ended").exists()


def test_the_bell_counts_the_unread_and_the_page_opens_and_marks_them(
    submitted_case, base_data, applicant, client, now  # noqa: F811
):
    case = _end(submitted_case, base_data, now)
    client.force_login(applicant)

    page = client.get("/").content.decode()
    bell = re.search(r'<a class="bell[^"]*" href="/notifications/">(.*?)</a>', page, re.S)
    assert bell is not None
    unread = Notification.objects.filter(user=applicant, read_at__isnull=True).count()
    assert unread >= 1
    assert '<span class="badge"' in bell.group(1)
    assert f">{unread}</span>" in bell.group(1)

    listing = client.get("/notifications/").content.decode()
    notice = Notification.objects.get(user=applicant, kind="case_ended")
    assert case.reference in listing
    assert f"/notifications/{notice.pk}/open/" in listing

    opened = client.post(f"/notifications/{notice.pk}/open/")
    assert opened.status_code == 302
    assert opened["Location"] == f"/cases/{case.reference}/"
    notice.refresh_from_db()
    assert notice.read_at is not None

    assert client.post("/notifications/read-all/").status_code == 302
    assert not Notification.objects.filter(user=applicant, read_at__isnull=True).exists()
    assert 'class="badge"' not in client.get("/").content.decode()


def test_nobody_opens_another_users_notification(submitted_case, base_data, applicant, client, now):  # noqa: F811
    _end(submitted_case, base_data, now)
    notice = Notification.objects.get(user=applicant, kind="case_ended")
    client.force_login(base_data["fire_reviewer"])

    assert client.post(f"/notifications/{notice.pk}/open/").status_code == 404
    assert client.get(f"/notifications/{notice.pk}/open/").status_code == 405
    notice.refresh_from_db()
    assert notice.read_at is None


def test_the_page_shows_nothing_but_ones_own_and_writes_nothing(
    submitted_case, base_data, applicant, client, now, monkeypatch  # noqa: F811
):
    from tests.querylog import writes_outside

    _end(submitted_case, base_data, now)
    reviewer = base_data["fire_reviewer"]
    client.force_login(reviewer)
    with writes_outside(monkeypatch) as log:
        page = client.get("/notifications/").content.decode()
        client.get("/")
    assert log.writes == []
    own = list(Notification.objects.filter(user=reviewer).values_list("pk", flat=True))
    assert sorted(int(pk) for pk in re.findall(r"/notifications/(\d+)/open/", page)) == sorted(own)


def test_notifications_over_the_api(submitted_case, base_data, applicant, now):  # noqa: F811
    case = _end(submitted_case, base_data, now)
    api = api_client(applicant)

    listed = api.get("/api/v1/notifications/").json()
    assert listed["unread"] == len(listed["items"]) >= 1
    ended = next(i for i in listed["items"] if i["kind"] == "case_ended")
    assert ended["case"] == case.reference
    assert "准予许可" in ended["text"]

    read = api.post(f"/api/v1/notifications/{ended['id']}/read/")
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    assert api.get("/api/v1/notifications/?unread=true").json()["unread"] == listed["unread"] - 1
    assert api.get("/api/v1/notifications/?unread=maybe").status_code == 400

    other = api_client(base_data["fire_reviewer"])
    assert other.post(f"/api/v1/notifications/{ended['id']}/read/").status_code == 404
    assert api.post("/api/v1/notifications/read-all/").json()["marked"] == listed["unread"] - 1


def test_the_page_says_a_bilingual_notice_in_the_readers_language_only():
    from django.utils import translation

    from govflow.web.templatetags.govflow_web import notice_text

    body = (
        "您的申请 GF1（北京远航物流有限公司）已准予许可。\n"
        "Your application GF1 (北京远航物流有限公司) was approved.\n"
        "http://127.0.0.1:8000/cases/GF1/\n"
    )
    with translation.override("zh-hans"):
        assert notice_text(body) == "您的申请 GF1（北京远航物流有限公司）已准予许可。"
    with translation.override("en"):
        assert notice_text(body) == "Your application GF1 (北京远航物流有限公司) was approved."
        # a notice in one language only is shown whole (without the link the notice opens)
        assert notice_text("GF1 · 设立登记审核 / Establishment registration review") == (
            "GF1 · 设立登记审核 / Establishment registration review"
        )
