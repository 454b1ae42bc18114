"""Publishing templates and reading their definitions."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from govflow.accounts.models import Department
from govflow.audit.actions import Action
from govflow.audit.services import PendingAudit, audit_write
from govflow.engine import Definition, InvalidDefinition, load_definition
from govflow.engine.loader import SLUG_RE
from govflow.errors import InvalidInput
from govflow.messages import translated_problems

from .designer.skeleton import skeleton
from .handlers import handler_names
from .models import ProcessDraft, ProcessTemplate, ProcessVersion
from .placeholders import placeholder_problems

_cache: dict[tuple[int, str], Definition] = {}
_cache_lock = threading.Lock()


def known_departments() -> frozenset[str]:
    return frozenset(Department.objects.filter(is_active=True).values_list("code", flat=True))


def fixture_departments() -> frozenset[str]:
    """Department codes from fixtures/departments.yaml, for validating
    templates without a database (validate_process, simulate_process)."""
    path = Path(settings.GOVFLOW_FIXTURES_DIR) / "departments.yaml"
    data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    return frozenset(entry["code"] for entry in data["departments"])


def definition_check(source: str | bytes, *, departments: frozenset[str] | None = None) -> Definition:
    """Validate against the departments in the database (or the given set)
    and the registered handlers, and refuse placeholder text in legal texts
    (govflow.processes.placeholders); raises InvalidDefinition."""
    definition = load_definition(
        source,
        departments=known_departments() if departments is None else departments,
        handlers=handler_names(),
    )
    placeholders = placeholder_problems(source)
    if placeholders:
        raise InvalidDefinition(placeholders)
    return definition


def version_definition(version: ProcessVersion) -> Definition:
    """The parsed definition of a published version, cached per process
    (versions never change, so the cache never goes stale)."""
    key = (version.pk, version.source_sha256)
    definition = _cache.get(key)
    if definition is None:
        definition = load_definition(version.source, handlers=handler_names())
        with _cache_lock:
            _cache[key] = definition
    return definition


def version_definitions(version_ids, fingerprints: Mapping[int, str] | None = None) -> dict[int, Definition]:
    """Parsed definitions of the given versions by id. Reads each version's
    fingerprint only (none when the caller read them with its rows:
    `fingerprints`, version id -> source_sha256); a version's source
    (several KB of YAML) is read just for those not parsed yet in this
    process."""
    ids = set(version_ids)
    if not ids:
        return {}
    if fingerprints is not None and ids <= fingerprints.keys():
        keys = {pk: fingerprints[pk] for pk in ids}
    else:
        keys = dict(ProcessVersion.objects.filter(pk__in=ids).values_list("pk", "source_sha256"))
    found = {pk: _cache.get((pk, sha)) for pk, sha in keys.items()}
    missing = [pk for pk, definition in found.items() if definition is None]
    if missing:  # (an empty queryset costs no query, but its compilation as much as any)
        for version in ProcessVersion.objects.filter(pk__in=missing):
            found[version.pk] = version_definition(version)
    return found


def definition_validated(source: str) -> Definition:
    """definition_check, its problems as the InvalidInput the console and the
    API show (one `line:col: message` per problem under `source`)."""
    try:
        return definition_check(source)
    except InvalidDefinition as exc:
        raise InvalidInput(
            "the template does not validate",
            code="invalid_definition",
            fields={"source": [f"{p.line}:{p.col}: {p.message}" for p in translated_problems(exc.problems)]},
        ) from exc


@transaction.atomic
def process_publish(
    *, source: str, published_by=None, note: str = "", now: datetime | None = None
) -> ProcessVersion:
    """Validate and publish `source` as the next version of its template.
    Publishing the same text as the current version changes nothing.
    (The console publishes through govflow.processes.proposals, which asks
    a second administrator where the template says so.)"""
    definition = definition_validated(source)
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    template, _ = ProcessTemplate.objects.select_for_update().get_or_create(
        code=definition.id,
        defaults={"title_zh": definition.title["zh"], "title_en": definition.title["en"]},
    )
    template = ProcessTemplate.objects.select_for_update().get(pk=template.pk)
    current = template.current_version
    if current is not None and current.source_sha256 == digest:
        return current
    number = (template.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    version = ProcessVersion.objects.create(
        template=template,
        number=number,
        source=source,
        source_sha256=digest,
        published_at=now or timezone.now(),
        published_by=published_by,
        note=note,
    )
    template.title_zh = definition.title["zh"]
    template.title_en = definition.title["en"]
    template.current_version = version
    template.save(update_fields=["title_zh", "title_en", "current_version"])
    audit_write(
        [
            PendingAudit(
                action=Action.TEMPLATE_PUBLISHED,
                at=version.published_at,
                actor_id=published_by.pk if published_by else None,
                object_type="process_version",
                object_id=str(version.pk),
                data={"template": template.code, "version": number, "sha256": digest, "note": note},
            )
        ]
    )
    return version


MAX_DRAFT = 500_000


@transaction.atomic
def template_draft_save(*, code: str, source: str, actor, now: datetime | None = None):
    """Keep the designer's working text of a template (its draft). Nothing
    runs on a draft and publishing is unchanged: the text editor publishes
    it like any other text. The draft must stay the template's (same id)."""
    template = ProcessTemplate.objects.select_for_update().filter(code=code).first()
    if template is None:
        raise InvalidInput(_("There is no template %(code)s.") % {"code": code}, code="not_found")
    if len(source) > MAX_DRAFT:
        raise InvalidInput(_("The text is too long to keep as a draft."), code="too_long")
    if document_id(source) != code:
        raise InvalidInput(
            _("The draft's id must stay %(code)s; a different id is a different template.") % {"code": code},
            code="wrong_id",
        )
    now = now or timezone.now()
    draft, _created = ProcessDraft.objects.update_or_create(
        template=template,
        defaults={"source": source, "updated_at": now, "updated_by": actor},
    )
    # Who changed a template's working text, and to what, is on the audit
    # trail like a publication: the digest pins the exact text saved.
    audit_write(
        [
            PendingAudit(
                action=Action.TEMPLATE_DRAFT_SAVED,
                at=now,
                actor_id=actor.pk if actor else None,
                object_type="process_template",
                object_id=str(template.pk),
                data={
                    "template": template.code,
                    "sha256": hashlib.sha256(source.encode("utf-8")).hexdigest(),
                    "characters": len(source),
                },
            )
        ]
    )
    return draft


