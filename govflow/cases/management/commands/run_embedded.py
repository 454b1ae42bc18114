"""run_embedded — the web app, a Celery worker and beat in one command, with
no external server (SQLite and the filesystem broker by default)."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from govflow.demo import DEMO_PASSWORD


class Command(BaseCommand):
    help = "Start web + worker + beat for local use (Ctrl-C stops all three)."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default=os.environ.get("GOVFLOW_ADDR", "127.0.0.1:8000"))

    def handle(self, *args, addr, **options):
        python = sys.executable
        var = settings.VAR_DIR
        var.mkdir(parents=True, exist_ok=True)
        commands = {
            "web": [python, "manage.py", "runserver", addr, "--noreload"],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "govflow",
                "worker",
                "--pool=threads",
                "--concurrency=4",
                "--loglevel=INFO",
                "-n",
                "embedded@%h",
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "govflow",
                "beat",
                "--loglevel=INFO",
                "--schedule",
                str(var / "celerybeat-schedule"),
            ],
        }

        def stop(signum, frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        procs = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}
        self.stdout.write("")
        self.stdout.write(f"govflow is running at http://{addr}/  (admin console: http://{addr}/admin/)")
        self.stdout.write(
            f"demo logins (password {DEMO_PASSWORD}): admin, applicant, leader, auditor, "
            "<department>_reviewer and <department>_head, e.g. market_regulation_reviewer"
        )
        self.stdout.write("Ctrl-C stops the web app, the worker and beat.")
        try:
            while all(p.poll() is None for p in procs.values()):
                time.sleep(0.5)
            failed = [name for name, p in procs.items() if p.poll() is not None]
            self.stderr.write(f"{', '.join(failed)} stopped; stopping the rest")
        except KeyboardInterrupt:
            pass
        finally:
            for p in procs.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
            deadline = time.monotonic() + 10
            for p in procs.values():
                try:
                    p.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
