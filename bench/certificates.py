"""Certificate rendering and signing on PostgreSQL.

    .venv/bin/python bench/certificates.py [--quick] [--json FILE]

1. per certificate (warm): one approved business-setup case, made through the
   real services; its business licence is then rendered (HTML template,
   seal, QR code, WeasyPrint in the renderer child) and signed (PAdES,
   pyHanko) again and again under fresh numbers, exactly as
   `certificate_complete` does it. Median and p95 of render + sign in ms
   (target: median <= 300 ms on the 2-core machine).
2. throughput: N copies of that approved case, each with its "certificate"
   outbox row, delivered by a real Celery worker with two prefork processes
   (Redis broker); certificates per minute from dispatch until the last one
   is valid.

Uses its own database (`bench_certs`, recreated each run), its own keys and
certificate folders (temporary), and Redis database 13 as the broker.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from fresh import django_on_fresh_database  # noqa: E402  (bench/fresh.py)

NOW = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)  # Tuesday 10:00 Beijing
DATABASE_URL = os.environ.get("BENCH_CERTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_certs")
BROKER_URL = os.environ.get("BENCH_CERTS_BROKER_URL", "redis://127.0.0.1:6379/13")
WORK = tempfile.TemporaryDirectory(prefix="govflow-bench-certs-")


def _environment() -> dict[str, str]:
    return {
        "DATABASE_URL": DATABASE_URL,
        "DJANGO_SETTINGS_MODULE": "govflow.settings.local",
        "CELERY_BROKER_URL": BROKER_URL,
        "DJANGO_DEBUG": "0",
        "GOVFLOW_LOG_LEVEL": "WARNING",
        "GOVFLOW_MEDIA_ROOT": str(Path(WORK.name) / "media"),
        "GOVFLOW_KEYS_DIR": str(Path(WORK.name) / "keys"),
        "GOVFLOW_CERTIFICATES_DIR": str(Path(WORK.name) / "certificates"),
    }


def setup_django() -> None:
    os.environ.update(_environment())
    django_on_fresh_database(DATABASE_URL)
    from django.conf import settings
    from django.core.management import call_command

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("certificate_keys", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115


def approved_case():
    from django.contrib.auth import get_user_model

    from govflow.cases.services import case_create, case_submit
    from govflow.demo import load_users
    from govflow.demo_cases import _data, _drive, attach_required_documents
    from govflow.processes.services import version_definition

    users = {u.username: u for u in get_user_model().objects.all()} or load_users()
    applicant = users["applicant"]
    case = case_create(
        applicant=applicant,
        template_code="business_setup",
        data=_data("business_setup", NOW, company_name="北京基准测试物流有限公司"),
        now=NOW,
    )
    attach_required_documents(case, applicant, now=NOW)
    case_submit(case_id=case.pk, actor=applicant, now=NOW)
    definition = version_definition(case.version)
    _drive(case, {n.id: "approve" for n in definition.user_tasks()}, users, NOW)
    case.refresh_from_db()
    assert case.status == "approved", case.status
    return case


def per_certificate(case, count: int) -> dict:
    """Render + sign the licence `count` times (after two warm-up rounds)."""
    from django.utils import timezone

    from govflow.accounts.models import Department
    from govflow.certificates.content import certificate_content, spec_for
    from govflow.certificates.rendering import certificate_render, verify_url
    from govflow.certificates.signing import signer_for
    from govflow.processes.services import version_definition

    definition = version_definition(case.version)
    spec = spec_for(definition, "registration_done", "business_licence")
    department = Department.objects.get(code=spec.department)
    signer = signer_for(department.code)
    totals, renders, signs, cpu = [], [], [], []
    for i in range(count + 2):
        number = f"MR-2026-{900000 + i:06d}"
        started = time.perf_counter()
        content = certificate_content(
            case=case,
            definition=definition,
            spec=spec,
            node_id="registration_done",
            number=number,
            department=department,
            issued_at=timezone.now(),
            verify_url=verify_url(number),
        )
        rendered = certificate_render(content)
        middle = time.perf_counter()
        sign_cpu = time.process_time()
        signer.sign(rendered.pdf, reason=f"{spec.title['zh']} {number}", location=department.name_zh)
        done = time.perf_counter()
        sign_cpu = time.process_time() - sign_cpu
        if i >= 2:
            totals.append((done - started) * 1000)
            renders.append((middle - started) * 1000)
            signs.append((done - middle) * 1000)
            cpu.append(rendered.cpu_ms + sign_cpu * 1000)
    totals.sort()
    return {
        "certificate_render_sign_median_ms": round(statistics.median(totals), 1),
        "certificate_render_sign_p95_ms": round(totals[min(len(totals) - 1, int(len(totals) * 0.95))], 1),
        "certificate_render_median_ms": round(statistics.median(renders), 1),
        "certificate_sign_median_ms": round(statistics.median(signs), 1),
        # CPU time of the renderer child plus signing: what the figures come
        # to on an idle machine (wall-clock times above include waiting for a
        # core when the machine is shared).
        "certificate_render_sign_cpu_median_ms": round(statistics.median(cpu), 1),
        "certificate_samples": len(totals),
    }


def throughput(case, count: int) -> dict:
    """`count` copies of the approved case, their licences issued by a Celery
    worker with two processes; certificates per minute."""
    from django.db import connection

    from govflow.cases.models import Case
    from govflow.certificates.models import Certificate
    from govflow.outbox.models import OutboxMessage
    from govflow.outbox.services import dispatch

    fields = {
        f.attname: getattr(case, f.attname)
        for f in Case._meta.concrete_fields
        if f.attname not in ("id", "reference")
    }
    copies = Case.objects.bulk_create(
        [Case(**{**fields, "reference": f"GFBENCH{n:07d}"}) for n in range(count)]
    )
    rows = OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                key=f"{c.pk}:registration_done:business_licence:certificate",
                topic="certificate",
                payload={"case": c.pk, "node": "registration_done", "type": "business_licence"},
                created_at=NOW,
            )
            for c in copies
        ]
    )
    connection.close()
    import redis

    redis.Redis.from_url(BROKER_URL).flushdb()
    env = {**os.environ, **_environment()}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "govflow",
            "worker",
            "--pool=prefork",
            "--concurrency=2",
            "--loglevel=WARNING",
            "-n",
            "bench-certs@%h",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        time.sleep(4)  # the worker connects; its children start their renderers on first use
        started = time.perf_counter()
        for row in rows:
            dispatch([row.pk])  # one message each, so both processes take work
        deadline = time.monotonic() + max(120, count * 5)
        ids = [c.pk for c in copies]
        while time.monotonic() < deadline:
            done = Certificate.objects.filter(case_id__in=ids, status="valid").count()
            if done == count:
                break
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(30)
    issued = Certificate.objects.filter(case_id__in=ids, status="valid").count()
    return {
        "certificates_issued_two_workers": issued,
        "certificates_per_minute_two_workers": round(issued / elapsed * 60, 1),
        "certificates_worker_median_render_ms": statistics.median(
            Certificate.objects.filter(case_id__in=ids).values_list("render_ms", flat=True)
        ),
        "certificates_worker_median_sign_ms": statistics.median(
            Certificate.objects.filter(case_id__in=ids).values_list("sign_ms", flat=True)
        ),
    }


def run(quick: bool = False) -> dict:
    setup_django()
    case = approved_case()
    figures = per_certificate(case, 10 if quick else 50)
    figures.update(throughput(case, 8 if quick else 60))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures = run(quick=args.quick)
    text = json.dumps(figures, indent=2)
    if args.json:
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
