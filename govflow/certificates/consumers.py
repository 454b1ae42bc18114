"""The outbox consumer that issues certificates (see govflow.outbox.services).

Two kinds of rows arrive on the "certificate" topic: the bridge's, when an
end event approves a case ({case, node, type}; the row's key is the
idempotency key of the certificate), and a reissue's ({certificate}: a row
already reserved with its number). Both are idempotent: a redelivery finds
the certificate already issued and does nothing."""

from __future__ import annotations

from typing import Any

from govflow.outbox.services import consumer

from .services import certificate_complete, certificate_issue


@consumer("certificate")
def issue_certificate(payload: dict[str, Any], key: str) -> None:
    if "certificate" in payload:
        certificate_complete(certificate_id=payload["certificate"])
        return
    certificate_issue(case_id=payload["case"], node_id=payload["node"], cert_type=payload["type"], key=key)
