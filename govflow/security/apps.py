"""django-axes (the login lockout) under a name the admin can say in the
reader's language; axes itself names its app "Axes"."""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class AxesConfig(AxesAppConfig):
    verbose_name = _("Login attempts (axes)")
