"""`end`: ends its process with an outcome (approved, rejected, withdrawn);
an approving end may issue certificates. `terminate: false` ends only the
path that reaches it (the last path to end gives the process its outcome)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..definition import CASE_OUTCOMES, CertificateSpec, Node
from ..effects import CertificateDue
from ..loading.positions import item_pos, value_pos
from ..problems import Message
from .base import NodeKind

if TYPE_CHECKING:
    from .base import Machine, Reader


class End(NodeKind):
    type = "end"
    keys = frozenset({"outcome", "terminate", "certificates"})
    article = "an"
    is_final = True
    shape = "event"
    bpmn_element = "endEvent"

    def read(self, reader: Reader, node: Node, item: Any, what: str) -> None:
        outcome = item.get("outcome")
        if outcome not in CASE_OUTCOMES:
            reader.err(
                value_pos(item, "outcome") if "outcome" in item else (node.line, node.col),
                Message(
                    "{what} needs 'outcome': one of {CASE_OUTCOMES}",
                    what=what,
                    CASE_OUTCOMES=", ".join(CASE_OUTCOMES),
                ),
            )
        else:
            node.outcome = str(outcome)
        node.terminate = reader.boolean(item, "terminate", what, True)
        if "certificates" in item:
            pos = value_pos(item, "certificates")
            if outcome != "approved":
                reader.err(
                    pos,
                    Message("{what}: only an end with outcome 'approved' can issue certificates", what=what),
                )
            certs = []
            seen: set[str] = set()
            for index, raw in enumerate(
                reader.seq(item["certificates"], pos, Message("{what} certificates", what=what)) or []
            ):
                cert = reader.mapping(
                    raw, item_pos(item["certificates"], index, pos), Message("a certificate")
                )
                if cert is None:
                    continue
                reader.keys(
                    cert,
                    ("type", "department", "title"),
                    ("type", "department", "title"),
                    Message("a certificate"),
                )
                cert_type = reader.ident(cert, "type", "certificate") if "type" in cert else None
                dept = (
                    reader.department(
                        cert["department"], value_pos(cert, "department"), "certificate department"
                    )
                    if "department" in cert
                    else None
                )
                title = reader.label(cert, "title", "certificate", required=False)
                if cert_type in seen:
                    reader.err(
                        value_pos(cert, "type"),
                        Message(
                            "{what} names certificate '{cert_type}' twice", what=what, cert_type=cert_type
                        ),
                    )
                    continue
                if cert_type and dept and title:
                    seen.add(cert_type)
                    certs.append(CertificateSpec(type=cert_type, department=dept, title=title))
            node.certificates = tuple(certs)

    def enter(self, machine: Machine, token_id: str, token: dict, node: Node) -> None:
        state = machine.state
        outcome = node.outcome or "approved"
        for cert in node.certificates:
            state["certificates"].append({"type": cert.type, "department": cert.department, "node": node.id})
            machine.effects.append(CertificateDue(node.id, cert.type, cert.department))
        frame = token["frame"]
        del state["tokens"][token_id]
        if node.terminate or not any(t["frame"] == frame for t in state["tokens"].values()):
            machine.finish(frame, outcome, node.id)
