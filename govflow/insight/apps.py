from django.apps import AppConfig


class InsightConfig(AppConfig):
    name = "govflow.insight"
    label = "insight"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from govflow.cases.events import subscribe

        from . import checks  # noqa: F401 - registers the system checks
        from .facts import EVENTS, record_changes

        # Facts are written with the change they describe, in its transaction.
        subscribe(record_changes, *EVENTS)
