"""run_embedded — the web app, a Celery worker, the outbox relay and beat in
one command, with no external server (SQLite and the filesystem broker by
default; the relay polls SQLite every second, as it has no LISTEN/NOTIFY)."""

import os
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from govflow.demo import DEMO_PASSWORD

# Each page, who it is for, and its address (the README's names).
PAGES = (
    ("Service catalogue (applicants)", "/"),
    ("Progress lookup (no login)", "/lookup/"),
    ("Review inbox (reviewers)", "/inbox/"),
    ("Process console (administrators)", "/console/"),
    ("Dashboard (leaders)", "/insight/"),
    ("Audit trail (auditors)", "/audit/"),
    ("API docs", "/api/docs/"),
    ("Django admin (data, users)", "/admin/"),
)


def startup_banner(addr: str, public_base_url: str) -> list[str]:
    """The lines printed once the web app answers: every page by name."""
    base = f"http://{addr}"
    width = max(len(name) for name, _ in PAGES)
    rule = "=" * 72
    return [
        rule,
        f"govflow is running at {base}/",
        "",
        *(f"  {name.ljust(width)}  {base}{path}" for name, path in PAGES),
        "",
        f"Demo logins (password {DEMO_PASSWORD}): admin, applicant, leader, auditor,",
        "  <department>_reviewer and <department>_head, e.g. market_regulation_reviewer.",
        "Another address: GOVFLOW_ADDR=0.0.0.0:8080 make run. Certificates' QR codes",
        f"  point at GOVFLOW_PUBLIC_BASE_URL (now {public_base_url}).",
        "Ctrl-C stops the web app, the worker, the relay and beat.",
        rule,
    ]


def wait_for_port(addr: str, web: subprocess.Popen, *, seconds: float = 30.0) -> bool:
    """Wait until the web app accepts connections (or has stopped)."""
    host, _, port = addr.rpartition(":")
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "[::]": "::1"}.get(host, host.strip("[]"))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and web.poll() is None:
        try:
            with socket.create_connection((host, int(port)), timeout=0.5):
                return True
        except (OSError, ValueError):
            time.sleep(0.3)
    return False


class Command(BaseCommand):
    help = "Start web + worker + outbox relay + beat for local use (Ctrl-C stops all four)."

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
            "relay": [python, "manage.py", "outbox_relay", "--poll", "1"],
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
        try:
            # After the start-up logs of all four, so that it is not buried under them.
            if wait_for_port(addr, procs["web"]):
                time.sleep(1.0)
                self.stdout.write("")
                for line in startup_banner(addr, settings.GOVFLOW_PUBLIC_BASE_URL):
                    self.stdout.write(self.style.SUCCESS(line))
                self.stdout.write("")
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
