"""Django admin for the plain tables: departments and their members, and
users with their roles (groups, from django.contrib.auth) and departments.
The working-day calendar is in govflow/timers/admin.py. Process templates are
published through the console, never edited here."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction

from govflow.accounts.models import Department, Membership
from govflow.cases.bridge import forget_departments

admin.site.site_header = "govflow"
admin.site.site_title = "govflow"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name_zh", "name_en", "jurisdiction", "is_active"]
    list_filter = ["is_active", "jurisdiction"]
    search_fields = ["code", "name_zh", "name_en"]
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)

        transaction.on_commit(forget_departments)


class UserMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["department"]


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class GovflowUserAdmin(UserAdmin):
    inlines = [UserMembershipInline]
