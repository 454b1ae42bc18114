from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "govflow.notices"
    label = "notices"
    verbose_name = _("Public notices and objections (公示与异议)")
