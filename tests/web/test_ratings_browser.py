"""In a real Chromium, in both languages: the applicant reads the bell and
the notification page after the decision and rates the service (a 差评
with its reason); the fire department's head sees the poor rating to
remedy, records the remedy and the callback. Screenshots in
test-artifacts/<test name>/."""

from __future__ import annotations

import pytest
import time_machine
from django.utils import translation

from govflow.accounts.models import Membership
from govflow.notifications.models import Notification
from govflow.outbox.services import outbox_drain
from govflow.ratings.models import Rating, Remediation, RemediationStatus
from tests.cases.conftest import decide, review_template, submitted_case  # noqa: F401  (shared fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _to_english(page):
    page.click("form.lang-form button[value='en']")
    page.wait_for_selector("html[lang='en']")


def _in(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


def _fits(page) -> bool:
    """Nothing is wider than the window (no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_notifications_rating_and_remediation_in_chinese_and_english(
    submitted_case,  # noqa: F811
    base_data,
    applicant,
    browser_for,
    shots,
    now,
):
    fire_head = base_data["fire_reviewer"]
    Membership.objects.filter(user=fire_head, department__code="fire").update(is_head=True)
    with time_machine.travel(now, tick=True):
        decide(submitted_case, "intake", base_data["market_regulation_reviewer"], now=now)
        decide(submitted_case, "fire", fire_head, now=now)
        decide(submitted_case, "tax", base_data["tax_reviewer"], now=now)
        outbox_drain()
        case = submitted_case
        case.refresh_from_db()
        assert case.status == "approved"
        unread = Notification.objects.filter(user=applicant, read_at__isnull=True).count()
        assert unread >= 1

        # The bell counts the unread notices; the page lists them in Chinese
        page = browser_for(applicant)
        page.goto("/notifications/")
        page.wait_for_selector("ul.notifications li.notification.unread")
        assert page.inner_text("a.bell .badge").strip() == str(unread)
        assert page.inner_text("main h1") == _in("zh-hans", "Notifications")
        listing = page.inner_text("ul.notifications")
        assert case.reference in listing
        assert "准予许可" in listing
        assert _fits(page)
        # the notice's title is a link-styled button, readable on the white page (not white on white)
        title = page.locator("ul.notifications li.notification button.link-button").first
        assert case.reference in title.inner_text()
        colour = title.evaluate("b => getComputedStyle(b).color")
        background = page.evaluate("getComputedStyle(document.querySelector('main')).backgroundColor")
        assert colour not in ("rgb(255, 255, 255)", background)
        shots(page, "notifications-zh")

        # ... and in English, without the Chinese notice text
        _to_english(page)
        page.wait_for_selector("ul.notifications li.notification")
        assert page.inner_text("main h1") == "Notifications"
        listing = page.inner_text("ul.notifications")
        assert case.reference in listing
        assert "准予许可" not in listing
        shots(page, "notifications-en")

        # The applicant rates the fire department poorly, with the reason (English)
        page.goto(f"/ratings/cases/{case.reference}/")
        page.wait_for_selector("#rate-fire form")
        assert page.inner_text("main h1") == "Rate this service (好差评)"
        page.click("#rate-fire button[type=submit]")  # no level: the browser refuses to submit
        assert not Rating.objects.filter(case=case).exists()
        page.check("#level-fire-1")
        page.click("#rate-fire button[type=submit]")  # a poor rating without its reason
        page.wait_for_selector("#rate-fire .field-error")
        assert not Rating.objects.filter(case=case).exists()
        page.check("#level-fire-1")
        page.fill("#comment-fire", "Nobody answered the phone for a week.")
        page.click("#rate-fire button[type=submit]")
        page.wait_for_selector("#rate-fire strong")
        assert "Nobody answered the phone for a week." in page.inner_text("#rate-fire")
        assert _fits(page)
        shots(page, "rated-en")
        rating = Rating.objects.get(case=case, department__code="fire")
        assert rating.is_poor
        remediation = Remediation.objects.get(rating=rating)

        # The fire department's head finds it to remedy, in Chinese
        head = browser_for(fire_head)
        head.goto("/ratings/remediations/")
        head.wait_for_selector(f"a[href='/ratings/remediations/{remediation.pk}/']")
        assert head.inner_text("main h1") == _in("zh-hans", "Poor ratings to remedy")
        assert _fits(head)
        shots(head, "remediations-zh")
        head.click(f"a[href='/ratings/remediations/{remediation.pk}/']")
        head.wait_for_selector("#remedy")
        assert "Nobody answered the phone for a week." in head.inner_text("dl.facts")
        assert _in("zh-hans", "Remediation of a poor rating") == head.inner_text("main h1")
        head.fill("#remedy", "已安排专人接听咨询电话，并回访申请人。")
        head.click("form:has(#remedy) button[type=submit]")
        head.wait_for_selector("#result-satisfied")
        shots(head, "remediation-remedied-zh")

        # ... records the callback in English
        _to_english(head)
        head.wait_for_selector("#result-satisfied")
        assert head.inner_text("main h1") == "Remediation of a poor rating"
        head.check("#result-satisfied")
        head.fill("#callback-note", "Called back; the applicant is satisfied.")
        head.click("form:has(#result-satisfied) button[type=submit]")
        head.wait_for_selector("dl.facts")
        head.wait_for_function("document.querySelector('dl.facts').innerText.includes('Called back;')")
        shots(head, "remediation-closed-en")
        remediation.refresh_from_db()
        assert remediation.status == RemediationStatus.CLOSED
