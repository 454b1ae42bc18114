"""Shapes of the API's requests and answers. Serializers here only check
input types and lay out what selectors return; no rule of the domain lives
in them (the services and the engine's form validation decide)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from govflow.api.fields import BodySerializer, IdField, SlugTextField, TextField
from govflow.cases.bundles import BUNDLE_OUTCOMES, ITEM_STATUSES
from govflow.cases.models import CaseStatus, TaskKind, TaskStatus
from govflow.cases.selectors import INBOX_DUE, INBOX_STATUSES
from govflow.converters import MAX_ID
from govflow.engine.definition import TASK_OUTCOMES
from govflow.engine.kinds.acceptance import ACCEPTANCE_OUTCOMES
from govflow.engine.notices import MAX_ITEMS, MAX_REASON, NOTICE_KINDS

MAX_OPINION = 4000


# -- shared pieces ----------------------------------------------------------------


class LabelSerializer(serializers.Serializer):
    zh = TextField()
    en = TextField(required=False)

    def to_representation(self, instance):
        return {"zh": instance.get("zh", ""), "en": instance.get("en") or instance.get("zh", "")}


@extend_schema_field(OpenApiTypes.ANY)
class LimitField(serializers.Field):
    """A form limit: a number (decimals as exact text), a date, or a
    relative date such as "today-18y"."""

    def to_representation(self, value: Any) -> Any:
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, date):
            return value.isoformat()
        return value


class SlaSerializer(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=["green", "amber", "red", "paused", "done", "closed", "none"],
        help_text="green, amber (past the reminder point), red (overdue), paused (with the "
        "applicant), done (decided; see late), closed (cancelled), none (no limit)",
    )
    due_at = serializers.DateTimeField(allow_null=True)
    days = serializers.FloatField(
        allow_null=True, help_text="working days left, or overdue by when red; null when unknown"
    )
    late = serializers.BooleanField(help_text="decided after the due date")
    provisional = serializers.BooleanField(
        help_text="due_at was counted Monday to Friday over a year whose holiday calendar is not "
        "loaded yet; it is recomputed when the year is loaded (shown as 预计 / provisional)"
    )


# -- services -----------------------------------------------------------------------


class ChoiceSpecSerializer(serializers.Serializer):
    value = TextField()
    label = LabelSerializer()


class ColumnSpecSerializer(serializers.Serializer):
    id = TextField()
    type = TextField()
    label = LabelSerializer()
    help = LabelSerializer(allow_null=True)
    required = serializers.BooleanField()
    sensitivity = serializers.ChoiceField(choices=["public", "internal", "secret"])
    min = LimitField(allow_null=True)
    max = LimitField(allow_null=True)
    min_length = serializers.IntegerField(allow_null=True)
    max_length = serializers.IntegerField(allow_null=True)
    pattern = TextField(allow_null=True)
    decimals = serializers.IntegerField(allow_null=True)
    choices = ChoiceSpecSerializer(many=True)


class FieldSpecSerializer(ColumnSpecSerializer):
    min_rows = serializers.IntegerField(allow_null=True)
    max_rows = serializers.IntegerField(allow_null=True)
    columns = ColumnSpecSerializer(many=True, help_text="the columns of a table field (type table)")


class DocumentSpecSerializer(serializers.Serializer):
    id = TextField(help_text="the slot to upload into")
    label = LabelSerializer()
    types = serializers.ListField(child=TextField(), help_text="accepted MIME types")
    max_size_mb = serializers.FloatField()
    max_count = serializers.IntegerField()
    required = serializers.BooleanField()


class FormSchemaSerializer(serializers.Serializer):
    fields = FieldSpecSerializer(many=True)
    attachments = DocumentSpecSerializer(many=True)


class TimeLimitSerializer(serializers.Serializer):
    days = serializers.IntegerField(allow_null=True)
    hours = serializers.FloatField(allow_null=True)
    calendar_days = serializers.IntegerField(allow_null=True)
    working_days = serializers.FloatField()

    def to_representation(self, instance):
        return {
            "days": instance.days,
            "hours": instance.hours,
            "calendar_days": instance.calendar_days,
            "working_days": instance.working_days,
        }


class ServiceSerializer(serializers.Serializer):
    code = TextField()
    title = TextField()
    description = TextField()
    time_limit = TimeLimitSerializer(allow_null=True)
    legal_basis = TextField()
    version = serializers.IntegerField(source="version_number", help_text="the current published version")
    documents = DocumentSpecSerializer(many=True, help_text="the materials an application uploads")


class ServiceDetailSerializer(ServiceSerializer):
    form = FormSchemaSerializer(source="definition.form")


class VersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    published_at = serializers.DateTimeField()
    sha256 = TextField(source="source_sha256")
    note = TextField()
    is_current = serializers.SerializerMethodField()

    def get_is_current(self, version) -> bool:
        return version.pk == self.context.get("current_version_id")


class VersionDetailSerializer(VersionSerializer):
    form = serializers.SerializerMethodField()

    @extend_schema_field(FormSchemaSerializer)
    def get_form(self, version) -> dict:
        return FormSchemaSerializer(self.context["definitions"][version.pk].form).data


# -- cases --------------------------------------------------------------------------


class CaseSerializer(serializers.Serializer):
    reference = TextField()
    service = TextField(source="template.code")
    service_title = serializers.SerializerMethodField()
    title = TextField()
    status = serializers.ChoiceField(choices=CaseStatus.choices)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    accepted_at = serializers.DateTimeField(allow_null=True, help_text="受理: when the case was accepted")
    completed_at = serializers.DateTimeField(allow_null=True)
    url = serializers.SerializerMethodField()

    def get_service_title(self, case) -> str:
        return case.template.title(self.context.get("lang", "zh"))

    def get_url(self, case) -> str:
        return _absolute(self.context, reverse("api:case", kwargs={"reference": case.reference}))


class CellSerializer(serializers.Serializer):
    text = TextField()
    masked = serializers.BooleanField()


class FieldViewSerializer(serializers.Serializer):
    id = TextField()
    type = TextField()
    sensitivity = serializers.ChoiceField(choices=["public", "internal", "secret"])
    label = TextField()
    text = TextField(help_text="the value as the web shows it; masked when not cleared")
    masked = serializers.BooleanField()
    columns = serializers.ListField(child=TextField(), help_text="column labels of a table")
    rows = serializers.ListField(child=CellSerializer(many=True), help_text="rows of a table")


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="attachment.pk")
    slot = TextField(source="attachment.slot")
    slot_label = TextField()
    name = TextField(source="attachment.original_name")
    content_type = TextField(source="attachment.content_type")
    size = serializers.IntegerField(source="attachment.size")
    sha256 = TextField(source="attachment.sha256")
    uploaded_at = serializers.DateTimeField(source="attachment.uploaded_at")
    download = serializers.SerializerMethodField()

    def get_download(self, row) -> str:
        attachment = row.attachment
        return _absolute(
            self.context,
            reverse(
                "api:attachment-content",
                kwargs={"reference": attachment.case.reference, "pk": attachment.pk},
            ),
        )


class ProgressSerializer(serializers.Serializer):
    task = serializers.IntegerField(
        source="task.pk", allow_null=True, help_text="the task id (reviewers only; null for the applicant)"
    )
    node = TextField(source="task.node_id")
    node_title = TextField()
    kind = serializers.ChoiceField(source="task.kind", choices=TaskKind.choices)
    round = serializers.IntegerField(source="task.round")
    department = TextField(source="task.department.code", allow_null=True)
    department_name = TextField()
    status = serializers.ChoiceField(source="task.status", choices=TaskStatus.choices)
    holder = TextField(allow_null=True, help_text="who holds the task (reviewers only)")
    decided_by = TextField(allow_null=True, help_text="who decided (reviewers only)")
    outcome = TextField()
    opinion = TextField()
    sla = SlaSerializer()
    created_at = serializers.DateTimeField(source="task.created_at")
    completed_at = serializers.DateTimeField(source="task.completed_at", allow_null=True)

    def to_representation(self, row):
        data = super().to_representation(row)
        if self.context.get("role") != "reviewer":
            data["task"] = data["holder"] = data["decided_by"] = None
        return data


class NoticeItemViewSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=NOTICE_KINDS, help_text="field (a form field) or material")
    id = TextField(help_text="the form field's or the material's (attachment slot's) id")
    label = TextField()
    reason = TextField()


class ItemCertificateSerializer(serializers.Serializer):
    number = TextField()
    type = TextField()
    title = TextField(source="title_zh")
    status = TextField()


class ItemLineSerializer(serializers.Serializer):
    item = TextField(help_text="the item's id (its sub-process)")
    title = TextField()
    department = TextField()
    department_name = TextField()
    status = serializers.ChoiceField(
        choices=ITEM_STATUSES,
        help_text="waiting (for an earlier item), running, approved, rejected, withdrawn, not_started "
        "(an earlier item was not approved), not_applicable (its condition does not hold), cancelled "
        "(the case ended while it was open)",
    )
    status_label = TextField()
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    after = serializers.ListField(child=TextField(), help_text="the items it starts after")
    certificates = ItemCertificateSerializer(many=True, help_text="what the item issued (valid or revoked)")


class BundleSerializer(serializers.Serializer):
    node = TextField()
    title = TextField()
    lead = TextField(help_text="the lead department (牵头部门)")
    lead_name = TextField()
    outcome = serializers.ChoiceField(
        choices=BUNDLE_OUTCOMES, allow_null=True, help_text="null while an item is still open"
    )
    outcome_label = TextField()
    items = ItemLineSerializer(many=True)


class CorrectionSerializer(serializers.Serializer):
    node_title = TextField()
    opinion = TextField()
    department_name = TextField()
    deadline = serializers.DateTimeField(allow_null=True)
    deadline_provisional = serializers.BooleanField(
        help_text="the deadline is provisional (see SLA.provisional); no deemed withdrawal before "
        "it is recomputed on the loaded calendar"
    )
    notice = NoticeItemViewSerializer(
        many=True,
        help_text="一次性告知: exactly what must be corrected, each with its reason; only these fields "
        "and materials may change (empty: the request listed nothing, the whole form is open)",
    )


class ChangeSerializer(serializers.Serializer):
    field = TextField()
    label = TextField()
    before = TextField(help_text="as the viewer may see it (secret values masked unless cleared)")
    after = TextField()
    masked = serializers.BooleanField()


class CaseLimitSerializer(SlaSerializer):
    limit = serializers.ChoiceField(
        choices=["promise", "statutory"],
        help_text="promise: the office's promised time (承诺时限, the template's time_limit); "
        "statutory: the limit the law sets (法定时限, statutory_limit)",
    )
    title = TextField(help_text="承诺时限 / 法定时限 in the request's language")


class CaseDetailSerializer(serializers.Serializer):
    reference = TextField(source="case.reference")
    service = TextField(source="case.template.code")
    service_title = TextField()
    version = serializers.IntegerField(source="case.version.number")
    title = TextField(source="case.title")
    status = serializers.ChoiceField(source="case.status", choices=CaseStatus.choices)
    role = serializers.ChoiceField(
        choices=["owner", "reviewer"], help_text="owner: your application; reviewer: your department's"
    )
    row_version = serializers.IntegerField(
        source="case.row_version", help_text="send it back with a draft update to detect a lost update"
    )
    created_at = serializers.DateTimeField(source="case.created_at")
    updated_at = serializers.DateTimeField(source="case.updated_at")
    submitted_at = serializers.DateTimeField(source="case.submitted_at", allow_null=True)
    accepted_at = serializers.DateTimeField(
        source="case.accepted_at",
        allow_null=True,
        help_text="受理: when the application was accepted in law (the decision clock runs from it); "
        "null while the accepting department has not decided",
    )
    completed_at = serializers.DateTimeField(source="case.completed_at", allow_null=True)
    fields = FieldViewSerializer(
        source="disclosure.fields",
        many=True,
        help_text="the form data as the viewer may see it: secret fields masked unless cleared",
    )
    data = serializers.JSONField(
        allow_null=True,
        help_text="the raw form data, to the applicant only while the case is a draft or awaits a "
        "correction (as the web's form shows it); null otherwise",
    )
    problems = serializers.DictField(
        child=serializers.ListField(child=TextField()),
        allow_null=True,
        help_text="for the applicant's draft: what stops it from being submitted, by field "
        "(empty when it can be submitted); null otherwise",
    )
    attachments = AttachmentSerializer(many=True)
    progress = ProgressSerializer(many=True)
    correction = CorrectionSerializer(allow_null=True)
    changes = ChangeSerializer(
        many=True,
        help_text="for a reviewer: field by field, what the applicant's corrections changed since "
        "the department last decided on the case (empty for the applicant)",
    )
    limits = CaseLimitSerializer(
        many=True,
        help_text="the case's own limits, counted on the working-day calendar from its acceptance "
        "(受理): the promise and, when the template sets one, the statutory limit. Empty before "
        "acceptance. level green, amber (the last fifth of the limit), red (past it), paused (the "
        "case clock is stopped: with the applicant or in excluded time; due_at null, days the "
        "working days left), done (the case ended; late when after due_at)",
    )
    bundle = BundleSerializer(
        allow_null=True,
        help_text="一件事一次办: a line per item of the template's bundle, each with its department, "
        "status and certificates, and the bundle's outcome once every item has ended; null for a "
        "template without a bundle",
    )
    can_withdraw = serializers.BooleanField()
    can_correct = serializers.BooleanField()
    timeline = serializers.SerializerMethodField()

    def get_timeline(self, detail) -> str:
        return _absolute(
            self.context, reverse("api:case-timeline", kwargs={"reference": detail.case.reference})
        )


class TimelineSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = TextField(help_text="the audit event: CASE_SUBMITTED, TASK_COMPLETED, ...")
    node_title = TextField()
    department_name = TextField()
    actor = TextField(help_text="'applicant', a reviewer's name (reviewers only), or empty")
    outcome = TextField()
    opinion = TextField()


class CaseCreateSerializer(BodySerializer):
    service = SlugTextField(max_length=64, help_text="the service's code, from /api/v1/services/")
    data = serializers.DictField(
        required=False, default=dict, help_text="initial form data (field id to value); may be partial"
    )


class DraftUpdateSerializer(BodySerializer):
    data = serializers.DictField(
        required=False,
        help_text="the whole form data (field id to value); replaces the draft's data. May be partial: "
        "required fields are checked on submit, every given value is checked now. Left out: the "
        "draft's data stays as it is.",
    )
    row_version = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_ID,
        help_text="the row_version you read; a 409 if it changed since",
    )


class CorrectionAnswerSerializer(BodySerializer):
    data = serializers.DictField(
        help_text="the fields you change (field id to value); the whole form must be valid with them"
    )


class WithdrawSerializer(BodySerializer):
    reason = TextField(required=False, allow_blank=True, default="", max_length=MAX_REASON)


class AttachmentUploadSerializer(BodySerializer):
    slot = TextField(max_length=64, help_text="a document slot of the service's form")
    file = serializers.FileField(allow_empty_file=True, use_url=False)


# -- tasks --------------------------------------------------------------------------


class TaskCaseSerializer(serializers.Serializer):
    reference = TextField()
    title = TextField()
    service = TextField(source="template.code")
    url = serializers.SerializerMethodField()

    def get_url(self, case) -> str:
        return _absolute(self.context, reverse("api:case", kwargs={"reference": case.reference}))


class TaskSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="task.pk")
    case = TaskCaseSerializer(source="task.case")
    service_title = TextField()
    node = TextField(source="task.node_id")
    node_title = TextField()
    kind = serializers.ChoiceField(source="task.kind", choices=TaskKind.choices)
    round = serializers.IntegerField(source="task.round")
    department = TextField(source="task.department.code", allow_null=True)
    department_name = TextField()
    status = serializers.ChoiceField(source="task.status", choices=TaskStatus.choices)
    holder = TextField()
    is_mine = serializers.BooleanField()
    can_claim = serializers.BooleanField()
    can_release = serializers.BooleanField()
    escalated = serializers.BooleanField(source="task.escalated")
    sla = SlaSerializer()
    created_at = serializers.DateTimeField(source="task.created_at")
    claimed_at = serializers.DateTimeField(source="task.claimed_at", allow_null=True)
    completed_at = serializers.DateTimeField(source="task.completed_at", allow_null=True)
    outcome = TextField(source="task.outcome")
    opinion = TextField(source="task.opinion")
    url = serializers.SerializerMethodField()

    def get_url(self, row) -> str:
        return _absolute(self.context, reverse("api:task", kwargs={"pk": row.task.pk}))


DECISIONS = (*TASK_OUTCOMES, *ACCEPTANCE_OUTCOMES)


class TaskDetailSerializer(TaskSerializer):
    outcomes = serializers.ListField(
        child=serializers.ChoiceField(choices=DECISIONS),
        help_text="the decisions offered at this step (an acceptance task: accept, refuse, notice)",
    )


class DecidedCaseSerializer(serializers.Serializer):
    reference = TextField()
    status = serializers.ChoiceField(
        choices=CaseStatus.choices, help_text="the case's status after the decision"
    )
    url = serializers.SerializerMethodField()

    def get_url(self, case) -> str:
        return _absolute(self.context, reverse("api:case", kwargs={"reference": case.reference}))


class TaskDecisionSerializer(serializers.Serializer):
    """The answer to a decision, built from the rows the decision wrote (no
    read after it): what was decided and where the case now stands. The
    task's full detail is at `url`."""

    id = serializers.IntegerField(source="pk")
    status = serializers.ChoiceField(choices=TaskStatus.choices)
    outcome = TextField()
    opinion = TextField()
    completed_at = serializers.DateTimeField(allow_null=True)
    case = DecidedCaseSerializer()
    url = serializers.SerializerMethodField(help_text="the task's full detail (GET)")

    def get_url(self, task) -> str:
        return _absolute(self.context, reverse("api:task", kwargs={"pk": task.pk}))


class TaskQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=INBOX_STATUSES,
        required=False,
        default="live",
        help_text="live (open or claimed, the default), open, mine (claimed by you), claimed, done (decided)",
    )
    due = serializers.ChoiceField(
        choices=[d for d in INBOX_DUE if d],
        required=False,
        help_text="overdue, or soon (past the reminder point)",
    )
    service = SlugTextField(max_length=64, required=False, help_text="a service code")
    q = TextField(
        max_length=100, required=False, help_text="part of a case reference or title", allow_blank=True
    )
    ordering = serializers.ChoiceField(
        choices=["due_at", "-due_at"],
        required=False,
        default="due_at",
        help_text="due_at (soonest first, the default) or -due_at; decided tasks come newest first",
    )


class NoticeItemSerializer(BodySerializer):
    kind = serializers.ChoiceField(choices=NOTICE_KINDS, help_text="field (a form field) or material")
    id = SlugTextField(max_length=64, help_text="the form field's or the material's (attachment slot's) id")
    reason = TextField(max_length=MAX_REASON, help_text="why it must be corrected (the applicant sees it)")


class DecideSerializer(BodySerializer):
    outcome = serializers.ChoiceField(choices=DECISIONS, help_text="one of the task's offered outcomes")
    opinion = TextField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_OPINION,
        trim_whitespace=False,
        help_text="the written opinion; required to reject, return or refuse to accept (the reasons)",
    )
    legal_basis = TextField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_OPINION,
        help_text="the legal basis; required to refuse to accept (不予受理)",
    )
    notice = NoticeItemSerializer(
        many=True,
        required=False,
        max_length=MAX_ITEMS,
        help_text="一次性告知: the fields and materials to correct, each with a reason; required with "
        "'notice' (an acceptance), optional with a 'return' that leads to a correction",
    )


