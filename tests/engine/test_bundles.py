"""Bundles (一件事一次办): items run as sub-processes of one case, each ends
alone with its own outcome and certificates, later items wait for the
ones they come after, and the bundle ends with the outcome that sums them
up (docs/process-language.md, "Bundles")."""

from __future__ import annotations

import pytest

from govflow.engine import InvalidDefinition, Withdraw
from govflow.engine.kinds.bundle import bundle_outcome
from govflow.engine.operations import can_take_back
from govflow.engine.runtime import CertificateDue, ItemEnded

from .conftest import load
from .test_runtime import Case, of

pytestmark = pytest.mark.procedure


def _item(process: str, department: str, certificate: str | None = None) -> str:
    cert = (
        f"""
        certificates:
          - {{type: {certificate}, department: {department}, title: {{zh: 证照, en: Certificate}}}}"""
        if certificate
        else ""
    )
    return f"""
  {process}:
    title: {{zh: 事项 {process}, en: Item {process}}}
    nodes:
      - {{id: {process}_start, type: start, next: {process}_review}}
      - id: {process}_review
        type: user_task
        title: {{zh: 审查, en: Review}}
        department: {department}
        outcomes: {{approve: {process}_approved, reject: {process}_rejected}}
      - id: {process}_approved
        type: end
        title: {{zh: 办结, en: Done}}
        outcome: approved{cert}
      - {{id: {process}_rejected, type: end, title: {{zh: 不予办理, en: Refused}}, outcome: rejected}}
"""


BUNDLE = (
    """
id: setup
title: {zh: 企业开办, en: Business setup}
form:
  fields:
    - {id: employees_count, type: number, label: {zh: 人数, en: Employees}}
    - id: bank
      type: choice
      label: {zh: 银行, en: Bank}
      choices:
        - {value: none, label: {zh: 不开户, en: None}}
        - {value: icbc, label: {zh: 工商银行, en: ICBC}}
nodes:
  - {id: start, type: start, next: items}
  - id: items
    type: bundle
    title: {zh: 企业开办一件事, en: Business setup bundle}
    lead: market_regulation
    items:
      - {process: registration, department: market_regulation}
      - {process: seal, department: public_security, after: [registration]}
      - {process: housing_fund, department: housing_fund, after: [registration], when: "employees_count > 0"}
      - {process: bank_account, department: bank, after: [registration], when: 'bank != "none"'}
    outcomes:
      approved: all_done
      partially_approved: some_done
      rejected: none_done
  - {id: all_done, type: end, title: {zh: 办结, en: Done}, outcome: approved}
  - {id: some_done, type: end, title: {zh: 部分办结, en: Partly done}, outcome: approved}
  - {id: none_done, type: end, title: {zh: 不予办理, en: Refused}, outcome: rejected}
subprocesses:
"""
    + _item("registration", "market_regulation", "business_licence")
    + _item("seal", "public_security", "seal_filing")
    + _item("housing_fund", "housing_fund")
    + _item("bank_account", "bank")
)

DATA = {"employees_count": 3, "bank": "icbc"}


def lines(case: Case) -> dict[str, str]:
    return {item: line["status"] for item, line in case.state["bundles"]["items"]["items"].items()}


def test_later_items_wait_for_the_registration_and_the_licence_comes_at_once():
    case = Case(load(BUNDLE), DATA)
    # Only the registration runs at first
    assert case.open_nodes() == ["registration_review"]
    assert lines(case) == {
        "registration": "running",
        "seal": "waiting",
        "housing_fund": "waiting",
        "bank_account": "waiting",
    }
    # When market regulation approves the registration
    effects = case.complete("registration_review")
    # Then the licence is due at once, and the other items start side by side
    assert [(c.node, c.type) for c in of(effects, CertificateDue)] == [
        ("registration_approved", "business_licence")
    ]
    assert case.open_nodes() == ["bank_account_review", "housing_fund_review", "seal_review"]
    assert lines(case)["registration"] == "approved"
    assert case.status == ("running", None)


def test_the_bank_refusing_ends_its_item_alone_while_the_licence_stands():
    case = Case(load(BUNDLE), DATA)
    case.complete("registration_review")
    # When the bank declines
    effects = case.complete("bank_account_review", "reject")
    assert of(effects, ItemEnded) == [ItemEnded("items", "bank_account", "rejected", "bank_account_rejected")]
    # Then the other items go on and the case runs
    assert lines(case)["bank_account"] == "rejected"
    assert case.open_nodes() == ["housing_fund_review", "seal_review"]
    assert case.status == ("running", None)
    case.complete("seal_review")
    effects = case.complete("housing_fund_review")
    # And the bundle ends once every item has, with each outcome kept
    assert lines(case) == {
        "registration": "approved",
        "seal": "approved",
        "housing_fund": "approved",
        "bank_account": "rejected",
    }
    assert case.state["bundles"]["items"]["outcome"] == "partially_approved"
    assert case.state["decisions"]["items"]["outcome"] == "partially_approved"
    assert case.status == ("completed", "approved")
    assert case.entered("some_done") == 1
    assert not of(effects, CertificateDue)  # the licence came earlier, and only once
    assert [c["type"] for c in case.state["certificates"]] == ["business_licence", "seal_filing"]


def test_every_item_approved_ends_the_bundle_approved():
    case = Case(load(BUNDLE), DATA)
    for node in ("registration_review", "seal_review", "bank_account_review", "housing_fund_review"):
        case.complete(node)
    assert case.status == ("completed", "approved")
    assert case.entered("all_done") == 1


