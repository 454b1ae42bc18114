"""Downloading a letter's PDF (whoever sees the case). Thin: check, verify, stream."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404

from govflow.storage import StoredFileMissing, StoredObject, open_verified

from . import selectors


def letter_response(letter, *, user) -> FileResponse:
    """The letter's PDF as a download, after its SHA-256 check
    (StoredFileMissing / StoredFileCorrupted otherwise)."""
    handle = open_verified(
        letter.file,
        sha256=letter.sha256,
        stored=StoredObject("letter", letter.number, letter.case_id),
        actor_id=user.pk,
    )
    response = FileResponse(
        handle, as_attachment=True, filename=f"{letter.number}.pdf", content_type="application/pdf"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def download(request, number):
    letter = selectors.letter_get_for_download(user=request.user, number=number)
    try:
        return letter_response(letter, user=request.user)
    except StoredFileMissing:
        raise Http404 from None
