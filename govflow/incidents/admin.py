"""Incidents in the admin console: read-only, with a "retry" action that
calls the service (the admin never edits an incident by hand). The daily
consistency check's incident (kind `reconcile`) has no outbox row: its page
shows the problems the latest run found; it resolves itself."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from govflow.errors import GovflowError

from .models import Incident
from .services import incident_retry


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "kind",
        "case",
        "node_id",
        "handler",
        "topic",
        "summary",
        "attempts",
        "opened_at",
        "last_failed_at",
        "retry_count",
    )
    list_filter = ("status", "kind", "topic")
    search_fields = ("case__reference", "message__key", "handler", "error", "problems")
    list_select_related = ("case", "message")
    date_hierarchy = "opened_at"
    readonly_fields = [field.name for field in Incident._meta.fields]
    actions = ["retry_selected"]

    @admin.display(description=_("last error"))
    def summary(self, incident):
        return (incident.error or "")[:120]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Retry the selected incidents"), permissions=["view"])
    def retry_selected(self, request, queryset):
        retried = 0
        for incident_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                incident_retry(incident_id=incident_id, actor=request.user)
            except GovflowError as exc:
                self.message_user(request, f"#{incident_id}: {exc.message}", messages.WARNING)
            else:
                retried += 1
        if retried:
            self.message_user(
                request,
                ngettext(
                    "%(n)d incident sent to a worker again.",
                    "%(n)d incidents sent to a worker again.",
                    retried,
                )
                % {"n": retried},
                messages.SUCCESS,
            )
