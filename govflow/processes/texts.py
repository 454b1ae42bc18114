"""A template's time limits as text for people ("20 working days"): the
service catalogue, the public statistics and the pages all say it the same way."""

from __future__ import annotations

from django.utils.translation import gettext as _


def duration_text(duration) -> str:
    """A template time limit as text: '1 working day', '120 working days', '4 working hours'."""
    if duration is None:
        return ""
    if duration.days is not None:
        days = duration.days
        return _("%(days)s working days") % {"days": days} if days != 1 else _("1 working day")
    if getattr(duration, "calendar_days", None) is not None:
        days = duration.calendar_days
        return _("%(days)s calendar days") % {"days": days} if days != 1 else _("1 calendar day")
    hours = duration.hours or 0
    if hours and hours % 8 == 0:
        days = int(hours // 8)
        return _("%(days)s working days") % {"days": days} if days != 1 else _("1 working day")
    return _("%(hours)s working hours") % {"hours": f"{hours:g}"}
