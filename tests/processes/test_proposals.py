"""Four-eyes publishing and what a new text changes (govflow.processes.proposals
and .diff): a template that wants a second administrator is proposed by one and
published only when another approves, having seen the changes."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from govflow.accounts import models as roles
from govflow.audit.models import AuditEvent
from govflow.demo import ensure_user
from govflow.errors import Conflict, Forbidden, InvalidInput
from govflow.notifications.models import Notification
from govflow.outbox.services import outbox_drain
from govflow.processes.diff import template_diff
from govflow.processes.models import ProcessProposal, ProcessTemplate, ProposalStatus
from govflow.processes.proposals import (
    process_propose,
    proposal_approve,
    proposal_reject,
    proposal_withdraw,
    template_second_approval_set,
)

ROOT = Path(__file__).resolve().parents[2]
BUSINESS = (ROOT / "workflows" / "business_setup.yaml").read_text(encoding="utf-8")
CONSTRUCTION = (ROOT / "workflows" / "construction_permit.yaml").read_text(encoding="utf-8")


def _dump(data) -> str:
    from io import StringIO

    out = StringIO()
    yaml = YAML()
    yaml.width = 4096
    yaml.dump(data, out)
    return out.getvalue()


# -- the diff ---------------------------------------------------------------------


def test_the_same_text_changes_nothing():
    diff = template_diff(BUSINESS, BUSINESS)
    assert diff.empty
    assert diff.changes == []


def test_a_changed_limit_a_new_node_and_a_changed_field_are_named():
    new = BUSINESS.replace("time_limit: {hours: 8}", "time_limit: {hours: 16}", 1).replace(
        "    handler: company_name_check\n",
        "    handler: company_name_check\n    description: 重名查询\n",
        1,
    )
    data = YAML(typ="safe", pure=True).load(new)
    data["form"]["fields"][0]["max_length"] = 80
    data["nodes"].append({"id": "extra_review", "type": "end", "outcome": "approved"})
    diff = template_diff(BUSINESS, _dump(data))

    found = {(c.where, c.what): c.keys for c in diff.changes}
    assert found[("(template)", "changed")] == (("time_limit", '{"hours": 8}', '{"hours": 16}'),)
    assert found[("nodes › check_name", "changed")] == (("description", "—", "重名查询"),)
    assert found[("form › fields › company_name", "changed")] == (("max_length", "100", "80"),)
    assert ("nodes › extra_review", "added") in found
    assert diff.added > 0


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False), st.sampled_from([BUSINESS, CONSTRUCTION]))
def test_moving_nodes_and_fields_in_the_file_is_no_change(rnd: random.Random, source: str):
    data = YAML(typ="safe", pure=True).load(source)
    rnd.shuffle(data["nodes"])
    rnd.shuffle(data["form"]["fields"])
    moved = _dump(data)
    assert template_diff(source, moved).changes == []


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([BUSINESS, CONSTRUCTION]), st.data())
def test_removing_any_node_is_named_and_only_it(source: str, data):
    parsed = YAML(typ="safe", pure=True).load(source)
    index = data.draw(st.integers(0, len(parsed["nodes"]) - 1))
    removed = parsed["nodes"].pop(index)
    changes = template_diff(source, _dump(parsed)).changes
    assert [(c.where, c.what) for c in changes] == [(f"nodes › {removed['id']}", "removed")]


# -- four-eyes --------------------------------------------------------------------


@pytest.fixture
def admins(base_data):
    second = ensure_user("admin2", password="x", groups=(roles.PROCESS_ADMIN,), first_name="复核管理员")
    second.email = "admin2@example.gov.cn"
    second.save(update_fields=["email"])
    return base_data["admin"], second


def _four_eyes(admin):
    template_second_approval_set(code="business_setup", actor=admin, on=True)


def _edited(note="加长时限"):
    return BUSINESS.replace("time_limit: {hours: 8}", "time_limit: {hours: 16}", 1), note


@pytest.mark.django_db
def test_without_four_eyes_the_button_publishes_at_once(admins):
    first, _second = admins
    source, note = _edited()
    before = ProcessTemplate.objects.get(code="business_setup").current_version.number
    outcome = process_propose(source=source, actor=first, note=note)
    assert outcome.proposal is None
    assert outcome.version.number == before + 1


@pytest.mark.django_db
def test_a_second_administrator_approves_and_the_proposer_cannot(admins):
    first, second = admins
    _four_eyes(first)
    template = ProcessTemplate.objects.get(code="business_setup")
    current = template.current_version
    source, note = _edited()

    outcome = process_propose(source=source, actor=first, note=note)

    proposal = outcome.proposal
    assert outcome.version is None
    template.refresh_from_db()
    assert template.current_version_id == current.pk  # nothing published yet
    with pytest.raises(Forbidden) as own:
        proposal_approve(proposal_id=proposal.pk, actor=first)
    assert own.value.code == "own_proposal"
    outbox_drain()
    assert Notification.objects.filter(user=second, kind="template_proposed").count() == 1
    assert not Notification.objects.filter(user=first, kind="template_proposed").exists()

    version = proposal_approve(proposal_id=proposal.pk, actor=second)

    template.refresh_from_db()
    assert template.current_version_id == version.pk
    assert version.number == current.number + 1
    assert version.published_by == second
    assert "hours: 16" in version.source
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by, proposal.version) == (
        ProposalStatus.PUBLISHED,
        second,
        version,
    )
    actions = list(AuditEvent.objects.filter(action__startswith="TEMPLATE_").values_list("action", flat=True))
    assert {"TEMPLATE_SECOND_APPROVAL_SET", "TEMPLATE_PROPOSED", "TEMPLATE_PROPOSAL_APPROVED"} <= set(actions)
    outbox_drain()
    assert Notification.objects.filter(user=first, kind="template_proposal_decided").count() == 1
    with pytest.raises(Conflict):
        proposal_approve(proposal_id=proposal.pk, actor=second)


@pytest.mark.django_db
def test_a_proposal_on_a_replaced_version_must_be_made_again(admins):
    first, second = admins
    _four_eyes(first)
    source, note = _edited()
    proposal = process_propose(source=source, actor=first, note=note).proposal
    # Meanwhile four-eyes is turned off and another text published.
    template_second_approval_set(code="business_setup", actor=second, on=False)
    process_propose(
        source=BUSINESS.replace("time_limit: {hours: 8}", "time_limit: {hours: 24}", 1), actor=second
    )
    with pytest.raises(Conflict) as stale:
        proposal_approve(proposal_id=proposal.pk, actor=second)
    assert stale.value.code == "proposal_stale"


@pytest.mark.django_db
def test_a_new_proposal_replaces_the_pending_one_and_sending_back_needs_a_reason(admins):
    first, second = admins
    _four_eyes(first)
    source, _note = _edited()
    older = process_propose(source=source, actor=first).proposal
    newer = process_propose(source=source.replace("hours: 16", "hours: 12", 1), actor=first).proposal
    older.refresh_from_db()
    assert older.status == ProposalStatus.SUPERSEDED
    assert ProcessProposal.objects.filter(status=ProposalStatus.PENDING).get() == newer
    with pytest.raises(InvalidInput):
        proposal_reject(proposal_id=newer.pk, actor=second, reason="  ")
    proposal_reject(proposal_id=newer.pk, actor=second, reason="时限不得超过一个工作日")
    newer.refresh_from_db()
    assert newer.status == ProposalStatus.REJECTED
    assert newer.reason == "时限不得超过一个工作日"


@pytest.mark.django_db
def test_an_invalid_text_is_neither_published_nor_proposed(admins):
    first, _second = admins
    _four_eyes(first)
    with pytest.raises(InvalidInput):
        process_propose(source=BUSINESS.replace("type: start", "type: begin", 1), actor=first)
    assert not ProcessProposal.objects.exists()


@pytest.mark.django_db
def test_the_console_proposes_shows_the_changes_and_the_other_administrator_approves(admins, client):
    first, second = admins
    _four_eyes(first)
    source, note = _edited()
    client.force_login(first)

    checked = client.post("/console/editor/", {"source": source, "action": "validate"}).content.decode()
    assert "time_limit" in checked
    assert "hours" in checked
    published = client.post("/console/editor/", {"source": source, "note": note, "action": "publish"})
    proposal = ProcessProposal.objects.get(status=ProposalStatus.PENDING)
    assert published.status_code == 302
    assert published["Location"] == f"/console/templates/business_setup/proposals/{proposal.pk}/"
    page = client.get(published["Location"]).content.decode()
    assert 'value="withdraw"' in page
    assert 'value="approve"' not in page
    assert "time_limit" in page

    client.force_login(second)
    page = client.get(published["Location"]).content.decode()
    assert 'value="approve"' in page
    decided = client.post(f"{published['Location']}decide/", {"action": "approve"})
    assert decided.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PUBLISHED


@pytest.mark.django_db
def test_only_the_proposer_withdraws(admins):
    first, second = admins
    _four_eyes(first)
    proposal = process_propose(source=_edited()[0], actor=first).proposal
    with pytest.raises(Forbidden):
        proposal_withdraw(proposal_id=proposal.pk, actor=second)
    proposal_withdraw(proposal_id=proposal.pk, actor=first)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.WITHDRAWN
