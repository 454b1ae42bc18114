from django.apps import AppConfig


class CertificatesConfig(AppConfig):
    name = "govflow.certificates"
    label = "certificates"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from govflow.cases import hooks

        from .selectors import certificate_problems

        hooks.on_reconcile(certificate_problems)
