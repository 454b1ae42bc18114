"""Service errors in the user's language (the web pages and the API both use these).

Services raise GovflowError with a plain English message and a stable code.
The web shows the message translated when it is one it knows (matched by
pattern, since some carry details), and otherwise a plain sentence for the
error's code, so a user never sees an untranslated technical message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from govflow.engine.problems import Message, Problem
from govflow.errors import GovflowError

KNOWN_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), text)
    for pattern, text in (
        (
            r"^only a draft can be edited",
            gettext_lazy("Only a draft can be edited; this application has been submitted."),
        ),
        (
            r"^the draft was changed elsewhere",
            gettext_lazy("The draft was changed in another window. Reload the page before saving."),
        ),
        (
            r"^this case has already been submitted",
            gettext_lazy("This application has already been submitted."),
        ),
        (r"^this case has ended", gettext_lazy("This application has ended and cannot be withdrawn.")),
        (
            r"^no correction is being asked for",
            gettext_lazy("No correction is being asked for on this application."),
        ),
        (
            r"^materials can be changed only",
            gettext_lazy("Materials can be changed only on a draft or when a correction is asked for."),
        ),
        (
            r"^only the reviewer who claimed the task",
            gettext_lazy("Only the reviewer who claimed the task, or the department head, can release it."),
        ),
        (
            r"^only the reviewer holding the task",
            gettext_lazy("Only the reviewer holding the task, or the department head, can hand it over."),
        ),
        (r"^the colleague must belong", gettext_lazy("The colleague must belong to the task's department.")),
        (
            r"^a case cannot be handed to its own applicant",
            gettext_lazy("A task cannot be handed to the applicant of the case."),
        ),
        (
            r"^a reviewer cannot decide a case they applied for",
            gettext_lazy("You cannot decide an application you made yourself."),
        ),
        (
            r"^this countersign needs a different person for each signature",
            gettext_lazy(
                "This step must be signed by a different person for each signature (双人审核): "
                "the same person holds or has already signed another signature of it."
            ),
        ),
        (
            r"^a signer added before you has not approved yet",
            gettext_lazy("A signer added before you has not approved yet."),
        ),
        (r"^an added signer approves or rejects", gettext_lazy("An added signer approves or rejects.")),
        (
            r"^this step is approved automatically for you",
            gettext_lazy(
                "You have already decided another step of this application, so this step is approved "
                "automatically when you take it (审批人去重); a colleague may decide it otherwise."
            ),
        ),
        (
            r"^this case needs a different person for each step",
            gettext_lazy(
                "This application must be decided by a different person at each step (审批人去重): "
                "you have already decided another step of it."
            ),
        ),
        # 撤回 / 拿回 (govflow.cases.operations.take_back), also of a decision that ended a sub-process
        (
            r"^the next step has already acted on this decision",
            gettext_lazy("The next step has already acted on this decision; it can no longer be taken back."),
        ),
        (
            r"^the sub-process of this step has already ended",
            gettext_lazy(
                "The sub-process of this step has already ended; its decision can no longer be taken back."
            ),
        ),
        (
            r"^the next reviewer has already claimed the case",
            gettext_lazy("The next reviewer has already claimed the case; it can no longer be taken back."),
        ),
        (
            r"^only the reviewer who decided can take",
            gettext_lazy("Only the reviewer who decided can take it back."),
        ),
        (
            r"^the case has ended; its decisions can no longer be taken back",
            gettext_lazy("The application has ended; its decisions can no longer be taken back."),
        ),
        (
            r"^an automatic approval \(审批人去重\) cannot be taken back",
            gettext_lazy("An automatic approval (审批人去重) cannot be taken back."),
        ),
        (
            r"^only a decision you made can be taken back",
            gettext_lazy("Only a decision you made can be taken back."),
        ),
        (
            r"^a colleague has claimed this task",
            gettext_lazy(
                "A colleague has claimed this task; ask them or the department head to hand it over."
            ),
        ),
        (
            r"^claim the task first \(签收\)",
            gettext_lazy("Claim the task (签收) before deciding it."),
        ),
        (
            r"^a colleague has already claimed this task",
            gettext_lazy("A colleague has already claimed this task."),
        ),
        (r"^the opinion is too long", gettext_lazy("The opinion is too long.")),
        (
            r"^a rejection or a return for correction needs",
            gettext_lazy("A rejection or a return for correction needs a written opinion."),
        ),
        # 受理 and the one-time correction notice (govflow.engine.notices)
        (
            r"^a refusal to accept \(不予受理\) needs its reasons",
            gettext_lazy("A refusal to accept needs its reasons in the opinion."),
        ),
        (
            r"^a refusal to accept \(不予受理\) needs its legal basis",
            gettext_lazy("A refusal to accept needs its legal basis."),
        ),
        (
            r"^a correction notice \(一次性告知\) lists|^a correction notice lists",
            gettext_lazy("Tick every field and material that must be corrected and give each a reason."),
        ),
        (
            r"^item \d+ of the correction notice",
            gettext_lazy(
                "Each item of the correction notice needs a field or material of this service and a reason."
            ),
        ),
        (
            r"^a correction notice goes",
            gettext_lazy(
                "A correction notice goes only with a decision that sends the case to the applicant."
            ),
        ),
        (
            r"^the case has been sent for correction at",
            gettext_lazy(
                "The application has been sent for correction as often as the process allows; "
                "decide on the materials as they are."
            ),
        ),
        (
            r"^the correction notice does not ask for",
            gettext_lazy("Only what the correction notice lists can be changed."),
        ),
        (r"^this task has already been decided", gettext_lazy("This task has already been decided.")),
        (
            r"^this task was cancelled",
            gettext_lazy("This task was cancelled (the application moved on or was withdrawn)."),
        ),
        (r"^this task is ", gettext_lazy("This task can no longer be worked on.")),
        (r"^form data is too large", gettext_lazy("The form is too large to save.")),
        (r"^form data must", gettext_lazy("The form data could not be read.")),
        (
            r"^the case cannot be routed",
            gettext_lazy(
                "The application cannot be routed with these answers; "
                "check the form or contact the service desk."
            ),
        ),
        (r"^the template does not validate", gettext_lazy("The template does not validate.")),
        (r"^the form has errors", gettext_lazy("The form has errors; see the messages next to the fields.")),
        (
            r"^outcome .* is not offered|is not offered",
            gettext_lazy("That decision is not offered at this step."),
        ),
        (r"^no published service", gettext_lazy("This service is not offered at the moment.")),
        # 好差评 (govflow.ratings)
        (
            r"^a case can be rated once it has ended",
            gettext_lazy("You can rate the service once your application has ended."),
        ),
        (
            r"^this has been rated already",
            gettext_lazy("You have rated this already; a rating cannot be changed."),
        ),
        (
            r"^a poor rating needs the reason",
            gettext_lazy("A poor rating needs the reason, so the department can remedy it."),
        ),
        (
            r"^this department did not handle the case",
            gettext_lazy("This department did not handle your application."),
        ),
        (r"^the rating must be 1 to 5", gettext_lazy("Choose a rating.")),
        (
            r"^only the department head records",
            gettext_lazy("Only the department head records a remedy, a callback or an appeal."),
        ),
        (r"^this remediation is ", gettext_lazy("This remediation has moved on; reload the page.")),
        (
            r"^this rating has been appealed once already",
            gettext_lazy("This rating has been appealed once already."),
        ),
        (
            r"^only an administrator decides an appeal",
            gettext_lazy("Only an administrator decides an appeal against a rating."),
        ),
        (r"^choose the callback's result", gettext_lazy("Choose the result of the callback.")),
        (r"^choose upheld or dismissed", gettext_lazy("Choose whether the appeal is upheld or dismissed.")),
        (r"not found$", gettext_lazy("The page or item was not found.")),
    )
)

FIELD_MESSAGES = {
    "required": gettext_lazy("This field is required."),
    "not a member": gettext_lazy("Choose a member of the task's department."),
    "is the applicant": gettext_lazy("This person is the applicant."),
    "unknown": gettext_lazy("Unknown value."),
    "invalid": gettext_lazy("The value is not valid."),
    "not a colleague": gettext_lazy("Choose a colleague of your department."),
    "unknown department": gettext_lazy("Unknown department."),
    "yourself": gettext_lazy("Choose someone other than yourself."),
    "unknown field": gettext_lazy("Unknown field."),
    "true or false": gettext_lazy("Give true or false."),
    "too many": gettext_lazy("Too many items."),
    "too early": gettext_lazy("Too early."),
    "the task's own department": gettext_lazy("Choose another department than the task's own."),
    "own department": gettext_lazy("Choose another department than your own."),
    "same person": gettext_lazy("Choose a different person."),
    "only before": gettext_lazy("A person can be named only for a signer added before."),
    "before or after": gettext_lazy("Choose before or after."),
    "not part of this case": gettext_lazy("This is not part of the application."),
    "not listed in the correction notice (一次性告知)": gettext_lazy(
        "This is not listed in the correction notice."
    ),
    "not batch": gettext_lazy("This step does not allow batch approval."),
    "mixed": gettext_lazy("Choose tasks of one step of one service."),
    "not a list": gettext_lazy("Give a list."),
    "11 digits starting with 1": gettext_lazy("Give a mobile number of 11 digits starting with 1."),
    "1 to 50": gettext_lazy("Choose 1 to 50 items."),
    "1 to 5": gettext_lazy("Choose 1 to 5."),
    "1 to 30": gettext_lazy("Give 1 to 30."),
}

CODE_MESSAGES = {
    "not_found": gettext_lazy("The page or item was not found."),
    "forbidden": gettext_lazy("You are not allowed to do this."),
    "conflict": gettext_lazy("This changed in the meantime; reload the page and try again."),
    "invalid": gettext_lazy("The input is not valid."),
    "form_invalid": gettext_lazy("The form has errors; see the messages next to the fields."),
    "file_integrity": gettext_lazy(
        "The stored file failed its integrity check and was not served; the administrators have been told."
    ),
}


def error_text(exc: GovflowError) -> str:
    return refusal_text(exc.message, exc.code)


def refusal_text(message: str, code: str) -> str:
    """A service's refusal (its message and code) in the active language: a
    sentence this module knows for it, else the engine's own message (an
    IllegalEvent passed on by a service keeps its template), else a plain
    sentence for its code."""
    for pattern, text in KNOWN_MESSAGES:
        if pattern.search(message):
            return str(text)
    if isinstance(message, Message):
        return engine_text(message)
    return str(CODE_MESSAGES.get(code, _("The request could not be completed.")))


def field_texts(messages: Iterable[str]) -> list[str]:
    """Field messages: engine messages arrive translated already; the few
    short service words are translated here."""
    out = []
    for message in messages:
        known = FIELD_MESSAGES.get(message)
        if isinstance(message, Message):
            out.append(engine_text(message))
        elif known is None and message.startswith("at most ") and message.endswith(" characters"):
            out.append(_("At most %(count)s characters.") % {"count": message[8:-11]})
        else:
            out.append(str(known) if known is not None else message)
    return out


def fields_of(exc: GovflowError) -> dict[str, list[str]]:
    fields: Mapping[str, Iterable[str]] = exc.fields or {}
    return {path: field_texts(messages) for path, messages in fields.items()}


# The engine names a node by its kind, the YAML word ("parallel gateway",
# "a wait node"); a Chinese message says the kind in Chinese (并行网关, 等待节点).
NODE_KINDS = {
    "start": pgettext_lazy("node kind", "start"),
    "end": pgettext_lazy("node kind", "end"),
    "user_task": pgettext_lazy("node kind", "user_task"),
    "service_task": pgettext_lazy("node kind", "service_task"),
    "applicant_task": pgettext_lazy("node kind", "applicant_task"),
    "correction": pgettext_lazy("node kind", "correction"),
    "acceptance": pgettext_lazy("node kind", "acceptance"),
    "fee": pgettext_lazy("node kind", "fee"),
    "publicity": pgettext_lazy("node kind", "publicity"),
    "wait": pgettext_lazy("node kind", "wait"),
    "signal": pgettext_lazy("node kind", "signal"),
    "call": pgettext_lazy("node kind", "call"),
    "bundle": pgettext_lazy("node kind", "bundle"),
    "exclusive": pgettext_lazy("node kind", "exclusive"),
    "parallel": pgettext_lazy("node kind", "parallel"),
    "inclusive": pgettext_lazy("node kind", "inclusive"),
}
# A value is a node's kind where the template says so: "{kind} gateway", "a {type} node".
_KIND_FIELD = re.compile(r"\{(\w+)\} (?:gateway|node|split|join|task|deadline)\b")


def _kind_names(template: str, values: dict) -> dict:
    for name in _KIND_FIELD.findall(template):
        value = values.get(name)
        if type(value) is str and value in NODE_KINDS:
            values[name] = str(NODE_KINDS[value])
    return values


def engine_text(message: str) -> str:
    """An engine message (a template's problems) in the active language.
    The engine writes English and keeps, for each message, its template and
    values (govflow.engine.problems.Message): the template is the catalogue's
    key, and each value that is a Message too is translated first. A plain
    message is looked up whole; one the catalogue lacks stays as written."""
    if isinstance(message, Message):
        values = {k: engine_text(v) if isinstance(v, Message) else v for k, v in message.params.items()}
        values = _kind_names(message.template, values)
        translated = _(message.template) if message.template else ""
        try:
            return translated.format(**values) if values else translated
        except (KeyError, IndexError, ValueError):  # a translation that lost a field: say it in English
            return str(message)
    return _(message) if message else message


def translated_problems(problems: Iterable[Problem]) -> list[Problem]:
    """The problems in the active language, each at the same line and column."""
    return [Problem(p.line, p.col, engine_text(p.message)) for p in problems]
