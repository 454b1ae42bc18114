"""The leaders' dashboard with 100,000 past cases on PostgreSQL.

    .venv/bin/python bench/dashboard.py [--quick] [--cases N] [--json FILE]

Recreates the database `bench_insight`, loads the demo base data, seeds
100,000 past cases with `seed_history` (--quick: 1,500, a smoke run for
CI that takes well under a minute), runs VACUUM ANALYZE as autovacuum
would soon after, and then requests the dashboard through Django's test
client as a logged-in leader, 30 requests per view after a warm-up one
(--quick: 5): the default view (the last 26 weeks), one service, one
department, the last 12 months, the whole seeded history, and the whole
history of one department. Prints p50/p95 milliseconds per view (target:
p95 <= 500 ms) and writes them as `dashboard_<view>_p50_ms` /
`_p95_ms`, with `dashboard_p95_ms` the worst view's p95; also the seeding
rate, the CSV export, the public page and a /metrics scrape.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from fresh import django_on_fresh_database  # noqa: E402  (bench/fresh.py)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/bench_insight"
REPEAT = 30


def setup_django(database_url: str) -> None:
    django_on_fresh_database(database_url, CELERY_BROKER_URL="memory://")


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _timed(client, path: str, repeat: int) -> tuple[float, float]:
    response = client.get(path)  # warm-up: caches of definitions and the calendar
    assert response.status_code == 200, (path, response.status_code)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(samples), _percentile(samples, 0.95)


def run(quick: bool = False, *, cases: int | None = None, database_url: str | None = None) -> dict:
    cases = cases if cases is not None else (1_500 if quick else 100_000)
    setup_django(database_url or os.environ.get("BENCH_INSIGHT_DATABASE_URL", DEFAULT_URL))
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from govflow.insight.models import CaseFact, TaskFact
    from govflow.insight.seeding import seed_history

    started = time.perf_counter()
    result = seed_history(cases=cases, seed=2026)  # rolls up the closed months when done
    seeding = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(get_user_model().objects.get(username="leader"))
    today = timezone.localdate()
    first = timezone.localdate(
        CaseFact.objects.order_by("submitted_at").values_list("submitted_at", flat=True).first()
    )
    year = f"from={(today - timedelta(days=365)).isoformat()}&to={today.isoformat()}"
    whole = f"from={first.isoformat()}&to={today.isoformat()}"
    views = {
        "default": "/insight/",
        "one_service": "/insight/?service=construction_permit",
        "one_department": "/insight/?department=market_regulation",
        "12_months": f"/insight/?{year}",
        "whole_history": f"/insight/?{whole}",
        "whole_history_department": f"/insight/?{whole}&department=market_regulation",
    }
    figures: dict = {
        "insight_cases": result.cases,
        "insight_open_cases": result.open_cases,
        "insight_decided_tasks": TaskFact.objects.count(),
        "insight_seed_seconds": round(seeding, 1),
        "insight_seed_cases_per_second": round(result.cases / seeding, 1) if seeding else None,
    }
    repeat = 5 if quick else REPEAT
    print(f"{result.cases} cases seeded in {seeding:.1f} s; {repeat} requests per view", file=sys.stderr)
    print(f"{'view':<26} {'p50 ms':>8} {'p95 ms':>8}", file=sys.stderr)
    for name, path in views.items():
        p50, p95 = _timed(client, path, repeat)
        figures[f"dashboard_{name}_p50_ms"] = round(p50, 1)
        figures[f"dashboard_{name}_p95_ms"] = round(p95, 1)
        print(f"{name:<26} {p50:8.1f} {p95:8.1f}", file=sys.stderr)
    figures["dashboard_p95_ms"] = max(v for k, v in figures.items() if k.endswith("_p95_ms"))
    csv_p50, _csv_p95 = _timed(client, f"/insight/export/departments.csv?{whole}", repeat)
    figures["insight_csv_p50_ms"] = round(csv_p50, 1)
    public_p50, _ = _timed(Client(HTTP_HOST="127.0.0.1"), "/insight/services/business_setup/", repeat)
    figures["insight_public_page_p50_ms"] = round(public_p50, 1)
    metrics_p50, _ = _timed(Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR="127.0.0.1"), "/metrics", repeat)
    figures["insight_metrics_scrape_p50_ms"] = round(metrics_p50, 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", dest="json_out", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    figures = run(args.quick, cases=args.cases, database_url=args.database_url)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json_out:
        Path(args.json_out).write_text(text)


if __name__ == "__main__":
    main()
