from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "govflow.api"
    label = "api"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The OpenAPI extensions (the session cookie scheme), and the check
        # of the throttles' and rate limits' rates (govflow.E410).
        from govflow.security import ratelimit  # noqa: F401

        from . import schema  # noqa: F401
