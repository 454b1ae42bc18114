from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncidentsConfig(AppConfig):
    name = "govflow.incidents"
    label = "incidents"
    verbose_name = _("incidents")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from govflow.outbox import hooks

        from .services import incident_open, incidents_resolve_for_message

        hooks.on_given_up(incident_open)
        hooks.on_delivered(incidents_resolve_for_message)
