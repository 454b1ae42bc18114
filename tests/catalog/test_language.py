"""The `catalog:` section of the template language: the shipped templates
declare what they publish and reuse, and mistakes are reported with their
line and column like every other template error. No database needed."""

from pathlib import Path

import pytest

from govflow.engine import check_definition, load_definition

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"

BASE = """id: tiny
title: {zh: 小事项, en: Tiny}
form:
  fields:
    - {id: code, type: uscc, required: true, label: {zh: 代码, en: Code}}
    - {id: name, type: text, required: true, label: {zh: 名称, en: Name}}
    - id: people
      type: table
      label: {zh: 人员, en: People}
      columns:
        - {id: who, type: text, label: {zh: 姓名, en: Name}}
nodes:
  - {id: start, type: start, next: check}
  - {id: check, type: service_task, title: {zh: 核验, en: Check}, handler: credit_code_check, next: review}
  - id: review
    type: user_task
    title: {zh: 审核, en: Review}
    department: market_regulation
    outcomes: {approve: done, reject: refused}
  - id: done
    type: end
    title: {zh: 办结, en: Done}
    outcome: approved
    certificates:
      - {type: licence, department: market_regulation, title: {zh: 证, en: Licence}}
  - {id: refused, type: end, title: {zh: 不予, en: Refused}, outcome: rejected}
"""


PUB = "catalog:\n  publishes:\n    - "
REUSE = "catalog:\n  reuses:\n    - "


def _problems(catalog: str) -> list[str]:
    _definition, problems = check_definition(BASE + catalog, departments=None, handlers=None)
    return [f"{p.line}:{p.col}: {p.message}" for p in problems]


def test_the_shipped_templates_declare_their_catalogue_use():
    business = load_definition((WORKFLOWS / "business_setup.yaml").read_text(encoding="utf-8"))
    permit = load_definition((WORKFLOWS / "construction_permit.yaml").read_text(encoding="utf-8"))

    (company,) = business.catalog.publishes
    assert company.dataset == "company_register"
    # 一件事: published when the registration item issues the licence, not at the bundle's end
    assert company.at == ("registration_done",)
    assert company.key[0].path == "result.assign_credit_code.credit_code"
    assert company.fields["status"].value == "active"
    assert [p.dataset for p in permit.catalog.publishes] == ["project_register", "permits_issued"]
    assert permit.catalog.publishes[1].per_certificate
    assert permit.catalog.reuses[0].fields == {
        "builder_name": "company_name",
        "builder_legal_rep_id": "legal_rep_id_number",
    }
    assert permit.catalog.reuses[0].expect == {"status": "active"}


def test_a_valid_section_is_read():
    catalog = """catalog:
  publishes:
    - dataset: register
      at: [approved]
      key: [code, result.check.valid]
      fields: {code: code, name: name, state: {value: active}, on: case.date}
    - dataset: licences
      at: done
      per: certificate
      key: [code, certificate.type]
      fields: {kind: certificate.type}
  reuses:
    - dataset: register
      key: code
      fields: {name: name}
      expect: {state: active}
      related: [{dataset: licences, by: code}]
"""
    assert _problems(catalog) == []


BUNDLE = """id: tiny_bundle
title: {zh: 一件事, en: Bundle}
form:
  fields:
    - {id: code, type: uscc, required: true, label: {zh: 代码, en: Code}}
nodes:
  - {id: start, type: start, next: items}
  - id: items
    type: bundle
    title: {zh: 一件事, en: Bundle}
    lead: market_regulation
    items:
      - {process: register, department: market_regulation}
      - {process: tax, department: tax, after: [register]}
    outcomes: {approved: done, partially_approved: done, rejected: refused}
  - {id: done, type: end, title: {zh: 办结, en: Done}, outcome: approved}
  - {id: refused, type: end, title: {zh: 不予, en: Refused}, outcome: rejected}
subprocesses:
  register:
    title: {zh: 登记, en: Registration}
    nodes:
      - {id: register_start, type: start, next: register_review}
      - id: register_review
        type: user_task
        title: {zh: 登记审核, en: Review}
        department: market_regulation
        outcomes: {approve: register_done, reject: register_refused}
      - {id: register_done, type: end, title: {zh: 登记办结, en: Registered}, outcome: approved}
      - {id: register_refused, type: end, title: {zh: 不予登记, en: Refused}, outcome: rejected}
  tax:
    title: {zh: 涉税, en: Tax}
    nodes:
      - {id: tax_start, type: start, next: tax_review}
      - id: tax_review
        type: user_task
        title: {zh: 涉税审核, en: Review}
        department: tax
        outcomes: {approve: tax_done, reject: tax_refused}
      - {id: tax_done, type: end, title: {zh: 涉税办结, en: Done}, outcome: approved}
      - {id: tax_refused, type: end, title: {zh: 不予办理, en: Refused}, outcome: rejected}
"""