class HandoverSerializer(BodySerializer):
    to_user = IdField(help_text="the colleague's user id")


# -- reference data -----------------------------------------------------------------------


class DepartmentSerializer(serializers.Serializer):
    code = TextField()
    name = serializers.SerializerMethodField()
    name_zh = TextField()
    name_en = TextField()
    jurisdiction = TextField()

    def get_name(self, department) -> str:
        return department.name(self.context.get("lang", "zh"))


class MembershipSerializer(serializers.Serializer):
    code = TextField(source="department.code")
    name = serializers.SerializerMethodField()
    is_head = serializers.BooleanField()

    def get_name(self, membership) -> str:
        return membership.department.name(self.context.get("lang", "zh"))


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="user.pk")
    username = TextField(source="user.username")
    name = TextField()
    departments = MembershipSerializer(many=True)
    is_reviewer = serializers.BooleanField(source="roles.is_reviewer")
    is_head = serializers.BooleanField(source="roles.is_head")
    is_admin = serializers.BooleanField(source="roles.is_admin")


class CalendarYearSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    source = TextField()


class CalendarSerializer(serializers.Serializer):
    code = TextField()
    name = serializers.SerializerMethodField()
    name_zh = TextField()
    name_en = TextField()
    years = CalendarYearSerializer(many=True, source="years.all")

    def get_name(self, calendar) -> str:
        return calendar.name_en if self.context.get("lang") == "en" else calendar.name_zh


class CalendarDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    kind = serializers.ChoiceField(
        choices=["holiday", "workday"], help_text="holiday, or workday (an adjusted working day)"
    )
    name = TextField()


class CalendarDayQuerySerializer(serializers.Serializer):
    year = serializers.IntegerField(min_value=1900, max_value=2200, required=False)
    kind = serializers.ChoiceField(choices=["holiday", "workday"], required=False)


class WorkingDaysQuerySerializer(serializers.Serializer):
    start = serializers.DateField(help_text="the day counting starts after (YYYY-MM-DD)")
    end = serializers.DateField(help_text="the last day counted (YYYY-MM-DD)")


class WorkingDaysSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    working_days = serializers.IntegerField(
        help_text="working days after start up to and including end, as statutory limits count "
        "(negative when end is before start)"
    )
    start_is_working_day = serializers.BooleanField()
    end_is_working_day = serializers.BooleanField()


def _absolute(context, path: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path
