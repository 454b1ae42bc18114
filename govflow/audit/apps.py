from django.apps import AppConfig

from govflow.errors import REFUSAL_OBSERVERS


class AuditConfig(AppConfig):
    name = "govflow.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import signals
        from .context import note_refusal

        signals.connect()
        if note_refusal not in REFUSAL_OBSERVERS:
            REFUSAL_OBSERVERS.append(note_refusal)
