from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TimersConfig(AppConfig):
    name = "govflow.timers"
    label = "timers"
    verbose_name = _("working-day calendars and timers")
    default_auto_field = "django.db.models.BigAutoField"
