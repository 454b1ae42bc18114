"""Reading notifications: a user sees only their own."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Notification, NotificationPreference


def notifications_for_user(*, user, unread_only: bool = False, limit: int = 50) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(user=user).select_related("case", "task")
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-id")[:limit]


def notifications_unread_count(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_preference(*, user) -> NotificationPreference:
    """The user's channels; the defaults (unsaved) when they never chose."""
    found = NotificationPreference.objects.filter(user=user).first()
    return found if found is not None else NotificationPreference(user=user)
