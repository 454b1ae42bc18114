from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "govflow.notifications"
    label = "notifications"
    verbose_name = _("notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from govflow.cases.events import BundleItemEnded, CaseEnded, subscribe

        from .applicant import bundle_item_ended, case_ended

        subscribe(case_ended, CaseEnded)
        subscribe(bundle_item_ended, BundleItemEnded)
