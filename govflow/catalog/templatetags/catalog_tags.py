"""Template helpers of the data catalogue, and its pieces on other pages:
the navigation link, the application form's lookup and verified facts,
the case page's provenance and cross-check panel, and the dashboard's
sharing rate."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from govflow.accounts.selectors import department_names
from govflow.engine.identifiers import mask
from govflow.processes.services import version_definition

from .. import selectors
from ..datasets import DatasetField

register = template.Library()


def _lang() -> str:
    return "en" if (get_language() or "").startswith("en") else "zh"


@register.filter
def dataset_text(row, name: str) -> str:
    dataset = getattr(row, "dataset", row)
    return getattr(dataset, f"{name}_{_lang()}", "")


@register.filter
def dataset_title(dataset) -> str:
    return dataset.title(_lang())


@register.filter
def department_label(department) -> str:
    return department.name(_lang()) if department is not None else ""


@register.filter
def field_label(spec: DatasetField) -> str:
    return spec.label_in(_lang())


@register.filter
def shared_with_label(spec: DatasetField) -> str:
    if spec.shared_with == "all":
        return _("every department")
    if not spec.shared_with:
        return _("the owner only")

    names = department_names(language=_lang())
    return "、".join(names.get(code, code) for code in spec.shared_with)


@register.filter
def sharing_label(code: str) -> str:
    return {
        "unconditional": _("shared without conditions"),
        "conditional": _("shared on conditions"),
        "none": _("not shared"),
    }.get(code, code)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def request_fields(request) -> str:
    labels = {f["id"]: f["label"].get(_lang(), f["id"]) for f in request.dataset.fields}
    return "、".join(labels.get(name, name) for name in request.fields)


@register.filter
def request_state(request) -> str:
    if request.status == "approved":
        if request.valid_until and request.valid_until <= timezone.now():
            return _("granted; expired on %(date)s") % {
                "date": f"{timezone.localtime(request.valid_until):%Y-%m-%d}"
            }
        return _("granted until %(date)s") % {"date": f"{timezone.localtime(request.valid_until):%Y-%m-%d}"}
    if request.status == "refused":
        return _("refused")
    return _("waiting for the owner")


@register.inclusion_tag("catalog/_nav_link.html", takes_context=True)
def catalog_nav_link(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    pending = selectors.pending_requests_count(user=user) if user is not None else 0
    return {"show": bool(user and user.is_authenticated), "pending": pending}


# -- the application form --------------------------------------------------------


@register.simple_tag
def catalog_locked(case) -> dict:
    """Verified facts of a draft, by field id: the form shows them read-only."""
    facts = selectors.locked_facts(case=case, language=_lang())
    if not facts:
        return {}
    form = {f.id: f for f in version_definition(case.version).form.fields}
    out = {}
    for field_id, fact in facts.items():
        spec = form.get(field_id)
        text = "" if fact.value is None else str(fact.value)
        if spec is not None and spec.type == "choice":
            labels = {c.value: c.label.get(_lang()) or c.value for c in spec.choices}
            text = labels.get(text, text)
        if spec is not None and spec.sensitivity == "secret":
            text = mask(spec.type, text)
        out[field_id] = {
            "value": fact.value,
            "text": text,
            "dataset": fact.dataset_title,
            "version": fact.version,
        }
    return out


@register.inclusion_tag("catalog/_form_panel.html")
def catalog_form_panel(case) -> dict:
    """The lookups a draft's form offers (a credit code, a project code)."""
    return {"case": case, "reuses": selectors.reuses_of(case) if case.status == "draft" else []}


# -- the case page -------------------------------------------------------------------


@register.inclusion_tag("catalog/_case_panel.html")
def catalog_case_panel(panel) -> dict:
    """The panel the view built (selectors.case_panel) and whose reads it
    recorded: a template tag only reads."""
    return {"panel": panel}


# -- the dashboard ---------------------------------------------------------------------


@register.simple_tag
def catalog_sharing_rate(filters=None):
    """The sharing rate over the dashboard's period and service."""
    if filters is None:
        return selectors.sharing_rate()
    service = getattr(filters, "service", None)
    return selectors.sharing_rate(
        start=getattr(filters, "start", None),
        end=getattr(filters, "end", None),
        template_id=service.pk if service is not None else None,
    )
