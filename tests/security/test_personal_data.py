"""Secret field values (ID and phone numbers) stay out of logs, Celery
messages, notification mails and error pages."""

import logging
import sys

import pytest
from celery.signals import before_task_publish
from django.core import mail
from django.test import Client, RequestFactory
from django.utils import timezone
from django.views.debug import ExceptionReporter

from govflow.cases.models import Task
from govflow.demo_cases import accept_pending
from govflow.outbox.models import OutboxMessage
from govflow.outbox.relay import relay_drain
from govflow.outbox.services import outbox_drain
from govflow.security.reporting import RedactingFormatter, redact
from tests.web.conftest import example

pytestmark = pytest.mark.django_db

ID_NUMBER = "11010519491231002X"
PHONE = "13912345678"


def test_a_case_goes_through_without_its_secrets_in_logs_messages_or_mails(
    base_data, applicant, market_reviewer, caplog, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"

    from govflow.cases.services import case_create, case_submit
    from govflow.demo_cases import attach_required_documents

    published = []

    def capture(sender=None, body=None, headers=None, **kwargs):
        published.append(repr(body) + repr(headers))

    before_task_publish.connect(capture, weak=False)
    caplog.set_level(logging.DEBUG)
    try:
        data = example("business_setup", legal_rep_id_number=ID_NUMBER, legal_rep_phone=PHONE)
        case = case_create(applicant=applicant, template_code="business_setup", data=data)
        attach_required_documents(case, applicant, now=timezone.now())
        applicant_client = Client()
        applicant_client.force_login(applicant)
        # a bad ID number first: the form says so, and the value is not logged
        form = {"action": "submit", **{k: v for k, v in data.items() if isinstance(v, str)}}
        with django_capture_on_commit_callbacks(execute=True):
            scratch = case_create(applicant=applicant, template_code="business_setup", data=data)
            applicant_client.post(
                f"/cases/{scratch.reference}/edit/", {**form, "legal_rep_id_number": "110105194912310021"}
            )
            case_submit(case_id=case.pk, actor=applicant)
            accept_pending(case, now=timezone.now())  # 受理 by market regulation
            relay_drain()  # what the relay role publishes (the captured messages)
            outbox_drain()
        case.refresh_from_db()
        assert case.status != "draft"
        reviewer = Client()
        reviewer.force_login(market_reviewer)
        task = Task.objects.filter(case=case, node_id="registration", status="open").first()
        with django_capture_on_commit_callbacks(execute=True):
            reviewer.get(f"/cases/{case.reference}/")
            if task is not None:
                reviewer.post(f"/inbox/tasks/{task.pk}/claim/")
                reviewer.post(f"/inbox/tasks/{task.pk}/decide/", {"outcome": "approve", "opinion": "同意"})
            relay_drain()  # what the relay role publishes (the captured messages)
            outbox_drain()
    finally:
        before_task_publish.disconnect(capture)
    assert published, "the flow published Celery messages"
    for secret in (ID_NUMBER, PHONE, "110105194912310021"):
        for record in caplog.records:
            assert secret not in record.getMessage(), record.getMessage()
            assert secret not in (record.exc_text or "")
        assert not any(secret in message for message in published)
        assert not any(secret in str(row) for row in OutboxMessage.objects.values_list("payload", flat=True))
        for email in mail.outbox:
            assert secret not in email.body
            assert secret not in email.subject


def test_log_lines_mask_id_and_mobile_numbers_even_in_tracebacks():
    formatter = RedactingFormatter("%(message)s")
    try:
        int(ID_NUMBER)
    except ValueError:
        record = logging.LogRecord(
            "t", logging.ERROR, __file__, 1, "saw %s and %s", (ID_NUMBER, PHONE), sys.exc_info()
        )
    line = formatter.format(record)
    assert ID_NUMBER not in line
    assert PHONE not in line
    assert "1101**********002X" in line
    assert "139****5678" in line
    assert (
        redact("order 20261124000000123456789 at 1732406400") == "order 20261124000000123456789 at 1732406400"
    )


def test_error_reports_show_no_post_values_or_variables(settings):
    settings.DEBUG = True  # the debug page too
    request = RequestFactory().post("/boom/", {"id_number": ID_NUMBER, "phone": PHONE})
    secret_local = ID_NUMBER  # noqa: F841 - a frame variable the report must not show
    try:
        raise ValueError("something failed")
    except ValueError:
        reporter = ExceptionReporter(request, *sys.exc_info())
    for text in (reporter.get_traceback_text(), reporter.get_traceback_html()):
        assert ID_NUMBER not in text
        assert PHONE not in text


@pytest.mark.urls("tests.security.urls_boom")
def test_the_500_page_shows_nothing_of_the_request(base_data):
    client = Client(raise_request_exception=False)
    response = client.post("/boom/", {"id_number": ID_NUMBER})
    assert response.status_code == 500
    assert ID_NUMBER not in response.content.decode()
