from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollabConfig(AppConfig):
    name = "govflow.collab"
    label = "collab"
    verbose_name = _("Task operations (委派, 会商, 抄送, 催办, 代理)")

    def ready(self) -> None:
        from govflow.cases import hooks
        from govflow.cases.events import TaskDecided, subscribe

        from .copies import copy_on_decision
        from .guards import acts_for, refuse_while_waiting, waiting_probe
        from .selectors import collab_departments

        subscribe(copy_on_decision, TaskDecided)
        hooks.on_case_reader(collab_departments)
        hooks.on_acts_for(acts_for)
        hooks.on_decision_guard(refuse_while_waiting, probe=waiting_probe())
