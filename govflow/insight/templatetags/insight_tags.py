"""Template helpers of the insight pages, and the navigation check."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

from govflow.insight.selectors import insight_allowed

register = template.Library()


@register.simple_tag(takes_context=True)
def can_see_insight(context) -> bool:
    """Whether to offer the dashboard link (worked out once per request)."""
    request = context.get("request")
    if request is None:
        return False
    cached = getattr(request, "_govflow_insight", None)
    if cached is None:
        cached = request._govflow_insight = insight_allowed(request.user)
    return cached


@register.filter
def percent(value) -> str:
    """A share (0..1) as a percentage with one decimal ("97.5%"); empty for None."""
    if value is None:
        return ""
    text = f"{float(value) * 100:.1f}"
    return (text[:-2] if text.endswith(".0") else text) + "%"


def _lang() -> str:
    return "en" if (get_language() or "").startswith("en") else "zh"


@register.filter
def service_title(template_obj) -> str:
    return template_obj.title(_lang())


@register.filter
def department_name(department) -> str:
    return department.name(_lang())


@register.inclusion_tag("insight/_nav_link.html", takes_context=True)
def insight_nav_link(context) -> dict:
    """The dashboard's entry in the site navigation, for those who may see it."""
    return {"show": can_see_insight(context)}


@register.inclusion_tag("insight/_service_link.html")
def insight_service_link(code: str) -> dict:
    """The service page's link to its published processing times."""
    return {"code": code}
