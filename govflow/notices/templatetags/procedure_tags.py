"""The case page's panel of the statutory procedure's own steps: the
public notice and its objections (reviewers see the objections in full),
the applicant's open steps (a form for the applicant) and the fees (待缴费
or paid), placed in templates/cases/detail.html with one line."""

from __future__ import annotations

from django import template
from django.utils.translation import get_language

from govflow.cases.applicant_steps import applicant_steps_open, fee_states
from govflow.notices.selectors import notice_get, objections_for_case

register = template.Library()


@register.inclusion_tag("notices/_panel.html", takes_context=True)
def procedure_panel(context, case, detail):
    language = (get_language() or "zh")[:2]
    owner = bool(detail.is_owner)
    notice = notice_get(reference=case.reference, language=language) if case.is_open else None
    return {
        "case": case,
        "owner": owner,
        "notice": notice,
        # the objector's personal data is for the reviewing departments, never the applicant
        "objections": [] if owner else objections_for_case(case=case),
        "steps": applicant_steps_open(case=case, language=language) if case.is_open else [],
        "fees": fee_states(case=case, language=language),
        "step_errors": context.get("step_errors") or {},
        "csrf_token": context.get("csrf_token"),
    }
