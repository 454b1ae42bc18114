from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollabConfig(AppConfig):
    name = "govflow.collab"
    label = "collab"
    verbose_name = _("Task operations (委派, 会商, 抄送, 催办, 代理)")

    def ready(self) -> None:
        from govflow.cases.events import TaskDecided, subscribe

        from .copies import copy_on_decision

        subscribe(copy_on_decision, TaskDecided)
