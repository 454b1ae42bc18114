"""The shipped construction-approval template end to end through the services
(国办发〔2019〕11号, MOHURD Order 51): an ordinary project and a special
construction project, each accepted at each stage's window, through the
construction period (the builder declares completion) to the completion
filing. The clock is pinned: every decision is made at a given moment."""

from datetime import date, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from govflow.cases.applicant_steps import applicant_task_complete
from govflow.cases.automation import timers_fire_due
from govflow.cases.models import Task, TaskKind, TaskStatus
from govflow.cases.services import case_create, case_submit
from govflow.certificates.models import Certificate
from govflow.demo_cases import _data, _drive, attach_required_documents
from govflow.errors import FormInvalid
from govflow.outbox.services import outbox_drain
from govflow.processes.services import version_definition
from govflow.timers.models import Timer

pytestmark = [pytest.mark.django_db, pytest.mark.procedure]


@pytest.fixture
def keys(db, settings, tmp_path):
    """Signing keys of this test's own: the permits are issued and signed."""
    settings.GOVFLOW_KEYS_DIR = tmp_path / "keys"
    call_command("certificate_keys", stdout=StringIO())


@pytest.fixture
def users(base_data):
    return base_data


BEIJING = ZoneInfo("Asia/Shanghai")
STAGE_ACCEPTANCES = {
    "s1_accept": "natural_resources",
    "s2_accept": "natural_resources",
    "s3_accept": "housing_construction",
    "s4_accept": "housing_construction",
}
ORDINARY = {
    "project_name": "朝阳区望京科技园3号办公楼",
    "project_type": "office",
    "land_use": "commercial",
    "floor_area": "4800.00",
    "storeys": 6,
    "has_basement": False,
    "is_special_project": False,
    "special_fire_design": False,
}
SPECIAL = {
    "project_name": "朝阳区精细化工中试基地",
    "project_type": "chemical",
    "land_use": "industrial",
    "floor_area": "20000.00",
    "storeys": 4,
    "has_basement": True,
    "is_special_project": True,
    "special_fire_design": True,
}


def _submitted(users, now, **overrides):
    applicant = users["applicant"]
    case = case_create(
        applicant=applicant,
        template_code="construction_permit",
        data=_data("construction_permit", now, **overrides),
        now=now,
    )
    attach_required_documents(case, applicant, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)
    return case


def _approve_all(case, users, now):
    definition = version_definition(case.version)
    _drive(case, {n.id: "approve" for n in definition.user_tasks()}, users, now)
    outbox_drain()
    case.refresh_from_db()


def _through_stage_4(case, users, when):
    """联合验收 approved, the 5-day public notice runs out (no objection),
    the completion filing is approved."""
    _approve_all(case, users, when)
    assert Task.objects.filter(case=case, node_id="s4_filing").count() == 0
    after_notice = when + timedelta(days=10)
    timers_fire_due(now=after_notice)
    _approve_all(case, users, after_notice)


def _tasks(case):
    return Task.objects.filter(case=case).select_related("department")


def _departments(case, node_id):
    return {t.department.code for t in _tasks(case).filter(node_id=node_id) if t.department}


def _declare_completion(case, users, when, completed_on):
    step = Task.objects.get(case=case, node_id="construction", status=TaskStatus.OPEN)
    applicant_task_complete(
        case_id=case.pk,
        actor=users["applicant"],
        task_id=step.engine_id,
        data={"completed_on": completed_on},
        confirmed=True,
        now=when,
    )


def _through_stage_3(case, users, now):
    _approve_all(case, users, now)
    assert case.is_open
    step = Task.objects.get(case=case, node_id="construction")
    assert (step.kind, step.status) == (TaskKind.APPLICANT, TaskStatus.OPEN)
    # the construction permit is out, completion acceptance has not opened:
    # the building does not exist yet
    assert Certificate.objects.filter(case=case, type="construction_permit").exists()
    assert not _tasks(case).filter(node_id__startswith="s4_").exists()
    return step


