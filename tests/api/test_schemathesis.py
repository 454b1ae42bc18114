"""schemathesis against the live schema, with every check, as an applicant,
a reviewer and an admin: no 5xx, no undocumented status, no response that
breaks the schema, schema-invalid input refused, schema-valid input
accepted, authentication enforced.

The schema is fetched from the running app and its path parameters get
real objects of the persona as examples (a draft, a submitted case with its
documents, a task in the reviewer's inbox), so the explicit-examples phase
reaches the code behind the 404s that random identifiers mostly get."""

from __future__ import annotations

import json
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from govflow.cases.models import Attachment

from .conftest import api_client, live_task, skip_tag_characters, submitted, token_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

# Per operation, generation mode and persona; about two minutes in all.
MAX_EXAMPLES = int(os.environ.get("GOVFLOW_SCHEMATHESIS_EXAMPLES", "15"))

# What schema-valid input may get: 409 (the object's state), 422 (an
# Idempotency-Key reused for another body), 429; never a 400, which would
# mean the schema is looser than the server (govflow.api.schema_text states
# the character rule, the serializers refuse what the schema leaves out)...
POSITIVE_EXPECTED = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
# ...except where the rules come from the process template, which the schema
# cannot know: the form's fields and checks, the document slots and the
# file's content, the outcomes offered at a step (and the opinion they ask
# for), the colleagues of a department.
TEMPLATE_RULES = {
    ("POST", "/api/v1/cases/"),
    ("PATCH", "/api/v1/cases/{reference}/"),
    ("POST", "/api/v1/cases/{reference}/correction/"),
    ("POST", "/api/v1/cases/{reference}/submit/"),
    ("POST", "/api/v1/cases/{reference}/attachments/"),
    ("POST", "/api/v1/tasks/{id}/decide/"),
    # the earlier steps the template lets this one send the case back to
    ("POST", "/api/v1/tasks/{id}/return/"),
    ("POST", "/api/v1/tasks/{id}/handover/"),
    ("POST", "/api/v1/tasks/{id}/add-signer/"),
    ("POST", "/api/v1/tasks/{id}/remove-signer/"),
    ("POST", "/api/v1/catalog/prefill/"),
    # who may act for whom: the colleagues of a department
    ("POST", "/api/v1/proxies/"),
    ("POST", "/api/v1/tasks/{id}/delegate/"),
    ("POST", "/api/v1/departments/{code}/reassign/"),
    # the departments that exist, and at least one reader (users or departments)
    ("POST", "/api/v1/tasks/{id}/consult/"),
    # the departments that exist, and those the template lets the step transfer to
    ("POST", "/api/v1/tasks/{id}/transfer/"),
    ("POST", "/api/v1/tasks/{id}/cc/"),
    # the steps whose template says `batch: true`
    ("POST", "/api/v1/tasks/batch-approve/"),
    # a rule across members the schema does not state: SMS needs a number
    ("PUT", "/api/v1/notifications/preferences/"),
}


def _fully_described(raw: dict, operation) -> bool:
    """Whether the operation's body takes only the members its schema names
    (govflow.api.fields.BodySerializer): only then can the schema say all
    the server checks. Bodies of plain serializers keep the 400 allowance
    until they move to BodySerializer."""
    body = raw["paths"][operation.path][operation.method.lower()].get("requestBody")
    for media in (body or {}).get("content", {}).values():
        schema = media.get("schema", {})
        if "$ref" in schema:
            schema = raw["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        # A plain serializer's body takes other members, clean ones (patternProperties).
        if schema.get("additionalProperties") is not False or "patternProperties" in schema:
            return False
    return True


@pytest.fixture(params=["applicant", "reviewer", "admin"])
def persona(request, base_data, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"user": "100000/minute", "anon": "100000/minute"},
    }
    applicant = base_data["applicant"]
    case = submitted(applicant, "business_setup", company_name="北京模糊测试科技有限公司")
    draft = api_client(applicant).post("/api/v1/cases/", {"service": "business_setup"}, format="json")
    task = live_task(case, "registration")
    user = {
        "applicant": applicant,
        "reviewer": base_data["market_regulation_reviewer"],
        "admin": base_data["admin"],
    }[request.param]
    return {
        "name": request.param,
        "token": token_for(user),
        "examples": {
            "reference": case.reference if request.param == "reviewer" else draft.json()["reference"],
            "task": task.pk,
            "attachment": Attachment.objects.filter(case=case).first().pk,
        },
    }


def _real_path_parameters(path: str, examples: dict) -> dict:
    names = {"code": "business_setup", "number": 1}
    if "/calendars/" in path:
        names["code"] = "cn"
    if "/departments/" in path:
        names["code"] = "market_regulation"
    names["reference"] = examples["reference"]
    names["id"] = examples["task"] if path.startswith("/api/v1/tasks/") else examples["attachment"]
    return {name: value for name, value in names.items() if "{" + name + "}" in path}


def _run(operation, strategy, token: str, max_examples: int) -> None:
    @given(case=strategy)
    @settings(
        max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def check(case):
        case.call_and_validate(headers={"Authorization": f"Token {token}"})

    check()


def test_the_api_keeps_its_schema(wsgi_app, persona):
    raw = json.loads(api_client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = wsgi_app
    skip_tag_characters(schema)
    failures = []
    operations = strict_operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        template_rules = (operation.method.upper(), operation.path) in TEMPLATE_RULES
        strict = _fully_described(raw, operation) and not template_rules
        strict_operations += strict
        schema.config.checks.positive_data_acceptance.expected_statuses = POSITIVE_EXPECTED + (
            [] if strict else ["400"]
        )
        real = _real_path_parameters(operation.path, persona["examples"])
        strategies = [
            (operation.as_strategy(GenerationMode.POSITIVE), MAX_EXAMPLES),
            (operation.as_strategy(GenerationMode.NEGATIVE), MAX_EXAMPLES),
        ]
        if real:
            strategies.append(
                (operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real), MAX_EXAMPLES)
            )
        for strategy, count in strategies:
            try:
                _run(operation, strategy, persona["token"], count)
            except KeyboardInterrupt:
                raise
            except Unsatisfiable:
                # Nothing in the operation can be made invalid (no parameters, no body).
                continue
            except BaseException as exc:  # collected: one report for every operation
                failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert operations >= 30
    assert strict_operations >= 25  # the reads, and the bodies that are BodySerializers
    assert failures == [], "\n\n".join(failures)