@pytest.mark.parametrize(
    ("at", "per", "problem"),
    [
        ("tax_done", "", None),  # an item's approved end: what the item produced
        ("register_done", "", None),
        ("tax_refused", "", "got 'tax_refused'"),  # refused: nothing was produced
        ("tax_done", "per: certificate, ", "got 'tax_done'"),  # no certificates to publish one by one
        ("done", "", "got 'done'"),  # the main process's end issues nothing
    ],
)
def test_a_bundles_item_publishes_at_its_approved_end(at, per, problem):
    catalog = f"catalog:\n  publishes:\n    - {{dataset: r, at: {at}, {per}key: code, fields: {{a: code}}}}\n"
    _definition, problems = check_definition(BUNDLE + catalog, departments=None, handlers=None)
    messages = [p.message for p in problems]
    if problem is None:
        assert messages == []
    else:
        assert any(problem in m for m in messages), messages


@pytest.mark.parametrize(
    ("catalog", "message"),
    [
        ("catalog: []\n", "catalog must be a mapping"),
        ("catalog: {publish: []}\n", "unknown key 'publish' in catalog"),
        (
            PUB + "{dataset: r, at: refused, key: code, fields: {a: code}}\n",
            "'at' must be 'approved' (the case's approval), an end with outcome approved",
        ),
        (
            PUB + "{dataset: r, at: review, key: code, fields: {a: code}}\n",
            "got 'review'",
        ),
        (
            PUB + "{dataset: r, at: approved, key: nope, fields: {a: code}}\n",
            "'nope' is not a field of the form",
        ),
        (
            PUB + "{dataset: r, at: approved, key: code, fields: {a: people}}\n",
            "tables cannot be published",
        ),
        (
            PUB + "{dataset: r, at: approved, key: code, fields: {a: result.review2.x}}\n",
            "unknown result 'result.review2.x'",
        ),
        (
            PUB + "{dataset: r, at: approved, key: code, fields: {a: certificate.type}}\n",
            "'certificate.type' needs per: certificate",
        ),
        (
            PUB + "{dataset: r, at: approved, per: certificate, key: code, fields: {a: code}}\n",
            "('approved' cannot be used with per: certificate)",
        ),
        (
            PUB + "{dataset: Bad-Id, at: approved, key: code, fields: {a: code}}\n",
            "must be lowercase letters",
        ),
        (
            PUB + "{dataset: r, at: approved, key: code, fields: {}}\n",
            "'fields' must name at least one dataset field",
        ),
        (
            PUB + "{dataset: r, at: approved, key: code, fields: {a: {value: ''}}}\n",
            "a fixed value must be non-empty text",
        ),
        (
            REUSE + "{dataset: r, key: nope, fields: {name: name}}\n",
            "'key' must name a field of the form; got 'nope'",
        ),
        (
            REUSE + "{dataset: r, key: code, fields: {code: code}}\n",
            "'code' cannot be prefilled",
        ),
        (
            REUSE + "{dataset: r, key: code, fields: {ghost: name}}\n",
            "'ghost' is not a field of the form",
        ),
        (
            REUSE + "{dataset: r, key: code, fields: {name: name}, related: [{dataset: x}]}\n",
            "missing required key 'by'",
        ),
    ],
)
def test_mistakes_are_reported_with_their_position(catalog, message):
    problems = _problems(catalog)

    assert any(message in p for p in problems), problems
    assert all(int(p.split(":")[0]) >= BASE.count("\n") for p in problems), problems
