"""The applicant's uploaded materials: adding, removing, and the check that
every required document is there before a case is submitted.

A file is accepted when the type python-magic finds in its bytes (never the
name or the browser's word for it) is one the template allows for the slot,
the name's extension and the type the client declared agree with it, its
content passes govflow.security.uploads (parsed: PDFs, images and Office
files opened with real parsers), it is within the slot's size limit and the
slot's and the case's count limits, and the case is still with the
applicant (a draft, or awaiting a correction). The stored name is random;
the original name is kept, made safe, for display and download, and always
ends in an extension of the detected type (one is added to a name without
any). Every add and removal is audited with the file's SHA-256.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from datetime import datetime
from functools import cache

import magic
from django.conf import settings
from django.core.files.base import File
from django.db import connection, transaction
from django.utils import timezone

from govflow.audit.services import PendingAudit, audit_write
from govflow.engine.forms import AttachmentSpec, FieldError, validate_form_data
from govflow.errors import Conflict, FormInvalid, NotFound
from govflow.processes.services import version_definition
from govflow.rawsql import insert_returning, kept
from govflow.security.uploads import content_problem

from . import rows
from .corrections import refuse_material_outside_notice
from .models import Attachment, Case, CaseStatus
from .services import case_submit

SNIFF_BYTES = 64 * 1024
MAX_NAME = 120
EDITABLE_STATUSES = (CaseStatus.DRAFT, CaseStatus.AWAITING_CORRECTION)

# Names libmagic and templates use for the same format.
TYPE_ALIASES = {
    "application/dwg": "image/vnd.dwg",
    "application/x-dwg": "image/vnd.dwg",
    "application/acad": "image/vnd.dwg",
    "image/x-dwg": "image/vnd.dwg",
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/x-pdf": "application/pdf",
    "application/acrobat": "application/pdf",
    "applications/vnd.pdf": "application/pdf",
    "text/pdf": "application/pdf",
    "text/x-pdf": "application/pdf",
    "image/x-png": "image/png",
    "image/tif": "image/tiff",
    "image/x-tiff": "image/tiff",
    "application/x-acad": "image/vnd.dwg",
    "application/autocad_dwg": "image/vnd.dwg",
    "drawing/dwg": "image/vnd.dwg",
    "application/doc": "application/msword",
    "application/vnd.ms-word": "application/msword",
    "application/excel": "application/vnd.ms-excel",
    "application/x-excel": "application/vnd.ms-excel",
    "application/x-msexcel": "application/vnd.ms-excel",
}
# What a client may declare when it does not know the type: no claim at all.
UNDECLARED_TYPES = frozenset(
    {
        "",
        "application/octet-stream",
        "binary/octet-stream",
        "application/binary",
        "application/unknown",
        "application/x-download",
        "application/download",
        "application/force-download",
    }
)
# Declared types that agree with a sniffed type besides its own (systems
# without Office call a .docx a ZIP).
ALSO_DECLARED = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {
        "application/zip",
        "application/x-zip-compressed",
    },
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "application/zip",
        "application/x-zip-compressed",
    },
}
TYPE_NAMES = {
    "application/pdf": "PDF",
    "text/plain": "TXT",
    "application/zip": "ZIP",
    "application/x-empty": "empty",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/vnd.dwg": "DWG",
    "application/msword": "Word (.doc)",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word (.docx)",
    "application/vnd.ms-excel": "Excel (.xls)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel (.xlsx)",
}
# The extensions a file of each type may have; the first is added to a name without one.
TYPE_EXTENSIONS = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "image/png": (".png",),
    "image/tiff": (".tif", ".tiff"),
    "image/vnd.dwg": (".dwg",),
    "application/msword": (".doc",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.ms-excel": (".xls",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "application/ofd": (".ofd",),
    "text/plain": (".txt",),
}
EXTENSIONS = {content_type: extensions[0] for content_type, extensions in TYPE_EXTENSIONS.items()}
# A name's extension: a last dot and 1 to 10 letters or digits, at least one a letter.
_EXTENSION = re.compile(r"\.(?=[0-9]*[A-Za-z])[A-Za-z0-9]{1,10}$")
# Controls, bidi overrides and characters that mean something in paths or headers.
_UNSAFE_NAME = re.compile('[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069<>:"/\\\\|?*;]')


def normalise_type(content_type: str) -> str:
    content_type = (content_type or "").split(";")[0].strip().lower()
    return TYPE_ALIASES.get(content_type, content_type)


def type_name(content_type: str) -> str:
    content_type = normalise_type(content_type)
    return TYPE_NAMES.get(content_type, content_type or "?")


def safe_name(name: str) -> str:
    """The original file name as safe text: no path, no controls or bidi
    tricks, no characters that break headers, at most MAX_NAME characters."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("_", name).strip(" .")
    if not name:
        return "file"
    if len(name) > MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:10] if dot and stem else ""
        name = name[: MAX_NAME - len(ext) - 1] + "." + ext if ext else name[:MAX_NAME]
    return name


