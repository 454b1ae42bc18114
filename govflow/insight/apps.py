from django.apps import AppConfig


class InsightConfig(AppConfig):
    name = "govflow.insight"
    label = "insight"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the system checks

        # The facts are not written in a case's transaction: they are
        # projected from the committed audit trail (facts.facts_project).
