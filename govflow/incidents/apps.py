from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "govflow.incidents"
    label = "incidents"
    verbose_name = _("incidents")
    default_auto_field = "django.db.models.BigAutoField"
