from django.apps import AppConfig


class TimersConfig(AppConfig):
    name = "govflow.timers"
    label = "timers"
    default_auto_field = "django.db.models.BigAutoField"
