"""好差评 figures for the pages of other apps (the public statistics page,
the leaders' dashboard): reads only."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone

from ..selectors import rating_statistics

register = template.Library()
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def _start_of(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, tzinfo=LOCAL_TZ)


@register.simple_tag
def rating_figures(filters=None, *, start: date | None = None, end: date | None = None, code=None):
    """Ratings given from `start` to `end` (local dates, inclusive), from the
    dashboard's filters (period, service, department) or given directly."""
    department_id = template_id = None
    if filters is not None:
        start, end = filters.start, filters.end
        service, department = filters.service, filters.department
        template_id = service.pk if service is not None else None
        department_id = department.pk if department is not None else None
    return rating_statistics(
        now=timezone.now(),
        since=_start_of(start),
        until=_start_of(end + timedelta(days=1)) if end is not None else None,
        template_id=template_id,
        template_code=code,
        department_id=department_id,
    )
