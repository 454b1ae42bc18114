"""Production: PostgreSQL (DATABASE_URL), Redis (REDIS_URL), gunicorn.
Refuses to start without a secret key and allowed hosts."""

import os

from django.core.checks import register
from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import ALLOWED_HOSTS, SECRET_KEY, env_bool
from .mail import mail_deploy_check
from .storage import storage_deploy_check, storages_from_environment

if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must be set in production")

DEBUG = env_bool("DJANGO_DEBUG", False)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# The mail server comes from EMAIL_URL or GOVFLOW_SMTP_* (base.py); without
# either, SMTP on localhost:25 and a warning from `check --deploy` (govflow.W401).
register(mail_deploy_check, deploy=True)
# Sessions end after GOVFLOW_SESSION_IDLE_MINUTES without a request, and
# with the browser; cookies are not readable by scripts.
SESSION_COOKIE_AGE = int(os.environ.get("GOVFLOW_SESSION_IDLE_MINUTES", "30")) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Shared by every web process: rate-limit counters (and anything else cached).
CACHE_URL = os.environ.get("GOVFLOW_CACHE_URL") or os.environ.get("REDIS_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            # Django's Redis backend, its clients reused (govflow.cache).
            "BACKEND": "govflow.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "govflow",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }

# Files as base.py chose them (local, or the GOVFLOW_S3_* bucket); static
# files compressed and fingerprinted by WhiteNoise.
STORAGES = storages_from_environment(
    os.environ, staticfiles_backend="whitenoise.storage.CompressedManifestStaticFilesStorage"
)
# Without a bucket, `check --deploy` warns (govflow.W402).
register(storage_deploy_check, deploy=True)
