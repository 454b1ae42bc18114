"""Cases and their tasks.

Both lifecycles are django-fsm-2 fields with protected=True: the status can
only change through the transition methods, and only services call those.
A case's engine state is one JSON document (`state`); the form data lives
beside it in `data` and is not duplicated inside the state.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition

from .secrets import NO_SECRETS, SecretDataField, version_positions


class CaseStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    SUBMITTED = "submitted", _("submitted")
    IN_REVIEW = "in_review", _("in review")
    AWAITING_CORRECTION = "awaiting_correction", _("awaiting correction")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    WITHDRAWN = "withdrawn", _("withdrawn")


OPEN_CASE_STATUSES = (CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW, CaseStatus.AWAITING_CORRECTION)
ENDED_CASE_STATUSES = (CaseStatus.APPROVED, CaseStatus.REJECTED, CaseStatus.WITHDRAWN)


def new_query_nonce() -> str:
    """The random half of a case's query code (govflow.web.lookup)."""
    return secrets.token_hex(16)


class Case(FSMModelMixin, models.Model):
    reference = models.CharField(_("reference"), max_length=32, unique=True)
    template = models.ForeignKey("processes.ProcessTemplate", on_delete=models.PROTECT, related_name="cases")
    version = models.ForeignKey("processes.ProcessVersion", on_delete=models.PROTECT, related_name="cases")
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cases")
    title = models.CharField(_("title"), max_length=200, blank=True)
    status = FSMField(default=CaseStatus.DRAFT, choices=CaseStatus.choices, protected=True)
    # Plain values in Python; secret fields' values sealed in the column
    # (govflow.cases.secrets, docs/security.md "Encryption at rest").
    data = SecretDataField(_("form data"), default=dict)
    state = models.JSONField(_("engine state"), null=True, blank=True)
    row_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # 受理: when the application was accepted in law (行政许可法 art 32); the
    # decision clock of art 42 runs from it. At submission for a template
    # without an `acceptance` node; else by the accepting department's
    # decision, or by silence as of the receipt of the materials (art 32(4)).
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The statutory clock: stopped while the case is with the applicant or in
    # an excluded step; paused_seconds is office time not counted.
    clock_paused_at = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.BigIntegerField(default=0)
    # The query code (查询码) of the public progress lookup is a keyed hash of
    # the reference and this nonce: the code itself is stored nowhere
    # (govflow.web.lookup).
    query_nonce = models.CharField(max_length=32, default=new_query_nonce, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["applicant", "status"], name="case_applicant_status"),
            models.Index(fields=["status", "submitted_at"], name="case_status_submitted"),
        ]
        verbose_name = _("case")

    def __str__(self) -> str:
        return self.reference

    def save(self, *args, **kwargs) -> None:
        # Written through the ORM: the lock's copy of the form data
        # (cases.bulk.cases_save_changed) no longer says what the row holds.
        self.__dict__.pop("_data_as_read", None)
        super().save(*args, **kwargs)

    @transition(field=status, source=CaseStatus.DRAFT, target=CaseStatus.SUBMITTED)
    def submit(self) -> None:
        """Received; acceptance (受理) follows at once, or by an `acceptance` node."""

    @transition(field=status, source=CaseStatus.SUBMITTED, target=CaseStatus.IN_REVIEW)
    def accept(self) -> None:
        pass

    @transition(
        field=status,
        source=[CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW],
        target=CaseStatus.AWAITING_CORRECTION,
    )
    def request_correction(self) -> None:
        """From submitted: a one-time correction notice (一次性告知) before acceptance."""

    @transition(field=status, source=CaseStatus.AWAITING_CORRECTION, target=CaseStatus.IN_REVIEW)
    def resume_review(self) -> None:
        pass

    @transition(field=status, source=CaseStatus.AWAITING_CORRECTION, target=CaseStatus.SUBMITTED)
    def resume_acceptance(self) -> None:
        """The applicant corrected before acceptance: the acceptance goes on."""

    @transition(
        field=status,
        source=[CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW, CaseStatus.AWAITING_CORRECTION],
        target=CaseStatus.APPROVED,
    )
    def approve(self) -> None:
        pass

    @transition(
        field=status,
        source=[CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW, CaseStatus.AWAITING_CORRECTION],
        target=CaseStatus.REJECTED,
    )
    def reject(self) -> None:
        pass

    @transition(
        field=status,
        source=[CaseStatus.DRAFT, CaseStatus.SUBMITTED, CaseStatus.IN_REVIEW, CaseStatus.AWAITING_CORRECTION],
        target=CaseStatus.WITHDRAWN,
    )
    def withdraw(self) -> None:
        pass

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CASE_STATUSES


class TaskStatus(models.TextChoices):
    OPEN = "open", _("open")
    CLAIMED = "claimed", _("claimed")
    COMPLETED = "completed", _("completed")
    CANCELLED = "cancelled", _("cancelled")
    EXPIRED = "expired", _("expired")


