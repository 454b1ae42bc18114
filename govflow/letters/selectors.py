"""Read-side queries for letters, with their permission filtering: whoever
may see the case (govflow.cases.selectors.case_access: its applicant, a
reviewer whose department has or had a task on it) sees and downloads its
letters; anyone else gets NotFound, as for a number that does not exist."""

from __future__ import annotations

from govflow.cases.models import Case
from govflow.cases.selectors import case_access
from govflow.errors import NotFound

from .models import Letter


def letters_for_case(*, case: Case) -> list[Letter]:
    """A case's letters, oldest first (the caller has checked access)."""
    return list(
        Letter.objects.filter(case=case).select_related("department", "task").order_by("issued_at", "id")
    )


def letter_get_for_download(*, user, number: str) -> Letter:
    letter = Letter.objects.filter(number=str(number)[:32]).select_related("case").first()
    if letter is None:
        raise NotFound("letter not found")
    case_access(user=user, reference=letter.case.reference)  # NotFound unless the user sees the case
    return letter
