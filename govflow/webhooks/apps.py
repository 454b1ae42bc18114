from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "govflow.webhooks"
    label = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("webhooks")

    def ready(self) -> None:
        from govflow.cases.events import subscribe

        from .events import CASE_EVENTS, case_events, forget_active_kinds
        from .models import Endpoint

        subscribe(case_events, *CASE_EVENTS)
        post_save.connect(forget_active_kinds, sender=Endpoint, dispatch_uid="webhooks-kinds-save")
        post_delete.connect(forget_active_kinds, sender=Endpoint, dispatch_uid="webhooks-kinds-delete")
