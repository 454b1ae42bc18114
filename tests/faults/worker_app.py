"""The Celery app of the workers the fault tests start: govflow's own app,
plus the handler that exists only in these tests."""

from govflow.celery import app
from tests.faults import handlers  # noqa: F401  (registers fault_probe)

__all__ = ["app"]
