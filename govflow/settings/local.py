"""The embedded default: one machine, no servers (SQLite and a filesystem
broker), debug on unless DJANGO_DEBUG says otherwise."""

from .base import *  # noqa: F403
from .base import (
    GOVFLOW_DATA_HMAC_KEY,
    GOVFLOW_DATA_KEYS,
    GOVFLOW_MAIL_CONFIGURED,
    SECRET_KEY,
    env_bool,
    env_list,
)

DEBUG = env_bool("DJANGO_DEBUG", True)
GOVFLOW_AUDIT_KNOWN_ACTIONS_ONLY = env_bool("GOVFLOW_AUDIT_KNOWN_ACTIONS_ONLY", DEBUG)
SECRET_KEY = SECRET_KEY or "govflow-local-development-key-not-for-production"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
# Mail is printed unless EMAIL_URL or GOVFLOW_SMTP_* names a server.
if not GOVFLOW_MAIL_CONFIGURED:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
# Personal data keys: the public development keys unless the environment
# sets its own. They protect nothing; system check govflow.W301 says so.
GOVFLOW_DATA_KEYS = GOVFLOW_DATA_KEYS or ["Z292Zmxvdy1kZXZlbG9wbWVudC1kYXRhLWtleS0wMDE="]
GOVFLOW_DATA_HMAC_KEY = GOVFLOW_DATA_HMAC_KEY or "Z292Zmxvdy1kZXZlbG9wbWVudC1obWFjLWtleS0wMDE="
