from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LettersConfig(AppConfig):
    name = "govflow.letters"
    label = "letters"
    verbose_name = _("written notices (告知书)")
    default_auto_field = "django.db.models.BigAutoField"
