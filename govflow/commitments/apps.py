from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommitmentsConfig(AppConfig):
    name = "govflow.commitments"
    label = "commitments"
    verbose_name = _("Commitments (容缺受理, 告知承诺制)")

    def ready(self) -> None:
        from govflow.cases import events

        from .services import case_ended, materials_accepted

        events.subscribe(case_ended, events.CaseEnded)
        events.subscribe(materials_accepted, events.CaseAccepted)
