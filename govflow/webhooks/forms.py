"""Parsing the endpoint form; the service checks the values (one set of rules)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import EVENT_KINDS


class EndpointForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200, required=False)
    url = forms.CharField(
        label=_("URL"),
        max_length=2000,
        required=False,
        help_text=_("Where events are sent with an HTTP POST; http:// or https:// only."),
    )
    department = forms.ChoiceField(label=_("Department"), required=False)
    system = forms.CharField(
        label=_("System"),
        max_length=200,
        required=False,
        help_text=_("For an endpoint that belongs to no department: the name of the receiving system."),
    )
    kinds = forms.MultipleChoiceField(
        label=_("Event kinds"), choices=EVENT_KINDS, required=False, widget=forms.CheckboxSelectMultiple
    )
    cleared_for_secrets = forms.BooleanField(
        label=_("Cleared for secret fields"),
        required=False,
        help_text=_(
            "Secret form fields (ID numbers, phone numbers) are left out of the events unless the "
            "endpoint is cleared. A department's endpoint then gets the fields the template clears "
            "for that department; a system's endpoint gets all of them. Every secret value sent is "
            "recorded in the audit trail."
        ),
    )

    def __init__(self, *args, departments: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", _("— none (a system) —")), *departments]

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data.get("name", ""),
            "url": data.get("url", ""),
            "department_code": data.get("department", ""),
            "system": data.get("system", ""),
            "kinds": data.get("kinds", []),
            "cleared_for_secrets": bool(data.get("cleared_for_secrets")),
        }
