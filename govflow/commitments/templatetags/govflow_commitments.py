from django import template

from govflow.commitments.selectors import case_commitments_panel

register = template.Library()


@register.simple_tag
def commitments_panel(case, user):
    """The case page's 容缺 / 告知承诺 panel (the page has already checked
    access); None when the case has no commitment."""
    return case_commitments_panel(case=case, user=user)
