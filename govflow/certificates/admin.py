from django.contrib import admin

from .models import Certificate


@admin.register(Certificate)
class CertificateAdmin(admin.ModelAdmin):
    """Read-only: revoking and reissuing go through /verify/manage/ (services)."""

    list_display = ("number", "type", "holder", "department", "status", "issued_at", "render_ms", "sign_ms")
    list_filter = ("status", "type", "department")
    search_fields = ("number", "holder", "case__reference")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
