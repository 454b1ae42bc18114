"""The working-day calendar in the admin console. Every save and delete goes
through the services, which validate, audit and invalidate the calendar
cache (other processes see an edit within a minute). Timers are shown
read-only: admins see which ones have no due date and why."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from govflow.errors import InvalidInput

from .models import Calendar, CalendarDay, CalendarYear, Timer
from .services import (
    calendar_day_delete,
    calendar_day_problem,
    calendar_day_save,
    calendar_invalidate,
    calendar_year_delete,
    calendar_year_save,
)


@admin.register(Calendar)
class CalendarAdmin(admin.ModelAdmin):
    list_display = ("code", "name_zh", "name_en")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        calendar_invalidate()


class CalendarDayForm(forms.ModelForm):
    class Meta:
        model = CalendarDay
        fields = ["calendar", "date", "kind", "name"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("date") and cleaned.get("kind"):
            problem = calendar_day_problem(CalendarDay(date=cleaned["date"], kind=cleaned["kind"]))
            if problem:
                raise forms.ValidationError({"date": problem})
        return cleaned


def _delete_each(queryset, delete, request) -> None:
    for obj in queryset.order_by("pk"):
        delete(obj, actor=request.user)


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    form = CalendarDayForm
    list_display = ("date", "kind", "name", "calendar")
    list_filter = ("calendar", "kind")
    date_hierarchy = "date"
    search_fields = ("name",)

    def save_model(self, request, obj, form, change):
        try:
            calendar_day_save(day=obj, actor=request.user)
        except InvalidInput as exc:  # the form checks the same rule first
            raise forms.ValidationError(exc.message) from exc

    def delete_model(self, request, obj):
        calendar_day_delete(day=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        _delete_each(queryset, lambda day, actor: calendar_day_delete(day=day, actor=actor), request)


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ("calendar", "year", "source")
    list_filter = ("calendar",)
    fieldsets = [
        (
            None,
            {
                "fields": ["calendar", "year", "source"],
                "description": _(
                    "Enter the year's holidays and adjusted working days first, then save the year: a saved "
                    "year is used as complete, and timers that waited for it get their due dates."
                ),
            },
        ),
    ]

    def save_model(self, request, obj, form, change):
        calendar_year_save(year=obj, actor=request.user)

    def delete_model(self, request, obj):
        calendar_year_delete(year=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        _delete_each(queryset, lambda year, actor: calendar_year_delete(year=year, actor=actor), request)


@admin.register(Timer)
class TimerAdmin(admin.ModelAdmin):
    list_display = ("id", "case", "kind", "node_id", "status", "due_at", "problem", "fired_at")
    list_filter = ("status", "kind")
    search_fields = ("case__reference", "node_id", "problem")
    list_select_related = ("case",)
    readonly_fields = [field.name for field in Timer._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
