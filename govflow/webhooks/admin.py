"""Webhooks in Django's admin: read-only lists (the secret never shown), with
"retry" calling the service. Endpoints are registered and changed on the
/webhooks/ pages, where the change is audited and the secret shown once."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from govflow.errors import GovflowError

from .models import Delivery, Endpoint
from .services import delivery_retry


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Endpoint)
class EndpointAdmin(ReadOnly):
    list_display = ("name", "url", "department", "system", "is_active", "cleared_for_secrets", "created_at")
    list_filter = ("is_active", "cleared_for_secrets", "department")
    search_fields = ("name", "url", "system")
    fields = (
        "name",
        "url",
        "department",
        "system",
        "kinds",
        "is_active",
        "cleared_for_secrets",
        "created_by",
        "created_at",
        "updated_at",
        "previous_secret_until",
    )
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(ReadOnly):
    list_display = (
        "id",
        "kind",
        "subject",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
    )
    list_filter = ("status", "kind", "endpoint")
    search_fields = ("subject", "event_id")
    list_select_related = ("endpoint",)
    date_hierarchy = "created_at"
    fields = (
        "endpoint",
        "event_id",
        "kind",
        "subject",
        "case",
        "status",
        "attempts",
        "created_at",
        "next_attempt_at",
        "give_up_at",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
    )
    readonly_fields = fields
    actions = ["retry_selected"]

    @admin.action(description=_("Retry the selected deliveries now"), permissions=["view"])
    def retry_selected(self, request, queryset):
        retried = 0
        for delivery_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                delivery_retry(actor=request.user, delivery_id=delivery_id)
            except GovflowError as exc:
                self.message_user(request, f"#{delivery_id}: {exc.message}", messages.WARNING)
            else:
                retried += 1
        if retried:
            self.message_user(
                request,
                ngettext(
                    "%(n)d delivery sent to a worker again.",
                    "%(n)d deliveries sent to a worker again.",
                    retried,
                )
                % {"n": retried},
                messages.SUCCESS,
            )
