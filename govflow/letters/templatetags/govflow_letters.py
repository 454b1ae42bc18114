from django import template

from govflow.letters.selectors import letters_for_case

register = template.Library()


@register.simple_tag
def case_letters(case):
    """The case page's written letters (the page has already checked access)."""
    return letters_for_case(case=case)
