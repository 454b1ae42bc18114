from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertificatesConfig(AppConfig):
    name = "govflow.certificates"
    label = "certificates"
    verbose_name = _("certificates")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from govflow.cases import hooks
        from govflow.notifications.applicant import on_applicant_notice

        from .notices import told_certificate
        from .selectors import certificate_problems

        hooks.on_reconcile(certificate_problems)
        on_applicant_notice("certificate_issued", told_certificate)
        on_applicant_notice("certificate_revoked", told_certificate)
