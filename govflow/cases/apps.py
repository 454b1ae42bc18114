from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "govflow.cases"
    label = "cases"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from govflow.incidents import hooks as incident_hooks
        from govflow.notifications import sms
        from govflow.notifications.applicant import on_applicant_notice

        from . import handlers  # noqa: F401  (registers the handlers that look up cases)
        from .applicant_notices import CASE_ENDS, told_case_ended, told_item_ended
        from .selectors.outbox import case_reference, outbox_row_subject

        incident_hooks.on_describe(outbox_row_subject)
        sms.on_case_reference(case_reference)
        for what in CASE_ENDS:
            on_applicant_notice(what, told_case_ended)
        on_applicant_notice("item_ended", told_item_ended)
