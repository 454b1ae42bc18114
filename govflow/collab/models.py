"""The operations around a task that do not move the case: 委派 (a colleague
handles, the reviewer decides), 会商 (other departments' opinions, each with
a working-day limit), 抄送 (read-only copies), 催办 (urges), 代理 (an acting
officer for a time window) and 常用意见 (a reviewer's saved opinions).

Written only by `govflow.collab.services`; read by `govflow.collab.selectors`.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class RequestStatus(models.TextChoices):
    OPEN = "open", _("waiting")
    ANSWERED = "answered", _("answered")
    CANCELLED = "cancelled", _("cancelled")


class Delegation(models.Model):
    """委派: the reviewer holding a task asks a colleague to handle it; the
    colleague's opinion comes back and the reviewer decides."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey("cases.Task", on_delete=models.CASCADE, related_name="delegations")
    delegated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="delegations_received"
    )
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    opinion = models.TextField(_("opinion"), blank=True)
    created_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task"], condition=models.Q(status="open"), name="delegation_one_open_per_task"
            )
        ]
        indexes = [
            models.Index(
                fields=["delegate", "created_at"],
                name="delegation_open_by_delegate",
                condition=models.Q(status="open"),
            )
        ]
        verbose_name = _("delegation")

    def __str__(self) -> str:
        return f"delegation of task {self.task_id} to {self.delegate_id}"


class Consultation(models.Model):
    """会商 / 征求意见: one department's opinion asked for on a task, due in a
    number of working days on the template's calendar."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey("cases.Task", on_delete=models.CASCADE, related_name="consultations")
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    question = models.TextField(_("question"))
    days = models.PositiveSmallIntegerField(_("working days"))
    created_at = models.DateTimeField()
    due_at = models.DateTimeField()
    due_provisional = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    opinion = models.TextField(_("opinion"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    # When the limit passed with no opinion (govflow.collab.tasks.lapse): the
    # reviewer was told the task may be decided. An opinion may still come.
    lapsed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "department"],
                condition=models.Q(status="open"),
                name="consultation_one_open_per_department",
            )
        ]
        indexes = [
            models.Index(
                fields=["department", "due_at"],
                name="consultation_open_by_dept",
                condition=models.Q(status="open"),
            )
        ]
        verbose_name = _("consultation")

    def __str__(self) -> str:
        return f"consultation of {self.department_id} on task {self.task_id}"


class Copy(models.Model):
    """抄送: a read-only item in a user's inbox; `sent_by` None when the
    template's `cc:` sent it."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey("cases.Task", on_delete=models.CASCADE, related_name="copies")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="copies")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["task", "user"], name="copy_once_per_task_and_user")]
        indexes = [models.Index(fields=["user", "-created_at"], name="copy_by_user")]
        verbose_name = _("copy")
        verbose_name_plural = _("copies")

    def __str__(self) -> str:
        return f"copy of task {self.task_id} to {self.user_id}"


class UrgeRole(models.TextChoices):
    APPLICANT = "applicant", _("applicant")
    HEAD = "head", _("department head")
    LEADER = "leader", _("leader")


class Urge(models.Model):
    """催办: the applicant (once per working day, after half the step's time
    limit) or a head or leader asks for a task to be dealt with."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey("cases.Task", on_delete=models.CASCADE, related_name="urges")
    urged_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=16, choices=UrgeRole.choices)
    note = models.TextField(_("note"), blank=True)
    # The working day the urge counts for (Beijing date), for once-a-day.
    day = models.DateField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "urged_by", "day"],
                condition=models.Q(role="applicant"),
                name="urge_applicant_once_a_day",
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="urge_by_time")]
        verbose_name = _("urge")

    def __str__(self) -> str:
        return f"urge of task {self.task_id} by {self.urged_by_id}"


class Proxy(models.Model):
    """代理: while `principal` is away (starts_at..ends_at), `proxy` acts on
    the tasks the principal holds in the departments they share."""

    principal = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    proxy = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="proxy_window"
            ),
            models.CheckConstraint(condition=~models.Q(proxy=models.F("principal")), name="proxy_not_self"),
        ]
        indexes = [models.Index(fields=["principal", "ends_at"], name="proxy_by_principal")]
        verbose_name = _("acting officer")

    def __str__(self) -> str:
        return f"{self.proxy_id} acting for {self.principal_id}"


class SavedOpinion(models.Model):
    """常用意见: a reviewer's own phrases, offered in the decision form."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.CharField(_("opinion"), max_length=500)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["user", "text"], name="saved_opinion_unique")]
        verbose_name = _("saved opinion")

    def __str__(self) -> str:
        return self.text


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("waiting for the head")
    APPROVED = "approved", _("approved")
    REFUSED = "refused", _("refused")
    WITHDRAWN = "withdrawn", _("withdrawn")


class ExtensionRequest(models.Model):
    """延期 (行政许可法 art 42): the reviewer holding a task asks the head of
    its department to extend its time limit, with a reason; the head approves
    (the deadline moves and the applicant gets a letter:
    govflow.cases.operations.extension) or refuses. One pending per task."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey("cases.Task", on_delete=models.CASCADE, related_name="extension_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # The head's note: why it was refused (required), or a remark on approval.
    answer = models.TextField(_("answer"), blank=True)
    due_before = models.DateTimeField(null=True, blank=True)
    due_after = models.DateTimeField(null=True, blank=True)
    letter = models.ForeignKey(
        "letters.Letter", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task"], condition=models.Q(status="pending"), name="extension_one_pending_per_task"
            )
        ]
        verbose_name = _("extension request")

    def __str__(self) -> str:
        return f"extension of task {self.task_id} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == ExtensionStatus.PENDING
