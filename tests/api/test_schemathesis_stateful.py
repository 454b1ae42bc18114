"""schemathesis's stateful run: sequences of calls chained through the links
it infers from the schema (a case created, then read, changed, given a
document, submitted, withdrawn; an attachment uploaded then deleted then
asked for again), as an administrator (the whole API), an applicant and a reviewer, with every
check —
including the stateful ones: a resource the API just created is there, one
it just deleted is gone."""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, Phase, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from .conftest import api_client, skip_tag_characters, submitted, token_for
from .test_schemathesis import POSITIVE_EXPECTED, TEMPLATE_RULES

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

SCENARIOS = int(os.environ.get("GOVFLOW_SCHEMATHESIS_SCENARIOS", "40"))


def _machine(raw: dict, app, token: str, paths: str):
    schema = schemathesis.openapi.from_dict(raw).include(path_regex=paths)
    schema.app = app
    skip_tag_characters(schema)
    schema.config.checks.positive_data_acceptance.expected_statuses = POSITIVE_EXPECTED
    base = schema.as_state_machine()
    applied: list[tuple[str, int]] = []  # (call, status) of the calls fed by an earlier response
    failures: dict[str, str] = {}  # first line of the failure -> the whole report

    class Machine(base):
        # Each scenario starts from the same database: what one scenario
        # created does not change what the next one draws (Hypothesis replays
        # choices and refuses strategies that depend on outside state).
        def setup(self):
            self._savepoint = transaction.savepoint()

        def teardown(self):
            transaction.savepoint_rollback(self._savepoint)

        def step(self, input):
            output = super().step(input)
            if input.transition is not None and input.is_applied:
                applied.append((f"{input.case.method} {input.case.path}", output.response.status_code))
            return output

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Token {token}"}}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # The rules that come from the process template (the form's
            # fields, the outcomes offered) are not in the schema: there a
            # schema-valid body may still be refused with 400.
            template = (case.method.upper(), case.path) in TEMPLATE_RULES
            try:
                case.validate_response(
                    response,
                    additional_checks=additional_checks,
                    excluded_checks=[positive_data_acceptance] if template else None,
                    # named, so the auth check knows what to leave out when it
                    # tries the call without valid credentials
                    headers=kwargs.get("headers"),
                    transport_kwargs=kwargs or None,
                )
            except Exception as exc:  # collected and reported whole: a replay could not show it
                report = f"{case.method} {case.path}: {exc}"
                failures.setdefault(report.splitlines()[0], report)

    return Machine, applied, failures


# Per persona, the part of the API its work goes through: the applicant's
# cases (create, fill, attach, submit, withdraw), the reviewer's inbox.
SCOPE = {
    "admin": r"^/api/v1/",
    "applicant": r"^/api/v1/(cases|services)/",
    "reviewer": r"^/api/v1/(tasks|cases|extensions|opinions)/",
}


@pytest.mark.parametrize("persona", sorted(SCOPE))
def test_chained_calls_keep_the_schema_and_the_state(wsgi_app, base_data, settings_override, persona):
    applicant = base_data["applicant"]
    submitted(applicant, "business_setup", company_name="北京状态测试科技有限公司")
    user = {
        "admin": base_data["admin"],
        "applicant": applicant,
        "reviewer": base_data["market_regulation_reviewer"],
    }[persona]
    raw = json.loads(api_client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    machine, applied, failures = _machine(raw, wsgi_app, token_for(user), SCOPE[persona])
    assert len(machine.bundles) >= 5  # the links schemathesis found to chain calls
    machine.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,  # the same scenarios on every run: a failure is reproduced
            phases=[Phase.generate],
        )
    )
    assert not failures, "\n\n".join(failures.values())
    # Calls fed by an earlier response reached the objects themselves.
    reached = {call for call, status in applied if status < 400}
    assert reached, applied


@pytest.fixture
def settings_override(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "100000/minute", "anon": "100000/minute"},
    }
