"""Read-side queries for the web that are not about cases: the service
catalogue, the admin console's templates and versions, and the user's roles.
Case, task and attachment queries live in govflow.cases.selectors."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from govflow.engine import Problem, check_definition
from govflow.engine.definition import Definition, Duration
from govflow.engine.forms import AttachmentSpec
from govflow.errors import NotFound
from govflow.processes.handlers import handler_names
from govflow.processes.models import ProcessTemplate, ProcessVersion
from govflow.processes.placeholders import placeholder_problems
from govflow.processes.services import known_departments, version_definition

# -- the service catalogue -----------------------------------------------------


@dataclass(frozen=True)
class ServiceEntry:
    code: str
    title: str
    description: str
    time_limit: Duration | None
    legal_basis: str
    documents: tuple[AttachmentSpec, ...]
    definition: Definition
    version_number: int

    @property
    def time_limit_text_days(self) -> float | None:
        return self.time_limit.working_days if self.time_limit else None


# YAML folds a long Chinese text into lines joined by spaces; no space
# belongs between two CJK characters or punctuation marks.
_CJK_GAP = re.compile(
    r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])\s+(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])"
)


def tidy_cjk(text: str) -> str:
    return _CJK_GAP.sub("", text or "")


def _entry(template: ProcessTemplate, lang: str) -> ServiceEntry:
    version = template.current_version
    definition = version_definition(version)
    description = definition.description or {}
    return ServiceEntry(
        code=template.code,
        title=template.title(lang),
        description=tidy_cjk(description.get(lang) or description.get("zh") or ""),
        time_limit=definition.time_limit,
        legal_basis=tidy_cjk(definition.legal_basis or ""),
        documents=definition.form.attachments,
        definition=definition,
        version_number=version.number,
    )


def services_catalogue(*, language: str = "zh") -> list[ServiceEntry]:
    """The services an applicant can apply for (active, with a published version)."""
    lang = "en" if language.startswith("en") else "zh"
    templates = ProcessTemplate.objects.filter(is_active=True, current_version__isnull=False).select_related(
        "current_version"
    )
    return [_entry(t, lang) for t in templates.order_by("code")]


def service_get(*, code: str, language: str = "zh") -> ServiceEntry:
    lang = "en" if language.startswith("en") else "zh"
    template = (
        ProcessTemplate.objects.filter(code=code, is_active=True, current_version__isnull=False)
        .select_related("current_version")
        .first()
    )
    if template is None:
        raise NotFound("service not found")
    return _entry(template, lang)


# -- admin console ---------------------------------------------------------------


def templates_for_admin() -> QuerySet[ProcessTemplate]:
    versions = ProcessVersion.objects.select_related("published_by").defer("source").order_by("-number")
    return (
        ProcessTemplate.objects.select_related("current_version")
        .defer("current_version__source")
        .prefetch_related(Prefetch("versions", queryset=versions))
        .order_by("code")
    )


def template_get_for_admin(*, code: str) -> ProcessTemplate:
    template = templates_for_admin().filter(code=code).first()
    if template is None:
        raise NotFound("template not found")
    return template


def version_get_for_admin(*, code: str, number: int) -> ProcessVersion:
    version = (
        ProcessVersion.objects.select_related("template", "published_by")
        .filter(template__code=code, number=number)
        .first()
    )
    if version is None:
        raise NotFound("version not found")
    return version


def template_check(source: str) -> tuple[Definition | None, list[Problem]]:
    """Validate YAML text exactly as publishing would (departments in the
    database, registered handlers, no placeholders in legal texts); every
    problem has a line and column."""
    definition, problems = _checked(source, known_departments(), handler_names())
    return definition, list(problems)


@functools.lru_cache(maxsize=16)
def _checked(
    source: str, departments: frozenset[str], handlers: frozenset[str]
) -> tuple[Definition | None, tuple[Problem, ...]]:
    """The check is a function of the text, the active departments and the
    handlers, all in the key, so a remembered answer is never stale: the
    designer checks the text of the page it shows, then that text again
    before and the new one after each change (half a second each for the
    construction permit), and the editor checks a text before publishing it.
    Definitions and problems are frozen."""
    definition, problems = check_definition(source, departments=departments, handlers=handlers)
    if definition is not None and (placeholders := placeholder_problems(source)):
        return None, tuple(placeholders)
    return definition, tuple(problems)


_PROBLEM_TEXT = re.compile(r"^(\d+):(\d+): (.*)$", re.S)


def problems_from_messages(messages: list[str]) -> list[Problem]:
    """Problems back from process_publish's 'LINE:COL: message' strings."""
    problems = []
    for text in messages:
        match = _PROBLEM_TEXT.match(text)
        if match:
            problems.append(Problem(int(match[1]), int(match[2]), match[3]))
        else:
            problems.append(Problem(1, 1, text))
    return problems
