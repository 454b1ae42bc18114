"""Notifying people: in-app rows, e-mail and SMS.

`notification_write` is the one way a notice goes out; `notification_send`
is what the apps call for a notice about something that is not a task, and
the notices of a task (govflow.cases.task_notices.notification_deliver, what
the outbox `notify` consumer calls) go through the same write. Each is
idempotent per outbox key: the rows of one key are inserted, and the e-mail
sent, inside one transaction, and the (key, user) unique constraint makes a
concurrent second delivery wait for the first and then fail without
sending anything; a later redelivery finds the rows and does nothing.
E-mails carry the case reference and the step's name, never form data.

`calendar_warning_notify` (daily, from beat) tells process administrators,
once per ISO week and calendar, that the loaded working-day calendar runs
out within GOVFLOW_CALENDAR_WARNING_DAYS; it is keyed the same way
(`calendar:cn:2026-W49`), so a second run in the same week does nothing.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.utils import timezone

from govflow.accounts import permissions
from govflow.errors import NotFound
from govflow.timers.selectors import calendar_warnings

from .models import Notification, NotificationKind, NotificationPreference
from .sms import clean_phone, sms_queue

SUBJECTS = {
    NotificationKind.TASK_CREATED: "新的审批任务 / New review task",
    NotificationKind.REMINDER: "审批任务即将到期 / Review task due soon",
    NotificationKind.ESCALATION: "审批任务已超期 / Review task overdue",
    NotificationKind.CORRECTION_REQUESTED: "请补正材料 / Please correct your application",
    NotificationKind.DEADLINE_CHANGED: "办理期限已更新 / Deadline updated",
    NotificationKind.CALENDAR_MISSING: "工作日历即将用完 / Working-day calendar running out",
    NotificationKind.POOR_RATING: "差评待整改 / A poor rating to remedy",
    NotificationKind.REMEDIATION_OVERDUE: "差评整改已超期 / Remediation of a poor rating overdue",
    NotificationKind.APPLICANT_STEP: "请办理申请人事项 / A step for you to take",
    NotificationKind.OBJECTION_FILED: "公示期间收到异议 / An objection was filed during the public notice",
    NotificationKind.CASE_LIMIT_WARNING: "办件即将超期 / A case nears its time limit",
    NotificationKind.CASE_LIMIT_PASSED: "办件已超期 / A case is past its time limit",
}
# Deadlines in e-mails are the wall-clock time of the offices (the calendar's zone).
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def _administrators() -> list:
    """Active users who administer process templates, as the console decides."""
    return list(permissions.admins().order_by("pk"))


def _calendar_body(coverage) -> str:
    year, code = coverage.missing_year, coverage.code
    if coverage.last_day is not None:
        last, days = coverage.last_day.isoformat(), coverage.days_left
        zh = (
            f"{year} 年工作日历尚未导入：现有日历截至 {last}，还剩 {days} 天。"
            "请按国务院办公厅节假日安排通知导入。"
        )
        en = (
            f"The {year} working-day calendar is not loaded yet: the loaded calendar ends on {last}, "
            f"with {days} day{'s' if days != 1 else ''} left. "
            "Load the State Council General Office's holiday notice for that year."
        )
    else:
        zh = f"{year} 年工作日历尚未导入，现有日历已不覆盖今天。请按国务院办公厅节假日安排通知导入。"
        en = (
            f"The {year} working-day calendar is not loaded, and the loaded calendar no longer covers "
            "today. Load the State Council General Office's holiday notice for that year."
        )
    how = (
        f"manage.py load_calendar fixtures/calendar/{code}.yaml, "
        f"{settings.GOVFLOW_PUBLIC_BASE_URL}/admin/timers/calendaryear/"
    )
    return f"{zh}\n{en}\n\n({code}) {how}\n"


def calendar_warning_notify(*, now: datetime | None = None) -> int:
    """Warn process administrators, in the app and by e-mail, about every
    calendar that runs out within the lead time; once per ISO week (of the
    local date) and calendar. Returns how many notifications were written
    (0 when this week's were written before, or nothing runs out yet)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    week = today.isocalendar()
    written = 0
    for coverage in calendar_warnings(today=today):
        key = f"calendar:{coverage.code}:{week.year}-W{week.week:02d}"
        if Notification.objects.filter(outbox_key=key).exists():
            continue
        recipients = _administrators()
        kind = NotificationKind.CALENDAR_MISSING
        subject, body = SUBJECTS[kind], _calendar_body(coverage)
        written += notification_send(
            key=key, kind=kind, users=recipients, subject=subject, body=body, now=now
        )
    return written


def notification_send(
    *, key: str, kind: str, users, subject: str, body: str, case_id: int | None = None, now: datetime
) -> int:
    """Notify `users` in the app and by e-mail about something that is not
    a task (a calendar running out, a poor rating to remedy), once per key:
    the rows and the e-mails are written in one transaction, and a second
    call with the key (a redelivered outbox message, a concurrent run)
    writes nothing. Returns how many notifications were written."""
    users = list(users)
    if not users or Notification.objects.filter(outbox_key=key).exists():
        return 0
    try:
        return notification_write(
            key=key, kind=kind, users=users, subject=subject, body=body, case_id=case_id, task=None, now=now
        )
    except IntegrityError:  # written concurrently under the same key
        return 0


def notification_write(*, key, kind, users, subject, body, case_id, task, now) -> int:
    """The one way a notice goes out (raises IntegrityError when the key was
    written concurrently), in one transaction: a row per user
    (the bell), an e-mail to each address whose owner has not turned e-mail
    off, and an SMS queued (its own outbox message, retried on its own) for
    each user who turned SMS on with a mobile number (govflow.notifications.sms)."""
    with transaction.atomic():
        Notification.objects.bulk_create(
            [
                Notification(
                    user=user,
                    kind=kind,
                    case_id=case_id,
                    task=task,
                    outbox_key=key,
                    body=body,
                    created_at=now,
                )
                for user in users
            ]
        )
        preferences = {p.user_id: p for p in NotificationPreference.objects.filter(user__in=users)}
        addresses = sorted(
            {
                user.email
                for user in users
                if user.email and (user.pk not in preferences or preferences[user.pk].email)
            }
        )
        if addresses:
            # One message per address: recipients do not see each other.
            get_connection(fail_silently=False).send_messages(
                [EmailMessage(subject, body, None, [address]) for address in addresses]
            )
        for preference in preferences.values():
            if preference.sms and preference.phone:
                sms_queue(key=key, user_id=preference.user_id, subject=subject, case_id=case_id, now=now)
    return len(users)


def notification_mark_read(*, notification_id: int, actor, now: datetime | None = None) -> Notification:
    notification = Notification.objects.filter(pk=notification_id, user=actor).first()
    if notification is None:
        raise NotFound("notification not found")
    if notification.read_at is None:
        notification.read_at = now or timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, actor, now: datetime | None = None) -> int:
    return Notification.objects.filter(user=actor, read_at__isnull=True).update(read_at=now or timezone.now())


def notification_preferences_save(*, user, email: bool, sms: bool, phone: str = "") -> NotificationPreference:
    """A user's channels besides the bell, which is always on: e-mail (on
    unless turned off) and SMS (off unless turned on with a mainland mobile
    number). Turning SMS on without a valid number is refused."""
    phone = clean_phone(phone) if (phone or sms) else ""
    preference, _created = NotificationPreference.objects.update_or_create(
        user=user, defaults={"email": bool(email), "sms": bool(sms), "phone": phone}
    )
    return preference