def test_an_ordinary_project_is_filed_and_spot_checked_for_fire_and_accepted_jointly(keys, users, now):
    # Given an ordinary office building in Chaoyang, accepted at each stage's window
    case = _submitted(users, now, region_code="110105", **ORDINARY)

    # When every department approves through stage 3
    _through_stage_3(case, users, now)

    # Then each stage was accepted (受理) by its lead department
    for node, department in STAGE_ACCEPTANCES.items():
        if node != "s4_accept":
            assert _departments(case, node) == {department}, node
    # fire: the design filed and spot-checked by housing and construction,
    # no fire design review, no expert review, and never the fire brigade
    assert _departments(case, "s3_fire_filing") == {"housing_construction"}
    assert not _tasks(case).filter(node_id__in=["s3_fire_review", "s3_fire_expert"]).exists()
    # no EIA for an office building
    assert not _tasks(case).filter(node_id__startswith="s2_eia").exists()
    # the permit names the district authority as issuer
    permit = Certificate.objects.get(case=case, type="construction_permit")
    assert dict(permit.facts)["发证机关"] == "北京市朝阳区住房和城乡建设局"

    # When the builder, 150 days later, declares the works complete
    later = now + timedelta(days=150)
    _declare_completion(case, users, later, "2026-07-20")

    # Then stage 4 opens at housing and construction's window; its joint
    # acceptance includes the land check and the utilities, the fire
    # acceptance is filed and spot-checked
    assert _departments(case, "s4_accept") == {"housing_construction"}
    _through_stage_4(case, users, later)
    assert case.status == "approved"
    assert case.data["completed_on"] == "2026-07-20"
    assert _departments(case, "s4_land_check") == {"natural_resources"}
    assert _departments(case, "s4_utilities") == {"utilities"}
    assert _departments(case, "s4_quality") == {"housing_construction"}
    assert _departments(case, "s4_fire_filing") == {"housing_construction"}
    assert not _tasks(case).filter(node_id="s4_fire_acceptance").exists()
    assert not _tasks(case).filter(department__code="fire").exists()
    assert set(Certificate.objects.filter(case=case).values_list("type", flat=True)) == {
        "land_use_planning_permit",
        "construction_planning_permit",
        "construction_permit",
        "joint_acceptance_opinion",
        "completion_filing",
    }
    # and the 150 days of construction were the builder's time: not counted
    assert case.paused_seconds >= 100 * 8 * 3600


def test_a_special_project_gets_expert_review_fire_design_review_and_fire_acceptance(keys, users, now):
    # Given a special construction project with a special fire design and an
    # EIA report (a chemical plant)
    case = _submitted(users, now, region_code="110105", **SPECIAL)

    # When every department approves through stage 3
    _through_stage_3(case, users, now)

    # Then the EIA's technical evaluation came first, then the report,
    # whose limit is 60 calendar days, not working days
    evaluation = Task.objects.get(case=case, node_id="s2_eia_evaluation")
    assert evaluation.department.code == "ecology_environment"
    breach = Timer.objects.get(case=case, node_id="s2_eia_report", kind="sla_breach")
    started = evaluation.completed_at.astimezone(BEIJING).date()
    assert started == date(2026, 3, 3)
    # 3 March + 60 days is Saturday 2 May, in the Labour Day break (1-5 May):
    # the period ends at office close on the next working day, 6 May
    due = breach.due_at.astimezone(BEIJING)
    assert (due.date(), due.hour) == (date(2026, 5, 6), 17)
    # the special fire-design expert review (art 17) and the fire design
    # review, both by housing and construction, not the fire brigade
    assert _departments(case, "s3_fire_expert") == {"housing_construction"}
    assert _departments(case, "s3_fire_review") == {"housing_construction"}
    assert not _tasks(case).filter(node_id="s3_fire_filing").exists()

    # When the builder declares completion and every department approves
    later = now + timedelta(days=200)  # inside the loaded 2026 calendar
    _declare_completion(case, users, later, "2026-09-10")
    _through_stage_4(case, users, later)

    # Then fire acceptance was by housing and construction, with the land
    # check and utilities in the joint acceptance, and the case is approved
    assert case.status == "approved"
    assert _departments(case, "s4_fire_acceptance") == {"housing_construction"}
    assert not _tasks(case).filter(node_id="s4_fire_filing").exists()
    assert {"s4_land_check", "s4_utilities", "s4_air_defence", "s4_planning_check"} <= set(
        _tasks(case).values_list("node_id", flat=True)
    )
    assert not _tasks(case).filter(department__code="fire").exists()


def test_a_special_project_without_a_special_fire_design_skips_the_expert_review(keys, users, now):
    case = _submitted(users, now, region_code="110105", **{**SPECIAL, "special_fire_design": False})
    _through_stage_3(case, users, now)
    assert _departments(case, "s3_fire_review") == {"housing_construction"}
    assert not _tasks(case).filter(node_id="s3_fire_expert").exists()


def test_completion_cannot_be_declared_without_the_confirmation(users, keys, now):
    case = _submitted(users, now, region_code="110105", **ORDINARY)
    step = _through_stage_3(case, users, now)
    with pytest.raises(FormInvalid):
        applicant_task_complete(
            case_id=case.pk,
            actor=users["applicant"],
            task_id=step.engine_id,
            data={"completed_on": "2026-07-20"},
            confirmed=False,
            now=now + timedelta(days=150),
        )
    assert not _tasks(case).filter(node_id__startswith="s4_").exists()
