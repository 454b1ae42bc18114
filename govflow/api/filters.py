"""Filters and ordering of the applicant's case list, applied on top of
the permission-filtered queryset (govflow.cases.selectors.cases_for_applicant).
An unknown value is a 400, never ignored."""

from __future__ import annotations

from datetime import UTC, datetime

import django_filters
from django.db.models import Q
from django.utils.translation import gettext as _
from django_filters.fields import IsoDateTimeField

from govflow.cases.models import ENDED_CASE_STATUSES, OPEN_CASE_STATUSES, Case, CaseStatus

FIRST = datetime.min.replace(tzinfo=UTC)
LAST = datetime.max.replace(tzinfo=UTC)
STATUS_GROUPS = {"open": OPEN_CASE_STATUSES, "ended": ENDED_CASE_STATUSES}
STATUS_CHOICES = [
    ("open", "open (submitted, in review or awaiting correction)"),
    ("ended", "ended (approved, rejected or withdrawn)"),
    *CaseStatus.choices,
]


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 instant of any year the schema's `date-time` allows (0001
    to 9999), turned into UTC. An instant whose offset takes it past either
    end of that range is clamped to the end: these are bounds of a range, so
    the rows they select are the same."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        if moment.tzinfo is None:
            return moment
        try:
            return moment.astimezone(UTC)
        except (OverflowError, ValueError):
            return FIRST if moment.year < 5000 else LAST


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class CaseFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, method="filter_status", help_text="a status, or the group open / ended"
    )
    service = django_filters.CharFilter(
        field_name="template__code", max_length=64, help_text="a service code"
    )
    q = django_filters.CharFilter(method="search", max_length=100, help_text="part of the reference or title")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")
    submitted_after = UtcDateTimeFilter(field_name="submitted_at", lookup_expr="gte")
    submitted_before = UtcDateTimeFilter(field_name="submitted_at", lookup_expr="lt")
    ordering = django_filters.OrderingFilter(
        fields=(
            ("created_at", "created_at"),
            ("submitted_at", "submitted_at"),
            ("updated_at", "updated_at"),
            ("reference", "reference"),
        ),
        help_text="created_at, submitted_at, updated_at or reference; a leading '-' for descending "
        "(default -created_at)",
    )

    class Meta:
        model = Case
        fields: list[str] = []

    def filter_status(self, queryset, name, value):
        group = STATUS_GROUPS.get(value)
        return queryset.filter(status__in=group) if group else queryset.filter(status=value)

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(reference__icontains=value) | Q(title__icontains=value))

    def is_valid(self):
        # Django's forms take an empty value as "not given"; in a query an
        # empty status or date is a mistake the caller should hear about.
        blank = [
            name
            for name in (
                "status",
                "created_after",
                "created_before",
                "submitted_after",
                "submitted_before",
                "ordering",
            )
            if name in self.data and not self.data.get(name, "").strip()
        ]
        for name in blank:
            self.form.add_error(name, _("Give a value or leave the parameter out."))
        return super().is_valid() and not blank

    @property
    def qs(self):
        queryset = super().qs
        # A stable order whatever was asked, so pages never overlap.
        ordering = list(queryset.query.order_by) or ["-created_at"]
        return queryset.order_by(*ordering, "-id")
