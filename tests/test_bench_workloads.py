"""The benchmarks drive the shipped templates as a reviewer would. A template
change (a new first step, a renamed outcome) used to break them only in CI's
bench smoke run, after the whole suite; these run the same drivers on a few
cases so the suite fails first."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _bench(name: str):
    """A benchmark script as a module. A script finds its sibling modules
    (bench/fresh.py) on the path Python gives a script, its own folder."""
    if str(BENCH) not in sys.path:
        sys.path.append(str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_engine_benchmark_drives_business_setup_to_approval():
    rate, steps = _bench("engine").engine_steps_per_second(2)
    assert rate > 0
    # two cases, each: start, every task and service step to approval
    assert steps >= 2 * 8, steps


def test_the_service_benchmark_completes_a_case(base_data):
    engine = _bench("engine")
    from govflow.cases.models import Case

    before = Case.objects.filter(status="approved").count()
    engine._one_case(*_applicant_and_reviewers(engine))
    assert Case.objects.filter(status="approved").count() == before + 1


def _applicant_and_reviewers(engine):
    from django.contrib.auth import get_user_model

    from govflow.engine.simulate import example_data
    from govflow.processes.models import ProcessTemplate
    from govflow.processes.services import version_definition

    applicant = get_user_model().objects.get(username="applicant")
    definition = version_definition(ProcessTemplate.objects.get(code="business_setup").current_version)
    data = example_data(definition.form, today=engine.NOW.date())
    data["company_name"] = "北京基准测试科技有限公司"
    return applicant, data, {m.department_id: m.user for m in engine._memberships()}


def test_the_timer_benchmark_fires_one_breach_per_case(base_data):
    _, _, fired = _bench("timers").sweep_seconds(3)
    assert fired == 3


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.skipif(
    "FAKETIME" in os.environ,
    reason="the benchmark's gunicorn runs on the real clock (its environment drops libfaketime); "
    "the plain run covers it",
)
def test_the_http_benchmark_runs_cases_through_gunicorn(tmp_path):
    """bench/http_load.py end to end on a database of its own: gunicorn with
    the production settings, two clients, every request answered 200."""
    from django.conf import settings

    if not settings.POSTGRES_AVAILABLE:  # the postgres marker fails the test under CI=true
        pytest.skip("the HTTP benchmark needs PostgreSQL (DATABASE_URL)")
    server = settings.TEST_DATABASE_URL.rsplit("/", 1)[0]
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    out = tmp_path / "http.json"
    env = dict(os.environ, BENCH_HTTP_DATABASE_URL=f"{server}/govflow_bench_http_test_{worker}")
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, str(BENCH / "http_load.py"), "--quick", "--clients", "1,2", "--json", str(out)],
        cwd=BENCH.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    figures = json.loads(out.read_text())
    # 4 cases per level (--quick): each a submit and five inbox, claim and decide calls
    assert figures["http_decide_p99_ms_2"] > 0
    assert figures["services_decisions_per_s"] > 0
    assert figures["http_decide_share_of_services_2"] > 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_audit_benchmark_appends_to_several_chains_that_verify():
    """The audit bench's writers call the append function as audit_write
    does: what they write lands in the chains drawn and verifies."""
    from django.db import connection

    from govflow.audit.models import AuditEvent
    from govflow.audit.verification import audit_verify

    db = connection.settings_dict
    dsn = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    before = AuditEvent.objects.count()
    rate = _bench("compare").audit_appends_per_second(dsn, 2, 0.3, 4, synchronous=False)
    assert rate > 0
    assert set(AuditEvent.objects.filter(action="BENCH_APPEND").values_list("chain", flat=True)) == {
        0,
        1,
        2,
        3,
    }
    assert AuditEvent.objects.count() > before
    assert audit_verify() is None