def test_items_whose_condition_fails_do_not_apply():
    case = Case(load(BUNDLE), {"employees_count": 0, "bank": "none"})
    case.complete("registration_review")
    assert case.open_nodes() == ["seal_review"]
    assert lines(case)["housing_fund"] == "not_applicable"
    assert lines(case)["bank_account"] == "not_applicable"
    case.complete("seal_review")
    # Items that do not apply do not make the bundle partial
    assert case.entered("all_done") == 1


def test_a_refused_registration_starts_none_of_the_items_after_it():
    case = Case(load(BUNDLE), DATA)
    effects = case.complete("registration_review", "reject")
    assert [(e.item, e.status) for e in of(effects, ItemEnded)] == [
        ("registration", "rejected"),
        ("seal", "not_started"),
        ("housing_fund", "not_started"),
        ("bank_account", "not_started"),
    ]
    assert lines(case) == {
        "registration": "rejected",
        "seal": "not_started",
        "housing_fund": "not_started",
        "bank_account": "not_started",
    }
    assert not of(effects, CertificateDue)
    assert case.status == ("completed", "rejected")
    assert case.entered("none_done") == 1


def test_withdrawing_the_case_closes_the_open_items():
    case = Case(load(BUNDLE), DATA)
    case.complete("registration_review")
    case.complete("seal_review")
    case.send(Withdraw())
    assert case.status == ("completed", "withdrawn")
    assert lines(case) == {
        "registration": "approved",
        "seal": "approved",
        "housing_fund": "withdrawn",
        "bank_account": "withdrawn",
    }
    assert case.state["frames"] == {}
    assert case.state["tasks"] == {}


def test_a_decision_that_ends_an_item_cannot_be_taken_back():
    case = Case(load(BUNDLE), DATA)
    registration = case.task("registration_review")
    case.complete("registration_review")
    # (the item ended and others started: the frames changed)
    assert not can_take_back(case.state, registration)
    assert case.state["decisions"]["registration_review"]["outcome"] == "approve"


@pytest.mark.parametrize(
    ("statuses", "outcome"),
    [
        (["approved", "approved", "not_applicable"], "approved"),
        (["approved", "rejected"], "partially_approved"),
        (["approved", "not_started"], "partially_approved"),
        (["rejected", "not_started", "not_applicable"], "rejected"),
        (["withdrawn", "not_applicable"], "withdrawn"),
        (["withdrawn", "rejected"], "rejected"),
    ],
)
def test_the_bundle_outcome_sums_up_its_items(statuses, outcome):
    assert bundle_outcome(statuses) == outcome


# -- the language: what is refused, and where --------------------------------


def problems(text: str) -> list[str]:
    with pytest.raises(InvalidDefinition) as refused:
        load(text)
    return [f"{p.line}:{p.col}: {p.message}" for p in refused.value.problems]


def test_a_dependency_cycle_is_refused_at_its_line():
    text = BUNDLE.replace(
        "{process: registration, department: market_regulation}",
        "{process: registration, department: market_regulation, after: [seal]}",
    )
    found = problems(text)
    seal_line = next(i for i, line in enumerate(text.splitlines(), 1) if "{process: seal," in line)
    column = text.splitlines()[seal_line - 1].index("registration]") + 1
    assert (
        f"{seal_line}:{column}: node 'items': items wait for each other in a cycle "
        "(registration -> seal -> registration); none of them could ever start"
    ) in found, found
    # (and no item is left to start the bundle)
    assert any("at least one item must always apply and start at once" in p for p in found), found


def test_an_unknown_item_process_and_an_unknown_dependency_are_refused():
    text = BUNDLE.replace(
        "{process: seal, department: public_security, after: [registration]}",
        (
            "{process: seal, department: public_security, after: [registraton]}\n"
            "      - {process: tax, department: tax}"
        ),
    )
    found = problems(text)
    assert any("comes after 'registraton', which is no item" in p for p in found), found
    assert any("item 'tax' of bundle 'items' names no sub-process" in p for p in found), found


def test_a_bundle_must_map_its_partial_outcome():
    found = problems(BUNDLE.replace("      partially_approved: some_done\n", ""))
    assert any("outcomes must include 'partially_approved'" in p for p in found), found


def test_an_item_after_one_that_never_approves_can_never_start():
    text = BUNDLE.replace(
        "outcomes: {approve: registration_approved, reject: registration_rejected}",
        "outcomes: {approve: registration_rejected}",
    )
    start = text.index("      - id: registration_approved")
    end = text.index("      - {id: registration_rejected")
    text = text[:start] + text[end:]
    found = problems(text)
    assert any(
        "item 'seal' of bundle 'items' can never start: it comes after 'registration', "
        "which never ends approved" in p
        for p in found
    ), found


def test_an_item_process_called_elsewhere_is_refused():
    text = BUNDLE.replace(
        "  - {id: start, type: start, next: items}",
        "  - {id: start, type: start, next: pre}\n"
        "  - id: pre\n    type: call\n    title: {zh: 先办, en: First}\n    process: seal\n"
        "    outcomes: {approved: items}",
    )
    found = problems(text)
    assert any("is an item of bundle 'items' and is also called by 'pre'" in p for p in found), found


def test_a_bundle_in_a_sub_process_is_refused():
    text = BUNDLE.replace(
        "subprocesses:\n",
        "subprocesses:\n  inner:\n    title: {zh: 内, en: Inner}\n"
        "    nodes:\n      - {id: inner_start, type: start, next: inner_items}\n"
        "      - id: inner_items\n        type: bundle\n        title: {zh: 内, en: Inner}\n"
        "        lead: tax\n        items: [{process: seal, department: tax}]\n"
        "        outcomes: {approved: inner_end, rejected: inner_end}\n"
        "      - {id: inner_end, type: end, title: {zh: 完, en: End}, outcome: approved}\n",
        1,
    )
    found = problems(text)
    assert any("a bundle stands in the main process" in p for p in found), found
