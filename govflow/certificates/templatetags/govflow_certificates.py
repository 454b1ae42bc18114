from django import template

from govflow.certificates.selectors import certificates_for_case

register = template.Library()


@register.simple_tag
def case_certificates(case):
    """The case page's certificates (the page has already checked access)."""
    return certificates_for_case(case=case)
