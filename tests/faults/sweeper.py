"""One timer sweeper in a process of its own, for the two-sweepers test:

    python -m tests.faults.sweeper --now ISO --go FILE [--batch N]

Waits for FILE to exist (so two sweepers start together), then sweeps until
no timer due at `now` is left pending, and prints how many it fired as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import datetime
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--now", required=True)
    parser.add_argument("--go", required=True, type=Path)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--timeout", type=float, default=45.0)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govflow.settings.test")
    import django

    django.setup()
    from govflow.cases.automation import timers_fire_due
    from govflow.timers.models import Timer

    now = datetime.fromisoformat(args.now)
    deadline = time.monotonic() + args.timeout
    print(json.dumps({"ready": True}), flush=True)
    while not args.go.exists():
        if time.monotonic() > deadline:
            raise SystemExit("never told to go")
        time.sleep(0.01)
    fired = batches = 0
    while time.monotonic() < deadline:
        count = timers_fire_due(now=now, batch=args.batch, max_batches=1)
        fired += count
        batches += 1
        if not Timer.objects.filter(status=Timer.PENDING, due_at__lte=now).exists():
            break
        if count == 0:
            time.sleep(0.01)  # what is left is locked by the other sweeper
    print(json.dumps({"fired": fired, "batches": batches}), flush=True)


if __name__ == "__main__":
    main()
