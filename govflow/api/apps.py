from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "govflow.api"
    label = "api"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registers the OpenAPI extensions (the session cookie scheme).
        from . import schema  # noqa: F401