LIVE_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.CLAIMED)


class TaskKind(models.TextChoices):
    REVIEW = "review", _("review")
    SIGNATURE = "signature", _("countersignature")
    CORRECTION = "correction", _("correction by the applicant")
    SERVICE = "service", _("automated step")
    APPLICANT = "applicant", _("step by the applicant")
    ACCEPTANCE = "acceptance", _("acceptance")


# 审批人去重 (govflow.cases.operations.distinct): the tasks whose deciders
# count as signers of a case, and the outcomes that are not a signature.
SIGNING_KINDS = (TaskKind.REVIEW, TaskKind.SIGNATURE)
NOT_A_DECISION = ("taken_back", "returned")


class Task(FSMModelMixin, models.Model):
    # Indexed by task_engine_id_unique (case, engine_id), which serves
    # lookups by case too.
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks", db_index=False)
    engine_id = models.CharField(max_length=32)
    node_id = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=TaskKind.choices)
    department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="tasks"
    )
    round = models.PositiveIntegerField(default=1)
    signer = models.PositiveSmallIntegerField(null=True, blank=True)
    status = FSMField(default=TaskStatus.OPEN, choices=TaskStatus.choices, protected=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="claimed_tasks",
    )
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True)
    # due_at was counted over a calendar year not loaded yet (its timer's flag).
    due_provisional = models.BooleanField(default=False)
    # When the SLA reminder falls due (copied from its timer, as due_at is
    # from the breach timer): the inbox's "due soon" filter reads it.
    remind_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=32, blank=True)
    opinion = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="decided_tasks",
    )
    silent_consent = models.BooleanField(default=False)
    legal_basis = models.TextField(blank=True)
    # A correction task's structured notice (一次性告知): the fields and
    # materials the applicant may change, each with its reason
    # (govflow.engine.notices); empty when the return listed none.
    notice = models.JSONField(default=list, blank=True)
    escalated = models.BooleanField(default=False)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "engine_id"], name="task_engine_id_unique")]
        indexes = [
            models.Index(
                fields=["department", "due_at", "id"],
                name="task_live_by_department",
                condition=models.Q(status__in=["open", "claimed"]),
            ),
            models.Index(
                fields=["assignee", "due_at"],
                name="task_live_by_assignee",
                condition=models.Q(status="claimed"),
            ),
            # A reviewer's "decided" list, newest first, without sorting every
            # task the department ever closed.
            models.Index(
                "department",
                models.F("completed_at").desc(),
                models.F("id").desc(),
                name="task_done_by_department",
                condition=models.Q(status="completed"),
            ),
        ]
        verbose_name = _("task")

    def __str__(self) -> str:
        return f"{self.node_id} ({self.engine_id}) of {self.case_id}"

    @transition(field=status, source=TaskStatus.OPEN, target=TaskStatus.CLAIMED)
    def claim(self) -> None:
        pass

    @transition(field=status, source=TaskStatus.CLAIMED, target=TaskStatus.OPEN)
    def release(self) -> None:
        pass

    @transition(field=status, source=[TaskStatus.OPEN, TaskStatus.CLAIMED], target=TaskStatus.COMPLETED)
    def complete(self) -> None:
        pass

    @transition(field=status, source=[TaskStatus.OPEN, TaskStatus.CLAIMED], target=TaskStatus.CANCELLED)
    def cancel(self) -> None:
        pass

    @transition(field=status, source=[TaskStatus.OPEN, TaskStatus.CLAIMED], target=TaskStatus.EXPIRED)
    def expire(self) -> None:
        pass

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_TASK_STATUSES


class RevisionDataField(SecretDataField):
    """A revision's values, with secret ones sealed like the case's own."""

    def secret_positions(self, instance):
        case = getattr(instance, "case", None)
        if case is None or case.version_id is None:
            return NO_SECRETS
        return version_positions(case.version)


class CaseRevision(models.Model):
    """What one correction by the applicant changed (补正): for each changed
    field its value before and after, so a reviewer sees a field-by-field
    diff of what changed since they last decided on the case."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="revisions")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fields = models.JSONField(default=list)  # the changed field ids, in form order
    before = RevisionDataField(default=dict)
    after = RevisionDataField(default=dict)
    # The correction task(s) it answered (engine ids).
    tasks = models.JSONField(default=list)

    class Meta:
        ordering = ["case", "at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="case_revision_case_at")]

    def __str__(self) -> str:
        return f"revision of {self.case_id} at {self.at:%Y-%m-%d %H:%M}"


class Attachment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    slot = models.CharField(_("attachment slot"), max_length=64)
    file = models.FileField(upload_to="attachments/%Y/%m/")
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slot", "uploaded_at"]

    def __str__(self) -> str:
        return self.original_name
