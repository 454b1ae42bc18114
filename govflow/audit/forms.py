"""The auditor's filter form (times in the site's time zone, like the trail page)."""

from __future__ import annotations

from datetime import UTC

from django import forms
from django.utils.translation import gettext_lazy as _

from .actions import Action
from .selectors import TrailFilter

OUTCOMES = ("ok", "failed", "locked_out", "denied")
# Every action, for the filter's suggestions (govflow.audit.actions is the list).
ACTIONS = tuple(sorted(Action))
_TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]


class TrailFilterForm(forms.Form):
    since = forms.DateTimeField(label=_("From"), required=False, input_formats=_TIME_FORMATS)
    until = forms.DateTimeField(label=_("Until"), required=False, input_formats=_TIME_FORMATS)
    actor = forms.CharField(label=_("Actor (user name)"), required=False, max_length=150)
    action = forms.CharField(label=_("Action"), required=False, max_length=64)
    object_type = forms.CharField(label=_("Object type"), required=False, max_length=32)
    object_id = forms.CharField(label=_("Object id"), required=False, max_length=64)
    case = forms.CharField(label=_("Case reference"), required=False, max_length=32)
    outcome = forms.CharField(label=_("Outcome"), required=False, max_length=16)

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("The start of the time range is after its end."))
        return cleaned

    def filters(self) -> TrailFilter:
        data = self.cleaned_data

        def utc(value):
            # Entered in the site's zone; the trail is queried in UTC.
            return value.astimezone(UTC) if value is not None else None

        return TrailFilter(
            since=utc(data.get("since")),
            until=utc(data.get("until")),
            actor=(data.get("actor") or "").strip(),
            action=(data.get("action") or "").strip(),
            object_type=(data.get("object_type") or "").strip(),
            object_id=(data.get("object_id") or "").strip(),
            case_reference=(data.get("case") or "").strip(),
            outcome=(data.get("outcome") or "").strip(),
        )