def extension(name: str) -> str:
    """The name's extension in lower case with its dot, or ""."""
    found = _EXTENSION.search(name)
    return found.group(0).lower() if found else ""


def served_name(name: str, content_type: str) -> str:
    """`name` as it is stored and served: with an extension of the detected
    type (a name without one gets the type's usual one; a stored name with
    another, from before the check, gets it appended)."""
    extensions = TYPE_EXTENSIONS.get(normalise_type(content_type))
    if not extensions or extension(name) in extensions:
        return name
    return safe_name(name[: MAX_NAME - len(extensions[0])] + extensions[0])


def type_disagreement(slot: str, name: str, content_type: str, declared: str) -> FieldError | None:
    """A problem when the name's extension or the client's declared type
    says another type than the bytes do."""
    actual = type_name(content_type)
    extensions = TYPE_EXTENSIONS.get(content_type, ())
    given = extension(name)
    if given and extensions and given not in extensions:
        return _problem(
            slot,
            "type",
            f"文件“{name}”的扩展名 {given} 与其实际类型 {actual} 不符，已拒绝。"
            f"如文件无误，请将扩展名改为 {extensions[0]} 后重新上传。",
            f"The file “{name}” is named {given} but is actually {actual}; it was refused. "
            f"If the file is right, rename it to {extensions[0]} and upload it again.",
        )
    declared = normalise_type(declared)
    agreeing = {content_type, *UNDECLARED_TYPES, *ALSO_DECLARED.get(content_type, ())}
    if declared not in agreeing:
        shown = re.sub(r"[^a-z0-9.+/_-]", "_", declared)[:80]
        return _problem(
            slot,
            "type",
            f"文件“{name}”上传时声明的类型 {shown} 与其实际类型 {actual} 不符，已拒绝。",
            f"The file “{name}” was sent as {shown} but is actually {actual}; it was refused.",
        )
    return None


def _problem(slot: str, code: str, zh: str, en: str) -> FieldError:
    return FieldError(slot, code, {"zh": zh, "en": en})


def _slot(case: Case, slot: str) -> AttachmentSpec:
    for spec in version_definition(case.version).form.attachments:
        if spec.id == slot:
            return spec
    raise NotFound("attachment slot not found")


def _lock_editable(case_id: int, actor, *, supplying: bool = False) -> Case:
    # The hot path's lock (govflow.cases.rows): the version comes with the key
    # its definition is cached by, not with its whole YAML source.
    case = rows.lock_case(case_id)
    if case is None or case.applicant_id != actor.pk:
        raise NotFound("case not found")
    if supplying:
        # A material deferred under 容缺 follows while the case runs
        # (govflow.commitments.services.material_supply checks the slot).
        if not case.is_open:
            raise Conflict("this case has ended; materials can no longer be supplied")
    elif case.status not in EDITABLE_STATUSES:
        raise Conflict("materials can be changed only on a draft or when a correction is asked for")
    return case


