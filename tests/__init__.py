"""The test suite. Imported first by every Python process that runs part of
it: pytest and its xdist workers (through tests/conftest.py), and the
processes the fault tests start (Celery workers on tests.faults.worker_app,
tests.faults.sweeper)."""

import os
import sys


def _sleep_despite_libfaketime() -> None:
    """`make test-dates` runs the suite under Debian's faketime with the
    monotonic clock left real: with it faked, every timed lock wait in Python
    3.11 hangs (libfaketime 0.9.10 does not wrap sem_clockwait). In that mode
    libfaketime 0.9.10 rewrites the absolute monotonic deadline of
    clock_nanosleep as if it were a faked time, so time.sleep fails with
    EINVAL (wolfcw/libfaketime#426, fixed after 0.9.10). Sleep on select()'s
    relative timeout instead, also in modules that imported sleep already."""
    real_monotonic = os.environ.get("FAKETIME_DONT_FAKE_MONOTONIC")
    if "faketime" not in os.environ.get("LD_PRELOAD", "") or not real_monotonic:
        return
    import select
    import time

    broken = time.sleep

    def sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = time.monotonic() + seconds
        while True:
            select.select([], [], [], max(deadline - time.monotonic(), 0))
            if time.monotonic() >= deadline:
                return

    time.sleep = sleep
    for module in list(sys.modules.values()):
        if getattr(module, "__dict__", {}).get("sleep") is broken:
            module.sleep = sleep


_sleep_despite_libfaketime()
