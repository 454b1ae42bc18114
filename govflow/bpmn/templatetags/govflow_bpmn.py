"""{% bpmn_diagram %}: the bpmn-js viewer for a process version, with the
server-drawn SVG as the fallback when JavaScript is off (or the viewer
fails), and the case's current nodes marked."""

from django import template
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from govflow.accounts.selectors import department_names
from govflow.processes.services import version_definition
from govflow.web.diagram import diagram_svg

from ..selectors import current_nodes

register = template.Library()


def _lang() -> str:
    return "en" if (get_language() or "zh").startswith("en") else "zh"


def _fallback(version) -> str:
    lang = _lang()
    # diagram_svg escapes every text it draws.
    return mark_safe(
        diagram_svg(version_definition(version), language=lang, departments=department_names(language=lang))
    )


@register.inclusion_tag("bpmn/_viewer.html")
def bpmn_case_diagram(case):
    definition = version_definition(case.version)
    nodes = current_nodes(case)
    lang = _lang()
    return {
        "xml_url": reverse("bpmn:case", args=[case.reference]),
        "current": nodes,
        "current_titles": [definition.nodes[n].label(lang) for n in nodes if n in definition.nodes],
        "fallback": _fallback(case.version),
        "download_url": "",
        "viewer_id": f"bpmn-case-{case.reference}",
    }


@register.inclusion_tag("bpmn/_viewer.html")
def bpmn_version_diagram(version):
    url = reverse("bpmn:version", args=[version.template.code, version.number])
    return {
        "xml_url": url,
        "current": [],
        "current_titles": [],
        "fallback": _fallback(version),
        "download_url": url + "?download=1",
        "viewer_id": f"bpmn-{version.template.code}-v{version.number}",
    }
