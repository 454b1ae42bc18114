"""The credit list in the Django admin: admins add, change and remove
entries through the services (audited); credit records are read-only."""

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from govflow.errors import InvalidInput

from .models import CreditListEntry, CreditRecord
from .services import credit_entry_add, credit_entry_delete, credit_entry_update, subject_kind_of


class CreditListEntryForm(forms.ModelForm):
    class Meta:
        model = CreditListEntry
        fields = ["code", "name", "reason", "source", "valid_from", "valid_until"]

    def clean_code(self):
        code = self.cleaned_data["code"].strip().upper()
        try:
            subject_kind_of(code, today=timezone.localdate())
        except InvalidInput:
            raise forms.ValidationError(
                _("Enter a valid unified social credit code or resident ID number.")
            ) from None
        return code

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("valid_from"), cleaned.get("valid_until")
        if start and end and end < start:
            self.add_error("valid_until", _("The end of validity is before its start."))
        return cleaned


@admin.register(CreditListEntry)
class CreditListEntryAdmin(admin.ModelAdmin):
    form = CreditListEntryForm
    list_display = ["code", "kind", "name", "source", "valid_from", "valid_until"]
    list_filter = ["kind", "source"]
    search_fields = ["code", "name", "source"]

    def save_model(self, request, obj, form, change):
        if change:
            credit_entry_update(entry=obj, actor=request.user)
        else:
            saved = credit_entry_add(
                code=obj.code,
                reason=obj.reason,
                source=obj.source,
                name=obj.name,
                valid_from=obj.valid_from,
                valid_until=obj.valid_until,
                actor=request.user,
            )
            obj.pk = saved.pk

    def delete_model(self, request, obj):
        credit_entry_delete(entry=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for entry in queryset.order_by("pk"):
            credit_entry_delete(entry=entry, actor=request.user)


@admin.register(CreditRecord)
class CreditRecordAdmin(admin.ModelAdmin):
    list_display = ["code", "kind", "case", "department", "recorded_at"]
    list_filter = ["kind"]
    search_fields = ["code", "case__reference"]
    readonly_fields = [f.name for f in CreditRecord._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
