"""The partitioned audit trail: events go to their case's chain, one
transaction appends to one chain, and verify_audit finds tampering in any
chain (an edited, moved or reordered event, a tail or a whole chain deleted,
a checkpoint's heads altered) with the chain and position named, whatever
GOVFLOW_AUDIT_CHAINS is now. Real transactions (each commit releases its
chain), so these tests flush the database."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from govflow.audit.checkpoints import ChainNotIntact, checkpoint_create
from govflow.audit.merkle import leaf_hash, merkle_path, merkle_root, root_from_path
from govflow.audit.models import AuditCheckpoint, AuditEvent, AuditHead
from govflow.audit.services import PendingAudit, audit_write, chain_for
from govflow.cases.services import case_create

from .conftest import as_database_owner, made_up_actions, run

pytestmark = pytest.mark.django_db(transaction=True)

CHAINS = 4


@pytest.fixture
def chains(settings):
    settings.GOVFLOW_AUDIT_CHAINS = CHAINS
    return CHAINS


@pytest.fixture
def case_in(chains, applicant):
    """chain -> a draft case whose events go to that chain (1 .. N-1; chain
    0 is also every event without a case)."""
    found: dict[int, object] = {}
    while len(found) < chains:
        case = case_create(applicant=applicant, template_code="business_setup")
        found.setdefault(case.pk % chains, case)
    return found


def write(count: int, case=None) -> list[AuditEvent]:
    """`count` events about `case` (or none), in a transaction of their own."""
    with made_up_actions(), transaction.atomic():
        audit_write(
            [
                PendingAudit(
                    action="TEST_EVENT",
                    at=timezone.now(),
                    object_type="test",
                    object_id=str(n),
                    case_id=None if case is None else case.pk,
                )
                for n in range(count)
            ]
        )
    return list(AuditEvent.objects.order_by("-id")[:count])[::-1]


def _write_then_fail(case) -> None:
    with made_up_actions(), transaction.atomic():
        audit_write([PendingAudit(action="TEST_EVENT", at=timezone.now(), case_id=case.pk)])
        raise RuntimeError


def verify() -> tuple[int, str]:
    code, out = run("verify_audit")
    return code, out.strip()


def tamper():
    """SQL as the database owner, in a transaction of its own."""

    class _Tamper:
        def __enter__(self):
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            self.owner = as_database_owner()
            return self.owner.__enter__()

        def __exit__(self, *exc):
            self.owner.__exit__(*exc)
            return self.atomic.__exit__(*exc)

    return _Tamper()


def test_events_go_to_their_cases_chain_and_each_chain_verifies(case_in):
    for chain, case in case_in.items():
        events = write(3, case)
        assert {e.chain for e in events} == {chain}
        assert [e.seq for e in events] == [events[0].seq, events[0].seq + 1, events[0].seq + 2]
    assert {e.chain for e in write(2)} == {0}
    heads = {h.chain: h for h in AuditHead.objects.all()}
    assert set(heads) == set(range(CHAINS))
    for chain, head in heads.items():
        newest = AuditEvent.objects.filter(chain=chain).order_by("-seq").first()
        assert (head.last_seq, head.last_hash) == (newest.seq, newest.hash)
    assert verify() == (0, "audit chain intact")


def test_one_transaction_appends_to_one_chain(case_in):
    """The first write picks the chain; later writes in the same transaction
    follow it (locking a second head could deadlock against a transaction
    that locked them the other way round)."""
    with made_up_actions(), transaction.atomic():
        now = timezone.now()
        audit_write([PendingAudit(action="TEST_EVENT", at=now, case_id=case_in[1].pk)])
        audit_write([PendingAudit(action="TEST_EVENT", at=now, case_id=case_in[2].pk)])
        audit_write([PendingAudit(action="TEST_EVENT", at=now)])
    assert set(AuditEvent.objects.order_by("-id")[:3].values_list("chain", flat=True)) == {1}
    # A rolled-back transaction's choice does not stick to the next one.
    with pytest.raises(RuntimeError):
        _write_then_fail(case_in[3])
    assert write(1, case_in[2])[0].chain == 2
    assert verify() == (0, "audit chain intact")


def test_an_edited_event_in_chain_k_is_named(case_in):
    write(2, case_in[1])
    target = write(3, case_in[2])[1]
    write(2, case_in[3])
    with tamper() as cursor:
        cursor.execute("UPDATE audit_auditevent SET outcome = 'failed' WHERE id = %s", [target.id])
    code, out = verify()
    assert code == 1
    assert f"broken at event {target.id} (chain 2, position {target.seq}):" in out
    assert "does not match its hash" in out


def test_an_event_moved_to_another_chain_is_caught(case_in):
    write(2, case_in[1])
    events = write(2, case_in[2])
    with tamper() as cursor:
        top = AuditHead.objects.get(chain=1).last_seq
        cursor.execute(
            "UPDATE audit_auditevent SET chain = 1, seq = %s WHERE id = %s", [top + 1, events[-1].id]
        )
        cursor.execute("UPDATE audit_audithead SET last_seq = %s WHERE chain = 1", [top + 1])
    code, out = verify()
    assert code == 1
    assert f"broken at event {events[-1].id} (chain 1, position {top + 1})" in out


def test_reordered_events_in_chain_k_are_caught(case_in):
    a, b, _c = write(3, case_in[3])
    with tamper() as cursor:
        cursor.execute("UPDATE audit_auditevent SET seq = -1 WHERE id = %s", [a.id])
        cursor.execute("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [a.seq, b.id])
        cursor.execute("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [b.seq, a.id])
    code, out = verify()
    assert code == 1
    assert f"broken at event {b.id} (chain 3, position {a.seq}):" in out


def test_a_deleted_tail_of_chain_k_is_caught_by_its_head(case_in):
    write(2, case_in[1])
    events = write(4, case_in[2])
    write(2, case_in[3])
    with tamper() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE chain = 2 AND seq >= %s", [events[2].seq])
    code, out = verify()
    assert code == 1
    assert (
        f"broken in chain 2 at position {events[2].seq}: the head of chain 2 names position "
        f"{events[-1].seq} but the chain ends at {events[1].seq}"
    ) in out


def test_a_deleted_tail_of_chain_k_with_its_head_fixed_up_is_caught_by_the_checkpoint(case_in, signing_key):
    write(2, case_in[1])
    events = write(4, case_in[2])
    write(2, case_in[3])
    checkpoint_create()
    with tamper() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE chain = 2 AND seq >= %s", [events[2].seq])
        cursor.execute(
            "UPDATE audit_audithead SET last_seq = %s, last_hash = %s WHERE chain = 2",
            [events[1].seq, events[1].hash],
        )
    code, out = verify()
    assert code == 1
    assert f"broken in chain 2 at position {events[2].seq}: chain 2 ends at position {events[1].seq}" in out
    assert f"covers it up to position {events[-1].seq} (the tail was cut off)" in out
    with pytest.raises(ChainNotIntact, match="chain 2 ends at position"):
        checkpoint_create(force=True)


def test_a_whole_chain_deleted_is_caught_by_the_checkpoint(case_in, signing_key):
    for chain in (1, 2, 3):
        write(2, case_in[chain])
    checkpoint_create()
    with tamper() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE chain = 3")
        cursor.execute("DELETE FROM audit_audithead WHERE chain = 3")
    code, out = verify()
    assert code == 1
    assert "broken in chain 3 at position 1: chain 3 has no events but the checkpoint signed at" in out
    assert "(the chain's events were deleted)" in out


def test_a_chains_events_without_a_head_are_caught(case_in):
    write(2, case_in[3])
    count = AuditEvent.objects.filter(chain=3).count()
    with tamper() as cursor:
        cursor.execute("DELETE FROM audit_audithead WHERE chain = 3")
    code, out = verify()
    assert code == 1
    assert f"broken in chain 3: chain 3 has {count} events but no head row" in out


def test_a_checkpoints_heads_altered_do_not_give_its_signed_root(case_in, signing_key):
    for chain in (1, 2):
        write(2, case_in[chain])
    made = checkpoint_create()
    heads = [list(head) for head in made.heads]
    heads[-1][1] -= 1  # as if chain 2 had been one event shorter
    with tamper() as cursor:
        cursor.execute("UPDATE audit_auditcheckpoint SET heads = %s WHERE id = %s", [_json(heads), made.pk])
    code, out = verify()
    assert code == 1
    assert "broken in its checkpoints:" in out
    assert "do not give its signed Merkle root (altered)" in out


def test_changing_n_needs_no_migration_and_old_chains_stay_checked(case_in, settings, signing_key):
    """N decides only where new events go: events keep their chain, chains
    beyond a lowered N are still verified (the checkpoint names them), and a
    raised N opens new chains."""
    for chain in (1, 2, 3):
        write(2, case_in[chain])
    checkpoint_create()
    settings.GOVFLOW_AUDIT_CHAINS = 2
    assert write(1, case_in[3])[0].chain == 1  # case 3's new events: chain 3 mod 2
    assert verify() == (0, "audit chain intact")
    assert checkpoint_create() is not None
    settings.GOVFLOW_AUDIT_CHAINS = 1
    assert write(1, case_in[3])[0].chain == 0
    settings.GOVFLOW_AUDIT_CHAINS = 8
    case = case_in[3]
    assert write(1, case)[0].chain == case.pk % 8
    assert verify() == (0, "audit chain intact")
    made = checkpoint_create()
    assert {head[0] for head in made.heads} >= {0, 1, 2, 3}
    # Chain 3 is beyond N=2 but still checked: deleting it is caught.
    settings.GOVFLOW_AUDIT_CHAINS = 2
    with tamper() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE chain = 3")
        cursor.execute("DELETE FROM audit_audithead WHERE chain = 3")
    code, out = verify()
    assert code == 1
    assert "chain 3 has no events but the checkpoint" in out


def test_checkpoints_cover_every_chain_in_one_signed_root(case_in, signing_key):
    for chain in (1, 2, 3):
        write(chain, case_in[chain])
    made = checkpoint_create()
    heads = [(h.chain, h.last_seq, h.last_hash) for h in AuditHead.objects.order_by("chain")]
    assert [tuple(head) for head in made.heads] == heads
    assert made.version == 2
    assert made.head_hash == merkle_root(heads)
    assert made.seq == sum(seq for _c, seq, _h in heads)
    assert checkpoint_create() is None  # nothing moved
    write(1, case_in[2])
    later = checkpoint_create()
    assert later.seq == made.seq + 1
    assert AuditCheckpoint.objects.count() == 2
    assert verify() == (0, "audit chain intact")


@pytest.mark.django_db(transaction=False)
def test_the_partition_rule():
    assert [chain_for(None, 8), chain_for(17, 8), chain_for(17, 1), chain_for(16, 8)] == [0, 1, 0, 0]


@pytest.mark.django_db(transaction=False)
def test_merkle_root_and_paths():
    heads = [(chain, chain * 3 + 1, f"{chain:064x}") for chain in range(7)]
    root = merkle_root(heads)
    assert root == merkle_root(list(reversed(heads)))  # taken in chain order
    for chain in range(7):
        assert root_from_path(heads[chain], merkle_path(heads, chain)) == root
    longer = [*heads[:-1], (6, 20, heads[-1][2])]
    assert merkle_root(longer) != root
    assert merkle_root(heads[:1]) == leaf_hash(heads[0]).hex()
    with pytest.raises(ValueError, match="twice"):
        merkle_root([heads[0], heads[0]])


def _json(value) -> str:
    import json

    return json.dumps(value)
