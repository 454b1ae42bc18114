"""govflow.rawsql: the hot path's INSERTs, inside and outside a pipeline."""

from __future__ import annotations

import pytest
from django.utils import timezone

from govflow.cases.rows import pipelined
from govflow.outbox.models import OutboxMessage
from govflow.rawsql import BATCH, insert_returning, insert_rows

pytestmark = pytest.mark.django_db


def _messages(count: int, prefix: str) -> list[OutboxMessage]:
    now = timezone.now()
    return [
        OutboxMessage(key=f"{prefix}:{n}", topic="notify", payload={"n": n}, created_at=now)
        for n in range(count)
    ]


@pytest.mark.parametrize("count", [1, BATCH + 3])
def test_keys_come_back_to_the_objects_in_order_even_across_batches_in_a_pipeline(count):
    messages = _messages(count, f"r{count}")
    with pipelined():
        inserted = insert_returning(messages)
        keys = inserted()
    assert keys == [m.pk for m in messages]
    assert len(set(keys)) == count
    stored = dict(OutboxMessage.objects.filter(pk__in=keys).values_list("pk", "key"))
    assert all(stored[m.pk] == m.key for m in messages)
    assert not any(m._state.adding for m in messages)


def test_insert_rows_writes_given_keys_and_refuses_a_mix():
    first = _messages(2, "given")
    start = (OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000
    for n, message in enumerate(first):
        message.pk = start + n
    insert_rows(first)
    assert list(OutboxMessage.objects.filter(pk__gte=start).values_list("pk", flat=True).order_by("pk")) == [
        start,
        start + 1,
    ]
    mixed = _messages(2, "mixed")
    mixed[0].pk = start + 10
    with pytest.raises(ValueError, match="primary key"):
        insert_rows(mixed)
