from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    name = "govflow.catalog"
    label = "catalog"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("data catalogue")

    def ready(self) -> None:
        from govflow.cases.events import subscribe

        from .publishing import EVENTS, stage_catalog

        # Publications and provenance are staged with the change that causes
        # them, in the case's own transaction.
        subscribe(stage_catalog, *EVENTS)
