"""The distributed test's nodes run govflow.settings.production with one
change: static files are served from the source folders (WhiteNoise's
finders) instead of a collected, fingerprinted copy. The image collects
them when it is built (docker/Dockerfile); doing so here would cost the
test minutes and prove nothing about several nodes."""

from govflow.settings.production import *  # noqa: F403
from govflow.settings.production import STORAGES

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_USE_FINDERS = True
