"""Template context for every page: the unread count on the bell, counted
only when a page shows it (one indexed count; never a write)."""

from django.utils.functional import SimpleLazyObject

from .selectors import notifications_unread_count


def unread(request):
    def count() -> int:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return 0
        return notifications_unread_count(user=user)

    return {"unread_notifications": SimpleLazyObject(count)}
