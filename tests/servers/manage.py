"""manage.py for the long-running commands the tests start (the outbox
relay): run as `python -m tests.servers.manage <command>`, it imports the
tests package first, so under `make test-dates` the process keeps the
test's faked clock (the same offset as the test, which compares the times
it writes) and sleeps despite libfaketime 0.9.10 (tests/__init__.py): a
relay started through manage.py died with EINVAL in its first time.sleep."""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govflow.settings.test")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
