from django.apps import AppConfig


class BpmnConfig(AppConfig):
    name = "govflow.bpmn"
    label = "bpmn"
    default_auto_field = "django.db.models.BigAutoField"
