"""govflow: cross-department approval workflows for one-stop government services."""

from .celery import app as celery_app

__all__ = ["celery_app"]