@cache
def _counts_sql() -> str:
    quote = connection.ops.quote_name
    return (
        f"SELECT count(*), count(*) FILTER (WHERE {quote('slot')} = %s) "
        f"FROM {quote(Attachment._meta.db_table)} WHERE {quote('case_id')} = %s"
    )


def _counts(case_id: int, slot: str) -> tuple[int, int]:
    """(files in the case, files in the slot), read under the case's lock."""
    with kept(1) as cur:
        cur.execute(_counts_sql(), [slot, case_id])
        in_case, in_slot = cur.fetchone()
    return in_case, in_slot


def sniff(upload) -> str:
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    return normalise_type(magic.from_buffer(head, mime=True)) if head else ""


@transaction.atomic
def attachment_add(
    *,
    case_id: int,
    actor,
    slot: str,
    upload,
    language: str = "zh",
    now: datetime | None = None,
    supplying: bool = False,
) -> Attachment:
    """Store one uploaded file in a slot of the applicant's case. Raises
    FormInvalid (keyed by the slot id) with a message in `language` when the
    file is refused; nothing is stored then. `supplying`: a material
    deferred under 容缺, into a running case (its caller checks the slot)."""
    now = now or timezone.now()
    case = _lock_editable(case_id, actor, supplying=supplying)
    spec = _slot(case, slot)
    if case.status == CaseStatus.AWAITING_CORRECTION:
        refuse_material_outside_notice(case, slot)
    allowed = [normalise_type(t) for t in spec.types]
    allowed_names = "、".join(dict.fromkeys(type_name(t) for t in allowed))
    allowed_names_en = ", ".join(dict.fromkeys(type_name(t) for t in allowed))
    name = safe_name(getattr(upload, "name", ""))
    size = int(getattr(upload, "size", 0) or 0)
    limit = int(spec.max_size_mb * 1024 * 1024)
    problem = None
    if size == 0:
        problem = _problem(slot, "empty", f"文件“{name}”是空的，请重新选择。", f"The file “{name}” is empty.")
    elif size > limit:
        problem = _problem(
            slot,
            "too_large",
            f"文件“{name}”大小为 {size / 1048576:.1f} MB，超过了 {spec.max_size_mb:g} MB 的上限。",
            f"The file “{name}” is {size / 1048576:.1f} MB; the limit is {spec.max_size_mb:g} MB.",
        )
    else:
        in_case, in_slot = _counts(case.pk, slot)
        if in_slot >= spec.max_count:
            problem = _problem(
                slot,
                "too_many",
                f"此项最多上传 {spec.max_count} 个文件，请先删除不需要的文件。",
                f"At most {spec.max_count} file(s) can be uploaded here; remove one first.",
            )
        elif in_case >= settings.GOVFLOW_MAX_ATTACHMENTS_PER_CASE:
            problem = _problem(
                slot,
                "too_many",
                f"一件申请最多上传 {settings.GOVFLOW_MAX_ATTACHMENTS_PER_CASE} 个文件。",
                f"A case can hold at most {settings.GOVFLOW_MAX_ATTACHMENTS_PER_CASE} files.",
            )
    content_type = ""
    if problem is None:
        content_type = sniff(upload)
        if content_type not in allowed:
            problem = _problem(
                slot,
                "type",
                f"文件“{name}”的实际类型是 {type_name(content_type)}，此项只接受 {allowed_names}。"
                "请检查文件是否损坏或被改了扩展名。",
                f"The file “{name}” is actually {type_name(content_type)}; this item accepts only "
                f"{allowed_names_en}. Check that the file is not damaged or renamed.",
            )
        else:
            problem = type_disagreement(slot, name, content_type, getattr(upload, "content_type", "") or "")
            if problem is None:
                unsafe = content_problem(upload, content_type, name)
                if unsafe is not None:
                    problem = _problem(slot, *unsafe)
    if problem is not None:
        raise FormInvalid([problem], language=language)
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(65536), b""):
        digest.update(chunk)
    upload.seek(0)
    attachment = Attachment(
        case=case,
        slot=slot,
        original_name=served_name(name, content_type),
        content_type=content_type,
        size=size,
        sha256=digest.hexdigest(),
        uploaded_by=actor,
    )
    attachment.file.save(f"{uuid.uuid4().hex}{EXTENSIONS.get(content_type, '')}", File(upload), save=False)
    try:
        # The ORM's save() built its INSERT anew each time; the same row with
        # the statement built once per process.
        insert_returning([attachment])()
    except Exception:
        attachment.file.delete(save=False)
        raise
    audit_write(
        [
            PendingAudit(
                action="ATTACHMENT_ADDED",
                at=now,
                actor_id=actor.pk,
                object_type="attachment",
                object_id=str(attachment.pk),
                case_id=case.pk,
                data={"slot": slot, "sha256": attachment.sha256, "size": size, "content_type": content_type},
            )
        ]
    )
    return attachment