@transaction.atomic
def template_new(
    *, code: str, title_zh: str, title_en: str, department: str, actor, now: datetime | None = None
) -> ProcessDraft:
    """Start a new template in the designer: the template (not offered to
    applicants until a version is published) and its draft, the smallest
    valid template (start, 受理 and a review by `department`, two ends).
    The code follows the process language's rule for a template id and
    must be new."""
    code = str(code or "").strip()
    if not SLUG_RE.match(code):
        raise InvalidInput(
            _(
                "A template code starts with a lowercase letter, then lowercase letters, digits, "
                "'_' or '-', at most 64 characters."
            ),
            code="bad_code",
        )
    titles = {"zh": " ".join(str(title_zh or "").split()), "en": " ".join(str(title_en or "").split())}
    if not titles["zh"] or not titles["en"] or max(len(t) for t in titles.values()) > 200:
        raise InvalidInput(_("A title is needed in both languages (at most 200 characters)."), code="title")
    if department not in known_departments():
        raise InvalidInput(_("Choose a department."), code="department")
    if ProcessTemplate.objects.select_for_update().filter(code=code).exists():
        raise InvalidInput(
            _("There is already a template %(code)s; open it in the designer.") % {"code": code},
            code="exists",
        )
    ProcessTemplate.objects.create(code=code, title_zh=titles["zh"], title_en=titles["en"])
    source = skeleton(code=code, title_zh=titles["zh"], title_en=titles["en"], department=department)
    return template_draft_save(code=code, source=source, actor=actor, now=now)


@transaction.atomic
def template_import_draft(*, source: str, actor, now: datetime | None = None) -> ProcessDraft:
    """An imported text (a BPMN model through the importer) kept as its
    template's draft, so that the designer opens it: a new template (its
    titles from the text, offered to no one until a version is published)
    or one that exists and has no draft. A draft is never overwritten."""
    code = document_id(source) or ""
    if not SLUG_RE.match(code):
        raise InvalidInput(_("The imported text has no template id."), code="bad_code")
    template = ProcessTemplate.objects.select_for_update().filter(code=code).first()
    if template is None:
        try:
            document = YAML(typ="safe", pure=True).load(source)
        except (YAMLError, ValueError):  # a title the text lacks is the code
            document = None
        title = document.get("title") if isinstance(document, dict) else None
        title = title if isinstance(title, dict) else {}
        ProcessTemplate.objects.create(
            code=code,
            title_zh=" ".join(str(title.get("zh") or code).split())[:200],
            title_en=" ".join(str(title.get("en") or code).split())[:200],
        )
    elif ProcessDraft.objects.filter(template=template).exists():
        raise InvalidInput(
            _(
                "Template %(code)s already has a draft in the designer, which an import does not "
                "overwrite: open the model in the text editor instead."
            )
            % {"code": code},
            code="draft_exists",
        )
    return template_draft_save(code=code, source=source, actor=actor, now=now)


def document_id(source: str) -> str | None:
    """The template's top-level id, read off its line (no YAML is built)."""
    found = re.search(r"""^id:[ \t]*['"]?([A-Za-z0-9_-]+)['"]?[ \t]*(?:#.*)?$""", source, re.M)
    return found[1] if found else None
