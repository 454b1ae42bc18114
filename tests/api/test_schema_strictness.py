"""The schema says what the server accepts, and the server takes only what
the schema says (issue 23): text is a JSON string, a body has no members
the schema does not name, a date-time of any year the format allows is
taken, a PATCH without data changes nothing, and every request string
carries the character rule as a pattern that agrees with the server's."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govflow.api.schema_text import LINE_PATTERN, TEXT_PATTERN
from govflow.engine.text import forbidden_character

from .conftest import api_client, assert_error

pytestmark = pytest.mark.django_db


def test_a_number_is_not_a_reason(applicant, business_case):
    client = api_client(applicant)
    url = f"/api/v1/cases/{business_case.reference}/withdraw/"

    error = assert_error(client.post(url, {"reason": -195561}, format="json"), 400, "invalid")

    assert list(error["fields"]) == ["reason"]
    business_case.refresh_from_db()
    assert business_case.status != "withdrawn"


def test_a_member_the_schema_does_not_name_is_refused_by_name(applicant, business_case):
    client = api_client(applicant)
    url = f"/api/v1/cases/{business_case.reference}/withdraw/"

    error = assert_error(
        client.post(url, {"reason": "不办了", "status": "approved"}, format="json"), 400, "invalid"
    )

    assert list(error["fields"]) == ["status"]
    business_case.refresh_from_db()
    assert business_case.status != "withdrawn"


def test_a_patch_without_data_changes_nothing(applicant, business_case):
    client = api_client(applicant)
    draft = client.post("/api/v1/cases/", {"service": "business_setup", "data": {}}, format="json").json()

    unchanged = client.patch(f"/api/v1/cases/{draft['reference']}/", {}, format="json")

    assert unchanged.status_code == 200, unchanged.json()
    assert unchanged.json()["row_version"] == draft["row_version"]
    submitted = client.patch(f"/api/v1/cases/{business_case.reference}/", {}, format="json")
    assert_error(submitted, 409, "conflict")


@pytest.mark.parametrize(
    "moment",
    [
        "0374-10-05T15:16:41Z",
        "1899-12-31T23:59:59Z",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
    ],
)
def test_a_date_time_of_any_year_is_a_bound(applicant, business_case, moment):
    client = api_client(applicant)
    before = client.get("/api/v1/cases/", {"submitted_before": moment})
    after = client.get("/api/v1/cases/", {"created_after": moment})
    assert (before.status_code, after.status_code) == (200, 200), (before.json(), after.json())


def test_an_empty_ordering_is_refused_as_the_schema_says(applicant):
    raw = json.loads(api_client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    (ordering,) = [p for p in raw["paths"]["/api/v1/cases/"]["get"]["parameters"] if p["name"] == "ordering"]
    assert ordering["schema"]["minItems"] == 1
    assert_error(api_client(applicant).get("/api/v1/cases/", {"ordering": ""}), 400, "invalid")


def _strings_without_pattern(schema, path=""):
    if isinstance(schema, dict):
        if (
            schema.get("type") == "string"
            and "enum" not in schema
            and schema.get("format") not in ("binary", "date", "date-time", "uri", "email", "uuid")
            and "pattern" not in schema
        ):
            yield path
        for key, value in schema.items():
            yield from _strings_without_pattern(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _strings_without_pattern(value, f"{path}/{index}")


def test_every_request_string_carries_the_character_rule():
    raw = json.loads(api_client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    requests = {name: s for name, s in raw["components"]["schemas"].items() if name.endswith("Request")}
    parameters = [
        p["schema"]
        for operations in raw["paths"].values()
        for op in operations.values()
        for p in op.get("parameters", [])
    ]
    assert len(requests) > 5
    assert list(_strings_without_pattern(requests)) == []
    assert list(_strings_without_pattern(parameters)) == []
    assert raw["components"]["schemas"]["WithdrawRequest"]["additionalProperties"] is False


# The patterns leave out the tag characters (astral) and lone surrogates; the
# rest of the Basic Multilingual Plane is judged alike by both.
BMP = st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",))


@settings(max_examples=500)
@given(st.text(alphabet=BMP, max_size=8))
def test_the_patterns_agree_with_the_servers_rule(text):
    assert (re.fullmatch(LINE_PATTERN, text) is not None) == (forbidden_character(text) is None)
    assert (re.fullmatch(TEXT_PATTERN, text) is not None) == (
        forbidden_character(text, multiline=True) is None
    )


def test_an_id_in_a_body_beyond_64_bits_is_a_400_not_a_database_error(market_reviewer):
    """Found by schemathesis on SQLite: the id went to the database, which
    could not bind it (OverflowError, a 500)."""
    client = api_client(market_reviewer)
    huge = 2**64

    batch = client.post("/api/v1/tasks/batch-approve/", {"tasks": [huge]}, format="json")

    error = assert_error(batch, 400, "invalid")
    assert any(name.startswith("tasks") for name in error["fields"])


def _request_bodies(raw):
    """(operation, schema) of every JSON request body, $refs resolved."""
    schemas = raw["components"]["schemas"]
    for path, operations in raw["paths"].items():
        for method, op in operations.items():
            content = op.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            if body is None:
                continue
            if "$ref" in body:
                body = schemas[body["$ref"].rsplit("/", 1)[1]]
            yield f"{method.upper()} {path}", body


def _integers_taking_other_types(schema, path=""):
    """Integer members whose schema lets a string, a float or a boolean in."""
    if isinstance(schema, dict):
        if schema.get("type") == "integer" and "format" not in schema and "enum" not in schema:
            yield path
        for key, value in schema.items():
            yield from _integers_taking_other_types(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _integers_taking_other_types(value, f"{path}/{index}")


def _takes_any_member(body: dict) -> bool:
    """A body that lets members it does not name through: open, or (how
    govflow.api.schema_text writes a plain serializer's body) closed with a
    pattern of other names whose values may be anything."""
    if body.get("additionalProperties") is not False:
        return True
    return any(value == {} for value in (body.get("patternProperties") or {}).values())


def test_every_request_body_takes_only_the_members_it_names():
    """No endpoint silently ignores a member it does not know (a misspelt
    `opinon` would otherwise be an approval without an opinion): every JSON
    body schema is closed, the operations, ratings and signals included.
    Open on purpose: the form data of a case (its template decides)."""
    raw = json.loads(api_client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    bodies = dict(_request_bodies(raw))
    assert len(bodies) > 20
    open_bodies = sorted(name for name, body in bodies.items() if _takes_any_member(body))
    assert open_bodies == [], "\n".join(open_bodies)


def test_the_schema_links_each_identifier_to_the_operations_that_take_it():
    raw = json.loads(api_client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content)
    paths = raw["paths"]
    created = paths["/api/v1/cases/"]["post"]["responses"]["201"]["links"]
    submit = paths["/api/v1/cases/{reference}/submit/"]["post"]["operationId"]
    assert created[submit]["parameters"] == {"reference": "$response.body#/reference"}
    # from a page, the first item; a nested path passes on what it shares
    listed = paths["/api/v1/cases/{reference}/attachments/"]["get"]["responses"]["200"]["links"]
    content = paths["/api/v1/cases/{reference}/attachments/{id}/content/"]["get"]["operationId"]
    assert listed[content]["parameters"] == {
        "id": "$response.body#/results/0/id",
        "reference": "$request.path.reference",
    }
    decide = paths["/api/v1/tasks/{id}/decide/"]["post"]["operationId"]
    assert decide in paths["/api/v1/tasks/"]["get"]["responses"]["200"]["links"]
    # every link names an operation that exists, with every path parameter it takes
    operations = {
        op["operationId"]: path for path, item in paths.items() for op in item.values() if "operationId" in op
    }
    for item in paths.values():
        for op in item.values():
            for response in op.get("responses", {}).values():
                for link in response.get("links", {}).values():
                    target = operations[link["operationId"]]
                    assert set(re.findall(r"\{(\w+)\}", target)) == set(link["parameters"]), link
