"""The attachments of a case: one the user may see, all of a case, and the
label of the slot each fills.
"""

from __future__ import annotations

from dataclasses import dataclass

from govflow.engine.definition import Definition
from govflow.errors import NotFound

from ..models import Attachment, Case
from .access import case_access


@dataclass
class AttachmentRow:
    attachment: Attachment
    slot_label: str


def slot_label(definition: Definition, slot: str, lang: str) -> str:
    for spec in definition.form.attachments:
        if spec.id == slot:
            return spec.label.get(lang) or spec.label.get("zh") or slot
    return slot


def attachment_get_for_user(*, user, reference: str, attachment_id: int) -> Attachment:
    """An attachment of a case the user may see; NotFound otherwise."""
    access = case_access(user=user, reference=reference)
    attachment = Attachment.objects.filter(pk=attachment_id, case=access.case).first()
    if attachment is None:
        raise NotFound("attachment not found")
    return attachment


def attachments_for_case(*, case: Case) -> list[Attachment]:
    return list(Attachment.objects.filter(case=case))
