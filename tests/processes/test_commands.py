"""The command-line contracts: validate_process, simulate_process, load_demo,
reconcile (DESIGN.md, "Contracts")."""

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted(str(p) for p in (ROOT / "workflows").glob("*.yaml"))
# The commands read the departments from the database when it has them.
pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    try:
        call_command(*args, stdout=out, language="en")
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue()


def test_shipped_templates_validate():
    code, out = run("validate_process", *WORKFLOWS)
    assert code == 0, out
    assert out.count(": ok") == len(WORKFLOWS)


def test_invalid_templates_give_path_line_col_lines_and_exit_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: x\ntitle: {zh: 甲, en: A}\nnodes:\n  - {id: s, type: start, next: nowhere}\n", encoding="utf-8"
    )
    code, out = run("validate_process", str(bad))
    assert code == 1
    assert out.splitlines() == [f"{bad}:4:5: node 's' leads to unknown node 'nowhere'"]


def test_a_missing_file_is_an_error_line_not_a_traceback(tmp_path):
    code, out = run("validate_process", str(tmp_path / "absent.yaml"))
    assert code == 1
    assert out.startswith(f"{tmp_path / 'absent.yaml'}:1:1: cannot read the file")


@pytest.mark.parametrize("path", WORKFLOWS)
def test_simulate_approve_all_json(path):
    code, out = run("simulate_process", path, "--approve-all", "--json")
    assert code == 0, out
    result = json.loads(out)
    assert result["outcome"] == "approved"
    assert result["trace"][0] == "start"
    assert result["certificates"]
    assert isinstance(result["working_days"], int | float)


def test_bad_simulation_data_is_reported_at_its_line(tmp_path):
    script = tmp_path / "d.yaml"
    script.write_text(
        "data:\n"
        "  company_name: 北京示例有限公司\n"
        "  legal_rep_id_number: '110105194912310021'\n"
        "decisions:\n"
        "  registration: approve\n",
        encoding="utf-8",
    )
    code, out = run(
        "simulate_process", str(ROOT / "workflows" / "business_setup.yaml"), "--decisions", str(script)
    )
    assert code == 1
    lines = out.splitlines()
    assert f"{script}:3:3: data.legal_rep_id_number: " in "\n".join(lines)
    assert any("required" in line.lower() or "is required" in line for line in lines)


def test_a_decisions_file_naming_an_unknown_node_is_refused(tmp_path):
    script = tmp_path / "d.yaml"
    script.write_text("decisions:\n  no_such_node: approve\n", encoding="utf-8")
    code, out = run(
        "simulate_process", str(ROOT / "workflows" / "business_setup.yaml"), "--decisions", str(script)
    )
    assert code == 1
    assert out.strip() == f"{script}:2:3: decisions: unknown node 'no_such_node'"


def test_simulate_process_needs_no_database(tmp_path):
    # A fresh checkout has no database: the command must still work.
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path}/none/absent.sqlite3",
        "GOVFLOW_VAR_DIR": str(tmp_path / "var"),
    }
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "simulate_process",
            "workflows/business_setup.yaml",
            "--approve-all",
            "--json",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"] == "approved"


def test_load_demo_is_idempotent_and_leaves_a_consistent_database(base_data):
    from govflow.cases.models import Case, CaseStatus

    call_command("certificate_keys", stdout=StringIO())  # as `make run` does before load_demo
    call_command("load_demo", stdout=StringIO())
    first = sorted(Case.objects.values_list("status", flat=True))
    call_command("load_demo", stdout=StringIO())
    assert sorted(Case.objects.values_list("status", flat=True)) == first
    assert set(first) == {
        CaseStatus.DRAFT,
        CaseStatus.IN_REVIEW,
        CaseStatus.AWAITING_CORRECTION,
        CaseStatus.APPROVED,
    }
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.filter(username="admin", is_superuser=True).exists()
    # The demo cases read like real applications: no 示例 placeholder in their data,
    # and the templates' version notes are in the site's language.
    for case in Case.objects.all():
        assert "示例" not in json.dumps(case.data, ensure_ascii=False), case.reference
    from govflow.processes.models import ProcessVersion

    assert {v.note for v in ProcessVersion.objects.all()} >= {"由 business_setup.yaml 导入"}
    from datetime import timedelta

    from django.utils import timezone

    from govflow.cases.reconcile import reconcile

    assert run("reconcile") == (0, "")  # right after loading, nothing is overdue
    # The approved demo case got its certificates (the outbox consumer ran
    # while the demo was driven), so nothing waits two minutes later either.
    assert reconcile(now=timezone.now() + timedelta(minutes=2)) == []
    from govflow.certificates.models import Certificate

    approved = Case.objects.get(status=CaseStatus.APPROVED)
    issued = Certificate.objects.filter(case=approved, status="valid").values_list("type", flat=True)
    assert sorted(issued) == ["business_licence", "seal_filing"]
