"""The auditor's filter form (times in UTC, like the trail)."""

from __future__ import annotations

from datetime import UTC

from django import forms
from django.utils.translation import gettext_lazy as _

from .selectors import TrailFilter

OUTCOMES = ("ok", "failed", "locked_out", "denied")
ACTIONS = (
    "CASE_CREATED",
    "CASE_SUBMITTED",
    "CASE_IN_REVIEW",
    "CASE_AWAITING_CORRECTION",
    "CASE_CORRECTED",
    "CASE_APPROVED",
    "CASE_REJECTED",
    "CASE_WITHDRAWN",
    "TASK_CLAIMED",
    "TASK_RELEASED",
    "TASK_HANDED_OVER",
    "TASK_COMPLETED",
    "TASK_AUTO_DECIDED",
    "TASK_ESCALATED",
    "TIMER_FIRED",
    "CLOCK_PAUSED",
    "CLOCK_RESUMED",
    "SERVICE_TASK_COMPLETED",
    "SECRET_FIELD_READ",
    "ATTACHMENT_ADDED",
    "ATTACHMENT_REMOVED",
    "TEMPLATE_PUBLISHED",
    "CERTIFICATE_ISSUED",
    "CERTIFICATE_REVOKED",
    "LOGIN_SUCCEEDED",
    "LOGIN_FAILED",
    "LOGGED_OUT",
    "ACCESS_DENIED",
    "USER_CREATED",
    "USER_PRIVILEGES_CHANGED",
    "PASSWORD_CHANGED",
    "ROLE_GRANTED",
    "ROLE_REVOKED",
    "PERMISSION_GRANTED",
    "PERMISSION_REVOKED",
    "GROUP_PERMISSION_GRANTED",
    "GROUP_PERMISSION_REVOKED",
    "OBJECT_PERMISSION_GRANTED",
    "OBJECT_PERMISSION_REVOKED",
    "MEMBERSHIP_ADDED",
    "MEMBERSHIP_CHANGED",
    "MEMBERSHIP_REMOVED",
    "DEPARTMENT_HEAD_CHANGED",
    "SECRETS_PURGED",
    "ATTACHMENTS_PURGED",
    "AUDIT_TRAIL_EXPORTED",
)
_TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"]


class TrailFilterForm(forms.Form):
    since = forms.DateTimeField(label=_("From (UTC)"), required=False, input_formats=_TIME_FORMATS)
    until = forms.DateTimeField(label=_("Until (UTC)"), required=False, input_formats=_TIME_FORMATS)
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
            # The form reads times as UTC (the view runs in UTC); keep them so.
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
