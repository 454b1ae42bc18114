"""Template context: the working-day calendars that run out soon, for the
banner that process administrators see in the console and the Django admin.

Lazy (only pages that show the banner evaluate it) and cached for a minute
per day in Django's cache, so a console page costs no query for it; with
the cache down it is computed each time (govflow.cache)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from govflow.cache import cache_get, cache_set
from govflow.timers.selectors import calendar_warnings as calendar_warnings_on

from .views.common import roles_of

CACHE_SECONDS = 60


def _warnings(request) -> list:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not roles_of(request).is_admin:
        return []
    today = timezone.localdate()
    key = f"govflow:calendar-warnings:{today.isoformat()}"
    found = cache_get(key, use="web.calendar_warnings")
    if found is None:
        found = calendar_warnings_on(today=today)
        cache_set(key, found, CACHE_SECONDS, use="web.calendar_warnings")
    return found


def calendar_warnings(request):
    return {"calendar_warnings": SimpleLazyObject(lambda: _warnings(request))}
