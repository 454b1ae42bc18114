"""`fee`: the case waits for a fee to be paid (待缴费). The payment platform
tells the case through the signals API
(`POST /api/v1/cases/{reference}/signals/{signal}/`, default signal name
`fee_paid`); `amount` is the fee in yuan, shown to the applicant and the
reviewers while it is unpaid. A message carrying a different `amount` is
refused. An optional `deadline` sends the case to `on_timeout` when the fee
is not paid in time. Waiting for the payment is the applicant's time: the
statutory clock stands still (as in a correction).

    - id: pay
      type: fee
      title: {zh: 缴纳许可费, en: Pay the licence fee}
      amount: 300.00
      deadline: {days: 10}
      on_timeout: unpaid
      next: issue

Conditions may read `result.<id>.amount` and `result.<id>.paid` (true once
paid) and the keys the platform sent (`payment_id` ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ..definition import Node
from ..loading.positions import value_pos
from ..problems import IllegalEvent, Message
from .base import gettext_noop
from .signal import SIGNAL_RE, SignalWait

if TYPE_CHECKING:
    from .base import Machine, Reader

DEFAULT_FEE_SIGNAL = "fee_paid"
MAX_FEE = Decimal("100000000")


def fee_amount(value: Any) -> Decimal | None:
    """The exact amount of `value` (a number or its text), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


class Fee(SignalWait):
    type = "fee"
    keys = frozenset({"amount", "signal", "next", "deadline", "on_timeout"})
    colours = ("#eef8ee", "#2e6b2e", "")
    caption = gettext_noop("fee payment")
    bpmn_element = "task"
    shape = "task"
    lane = "applicant"
    deadline_timer = "fee_deadline"

    def read(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        if "signal" not in item:
            node.settings["signal"] = DEFAULT_FEE_SIGNAL
        if "amount" not in item:
            reader.err(
                (node.line, node.col),
                Message("{what} is missing required key 'amount' (the fee in yuan)", what=what),
            )
        else:
            amount = fee_amount(item["amount"])
            if amount is None or not (Decimal(0) < amount <= MAX_FEE) or amount.as_tuple().exponent < -2:
                reader.err(
                    value_pos(item, "amount"),
                    Message(
                        "{what} 'amount' must be a sum in yuan above 0 with at most 2 decimals", what=what
                    ),
                )
            else:
                node.settings["amount"] = f"{amount:.2f}"
        if "signal" in item:
            name = reader.ident(item, "signal", what, pattern=SIGNAL_RE)
            if name is not None:
                node.settings["signal"] = name
        # the flows and the deadline are read as on a signal node
        super().read_flows(reader, node, item, what)

    def holds_clock(self, node: Node) -> bool:
        return True  # the applicant's time

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        super().enter(machine, token_id, token, node)
        machine.pause(node.id)
        token["holding"] = True

    def _release(self, machine: Machine, token_id: str, node: Node) -> None:
        machine.state["tokens"][token_id].pop("holding", None)
        machine.resume(node.id)

    def received(self, machine: Machine, token_id: str, node: Node, data: Mapping[str, Any]) -> None:
        expected = Decimal(node.settings["amount"])
        if "amount" in data and fee_amount(data["amount"]) != expected:
            raise IllegalEvent(
                Message(
                    "the payment's amount {amount} is not the fee {fee} of '{node}'",
                    amount=data["amount"],
                    fee=expected,
                    node=node.id,
                ),
                code="wrong_fee_amount",
            )
        self._release(machine, token_id, node)
        super().received(machine, token_id, node, {**data, "amount": node.settings["amount"], "paid": True})

    def on_timer(self, machine: Machine, timer: dict, node: Node) -> None:
        # fee_deadline: not paid in time
        self._release(machine, timer["token"], node)
        super().on_timer(machine, timer, node)
