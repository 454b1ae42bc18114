from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "govflow.cases"
    label = "cases"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from govflow.incidents import hooks as incident_hooks

        from .selectors.outbox import outbox_row_subject

        incident_hooks.on_describe(outbox_row_subject)
