from django.contrib import admin

from .models import Letter


@admin.register(Letter)
class LetterAdmin(admin.ModelAdmin):
    """Read-only: letters are issued by the services and never edited."""

    list_display = ("number", "kind", "title", "case", "department", "issued_at")
    list_filter = ("kind", "department")
    search_fields = ("number", "case__reference", "addressee")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
