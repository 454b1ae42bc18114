from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "kind", "case", "task", "created_at", "read_at")
    list_filter = ("kind",)
    search_fields = ("user__username", "case__reference", "outbox_key")
    list_select_related = ("user", "case", "task")
    raw_id_fields = ("user", "case", "task")
    readonly_fields = ("user", "kind", "case", "task", "outbox_key", "created_at", "read_at")

    def has_add_permission(self, request):
        return False
