from django.apps import AppConfig


class InsightConfig(AppConfig):
    name = "govflow.insight"
    label = "insight"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from govflow.cases.bridge import on_flush

        from . import checks  # noqa: F401 - registers the system checks
        from .facts import record_changes

        # Facts are written with the change they describe, in its transaction.
        on_flush(record_changes)