@transaction.atomic
def attachment_remove(
    *, case_id: int, actor, attachment_id: int, now: datetime | None = None, supplying: bool = False
) -> None:
    """Remove one of the applicant's files. `supplying`: from a running case
    (its caller checks the file may go, as for an applicant step's document)."""
    now = now or timezone.now()
    case = _lock_editable(case_id, actor, supplying=supplying)
    attachment = Attachment.objects.filter(pk=attachment_id, case=case).first()
    if attachment is None:
        raise NotFound("attachment not found")
    if case.status == CaseStatus.AWAITING_CORRECTION:
        refuse_material_outside_notice(case, attachment.slot)
    stored = attachment.file
    data = {"slot": attachment.slot, "sha256": attachment.sha256}
    attachment.delete()
    audit_write(
        [
            PendingAudit(
                action="ATTACHMENT_REMOVED",
                at=now,
                actor_id=actor.pk,
                object_type="attachment",
                object_id=str(attachment_id),
                case_id=case.pk,
                data=data,
            )
        ]
    )
    transaction.on_commit(lambda: stored.delete(save=False))


def submission_problems(
    case: Case, *, language: str = "zh", now: datetime | None = None
) -> FormInvalid | None:
    """Everything that stops the draft from being submitted, at once: form
    errors and missing required documents (None when there are none)."""
    checked = validate_form_data(
        version_definition(case.version).form, case.data, today=timezone.localdate(now or timezone.now())
    )
    problems = [*checked.errors, *missing_attachments(case)]
    return FormInvalid(problems, language=language) if problems else None


def missing_attachments(case: Case) -> list[FieldError]:
    """A 'required' problem for each required slot with no file."""
    present = set(Attachment.objects.filter(case=case).values_list("slot", flat=True))
    return [
        _problem(spec.id, "required", "请上传此项材料。", "Upload this document.")
        for spec in version_definition(case.version).form.attachments
        if spec.required and spec.id not in present
    ]


@transaction.atomic
def case_submit_with_attachments(
    *, case_id: int, actor, language: str = "zh", now: datetime | None = None
) -> Case:
    """Submit a draft once every required document is uploaded. Reports the
    missing documents together with any form errors (FormInvalid), so the
    applicant sees every problem at once; nothing changes then."""
    case = _lock_editable(case_id, actor)
    if case.status != CaseStatus.DRAFT:
        raise Conflict(f"this case has already been submitted (it is {case.status})")
    if missing_attachments(case):
        problems = submission_problems(case, language=language, now=now)
        assert problems is not None
        raise problems
    return case_submit(case_id=case_id, actor=actor, now=now, language=language)
