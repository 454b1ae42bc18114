"""The applicant's form round trips, as the portal posts them.

One post of the application form may save what was typed, upload files,
remove a file and submit. Each step is its own transaction on purpose: a
refused upload or a form error must never lose what the applicant typed, so
the draft is saved first, whatever comes after. The steps themselves are the
services in govflow.cases.services and govflow.cases.attachments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from govflow.engine.forms import validate_form_data
from govflow.errors import FormInvalid, GovflowError
from govflow.processes.services import version_definition

from .attachments import attachment_add, attachment_remove, submission_problems
from .models import Case
from .services import case_answer_correction, case_save_draft


@dataclass
class FormRoundTrip:
    case: Case
    errors: dict[str, list[str]] = field(default_factory=dict)
    problem: GovflowError | None = None  # an error that belongs to no field
    submitted: bool = False
    uploaded: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and self.problem is None


def _merge(errors: dict[str, list[str]], more: Mapping[str, Sequence[str]]) -> None:
    for path, messages in more.items():
        errors.setdefault(path, []).extend(messages)


def _files(
    result: FormRoundTrip,
    *,
    actor,
    uploads: Mapping[str, Sequence[Any]],
    remove_attachment: int | None,
    language: str,
    now: datetime | None,
) -> None:
    if remove_attachment is not None:
        try:
            attachment_remove(case_id=result.case.pk, actor=actor, attachment_id=remove_attachment, now=now)
        except GovflowError as exc:
            result.problem = exc
    for slot, files in uploads.items():
        for upload in files:
            try:
                attachment_add(
                    case_id=result.case.pk, actor=actor, slot=slot, upload=upload, language=language, now=now
                )
                result.uploaded += 1
            except FormInvalid as exc:
                _merge(result.errors, exc.fields)
            except GovflowError as exc:
                result.problem = exc


def draft_update(
    *,
    case: Case,
    actor,
    data: Mapping[str, Any],
    expected_version: int | None = None,
    uploads: Mapping[str, Sequence[Any]] | None = None,
    remove_attachment: int | None = None,
    submit: bool = False,
    submitter: Callable[..., Case],
    commitment: bool = False,
    language: str = "zh",
    now: datetime | None = None,
) -> FormRoundTrip:
    """Save the typed data, then the files, then submit when asked and
    everything before went through. Errors are collected, not raised.
    `submitter(case_id=, actor=, sign=, language=, now=)` submits the draft:
    the portal passes govflow.commitments' (which checks the documents and
    takes the commitment), as cases do not import the apps built on them.
    `commitment`: the applicant signs the commitment for the documents
    the template lets follow later or replaces, passed on as `sign`."""
    result = FormRoundTrip(case)
    try:
        result.case = case_save_draft(
            case_id=case.pk, actor=actor, data=data, expected_version=expected_version, now=now
        )
    except FormInvalid as exc:  # refused characters: shown next to their fields, nothing saved
        _merge(result.errors, FormInvalid(exc.errors, language=language).fields)
        return result
    except GovflowError as exc:
        result.problem = exc
        return result
    _files(
        result,
        actor=actor,
        uploads=uploads or {},
        remove_attachment=remove_attachment,
        language=language,
        now=now,
    )
    if submit and result.ok:
        try:
            result.case = submitter(case_id=case.pk, actor=actor, sign=commitment, language=language, now=now)
            result.submitted = True
        except FormInvalid as exc:
            _merge(result.errors, exc.fields)
        except GovflowError as exc:
            result.problem = exc
    elif submit and result.problem is None:
        # A refused file: not submitted, but show every other problem too.
        problems = submission_problems(result.case, language=language, now=now)
        if problems is not None:
            _merge(result.errors, {k: v for k, v in problems.fields.items() if k not in result.errors})
    return result


def correction_answer(
    *,
    case: Case,
    actor,
    data: Mapping[str, Any],
    uploads: Mapping[str, Sequence[Any]] | None = None,
    remove_attachment: int | None = None,
    submit: bool = False,
    language: str = "zh",
    now: datetime | None = None,
) -> FormRoundTrip:
    """Take new files, and when asked send the corrected data back to the
    reviewers. Only fields whose value changed are sent, so the audit trail
    names what the applicant corrected."""
    result = FormRoundTrip(case)
    _files(
        result,
        actor=actor,
        uploads=uploads or {},
        remove_attachment=remove_attachment,
        language=language,
        now=now,
    )
    if not submit or not result.ok:
        return result
    form = version_definition(case.version).form
    checked = validate_form_data(form, data, today=timezone.localdate(now or timezone.now()), partial=True)
    if checked.ok:
        changes = {key: data[key] for key in data if checked.cleaned.get(key) != case.data.get(key)}
    else:
        changes = dict(data)
    try:
        result.case = case_answer_correction(
            case_id=case.pk, actor=actor, data=changes, now=now, language=language
        )
        result.submitted = True
    except FormInvalid as exc:
        _merge(result.errors, exc.fields)
    except GovflowError as exc:
        result.problem = exc
    return result
