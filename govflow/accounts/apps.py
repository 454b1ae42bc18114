from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "govflow.accounts"
    label = "accounts"
    verbose_name = _("accounts and departments")
    default_auto_field = "django.db.models.BigAutoField"
