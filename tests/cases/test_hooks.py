"""The apps above cases plug into the lower apps at start (their
AppConfig.ready), so no lower app imports a higher one (pyproject.toml,
"No import cycles between govflow's apps"). A registration forgotten would
not fail loudly: a notice would go unsent, a proxy refused, an incident
unnamed. These pin that each one is there once the apps are ready."""

from __future__ import annotations

from govflow.cases import hooks
from govflow.cases.applicant_notices import told_case_ended, told_item_ended
from govflow.cases.selectors.outbox import case_reference, outbox_row_subject
from govflow.certificates.notices import told_certificate
from govflow.certificates.selectors import certificate_problems
from govflow.collab.guards import acts_for, refuse_while_waiting, waiting_probe
from govflow.collab.selectors import collab_departments
from govflow.incidents import hooks as incident_hooks
from govflow.notifications import applicant, sms
from govflow.processes.handlers import handler_names


def test_the_task_operations_and_the_certificates_answer_the_case_services():
    assert collab_departments in hooks._readers
    assert acts_for in hooks._acts_for
    assert [guard for guard, _probe in hooks._decision_guards] == [refuse_while_waiting]
    assert hooks.decision_probes() == (waiting_probe(),)
    assert certificate_problems in hooks._reconcile_checks


def test_every_applicant_notice_has_its_composer():
    assert set(applicant._composers) == set(applicant.SUBJECTS)
    assert applicant._composers["approved"] is told_case_ended
    assert applicant._composers["item_ended"] is told_item_ended
    assert applicant._composers["certificate_revoked"] is told_certificate


def test_incidents_and_sms_learn_about_cases_from_cases():
    assert outbox_row_subject in incident_hooks._describers
    assert sms._case_reference == [case_reference]


def test_the_handlers_that_look_up_cases_are_registered():
    assert {"company_name_check", "credit_code_check", "entity_check"} <= handler_names()
