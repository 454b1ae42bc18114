"""Facts for the leaders' dashboard and the public processing-time figures.

Working-day durations depend on the calendar (holidays, make-up working days,
office hours), so they cannot be computed cheaply in SQL on every request.
They are computed once, in Python on the calendar, after a case is submitted
or ends and after a review task is decided: `govflow.insight.facts` projects
them from the committed audit trail (FactsMark says how far), outside the
decision's transaction, and stores them here, one narrow row per case and
per decided review task. The dashboard
aggregates these rows with indexes; what is open now (bottlenecks, overdue
tasks) is read live from the task table.

Durations are office seconds on the calendar (09:00-17:00 on working days),
not counting time with the applicant or in steps excluded from the clock;
one working day is one office day.

The rollups (CaseRollup, TaskRollup, CaseDayCount) hold the same facts
counted per closed month and duration bucket, so that a dashboard over a
long period reads a few thousand rows instead of sorting every fact
(`govflow.insight.rollup`).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseFact(models.Model):
    case = models.OneToOneField("cases.Case", primary_key=True, on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey(
        "processes.ProcessTemplate", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    submitted_at = models.DateTimeField()
    # Monday of the local (calendar time zone) week, for weekly counts.
    submitted_week = models.DateField()
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_week = models.DateField(null=True, blank=True)
    # approved / rejected / withdrawn; empty while the case is open.
    outcome = models.CharField(max_length=16, blank=True)
    # Statutory time used and allowed (the template's time limit), in office seconds.
    working_seconds = models.BigIntegerField(null=True, blank=True)
    limit_seconds = models.BigIntegerField(null=True, blank=True)
    within_limit = models.BooleanField(null=True, blank=True)
    seeded = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["submitted_at", "template"], name="casefact_submitted"),
            models.Index(
                fields=["completed_at", "template"],
                name="casefact_ended",
                condition=~models.Q(outcome=""),
            ),
            # Open cases, for a department's weekly counts (summaries.py).
            models.Index(fields=["submitted_at"], name="casefact_open", condition=models.Q(outcome="")),
        ]
        verbose_name = _("case statistics")

    def __str__(self) -> str:
        return f"case {self.case_id}: {self.outcome or 'open'}"


class TaskFact(models.Model):
    """A decided review or countersignature task of a department."""

    task = models.OneToOneField("cases.Task", primary_key=True, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+", db_index=False)
    template = models.ForeignKey(
        "processes.ProcessTemplate", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    node_id = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField()
    outcome = models.CharField(max_length=32, blank=True)
    working_seconds = models.BigIntegerField(null=True, blank=True)
    # The node's SLA in office seconds; null when the node has none.
    limit_seconds = models.BigIntegerField(null=True, blank=True)
    within_limit = models.BooleanField(null=True, blank=True)
    silent_consent = models.BooleanField(default=False)
    escalated = models.BooleanField(default=False)
    seeded = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["completed_at", "department"], name="taskfact_completed"),
            models.Index(fields=["department", "case"], name="taskfact_department_case"),
        ]
        verbose_name = _("task statistics")

    def __str__(self) -> str:
        return f"task {self.task_id} ({self.node_id}): {self.outcome}"


class FactsMark(models.Model):
    """How far the facts reach in one audit chain: every case named by an
    event of `chain` up to position `seq` has its facts
    (govflow.insight.facts.facts_project). Appends to a chain commit in
    position order (its head is locked until the commit), so nothing can
    appear below the mark later. `event_at` is the time of the event at the
    mark, `projected_at` when the mark last moved: the dashboard's freshness.
    Its row lock serialises the projectors of a chain."""

    chain = models.PositiveSmallIntegerField(unique=True)
    seq = models.BigIntegerField(default=0)
    event_at = models.DateTimeField(null=True, blank=True)
    projected_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("facts mark")

    def __str__(self) -> str:
        return f"facts of chain {self.chain} up to position {self.seq}"


class RollupMark(models.Model):
    """How far the rollups reach: every month before `rolled_until` (the
    first day of a month, local time) is rolled up; later facts are read
    live. One row (pk 1); its lock serialises rolling and retracting."""

    rolled_until = models.DateField(null=True, blank=True)
    rolled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("rollup mark")

    def __str__(self) -> str:
        return f"rolled until {self.rolled_until}"


class CaseRollup(models.Model):
    """Ended cases of one month (by completion, local time) per service,
    outcome and duration bucket (working seconds rounded to the nearest
    BUCKET_SECONDS; -1 for none). `department` null counts every case; a
    department counts the cases it decided a task on."""

    month = models.DateField()
    template = models.ForeignKey(
        "processes.ProcessTemplate", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.CASCADE, related_name="+", null=True, db_index=False
    )
    outcome = models.CharField(max_length=16)
    bucket = models.IntegerField()
    cases = models.IntegerField()
    with_limit = models.IntegerField()
    within_limit = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["department", "month", "template"], name="caserollup_month")]
        verbose_name = _("case rollup")

    def __str__(self) -> str:
        return f"{self.month} {self.outcome} bucket {self.bucket}: {self.cases}"


class TaskRollup(models.Model):
    """Decided review tasks of one month (by decision, local time) per
    service, department and duration bucket, with their counters."""

    month = models.DateField()
    template = models.ForeignKey(
        "processes.ProcessTemplate", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    bucket = models.IntegerField()
    tasks = models.IntegerField()
    with_limit = models.IntegerField()
    within_limit = models.IntegerField()
    silent_consent = models.IntegerField()
    escalated = models.IntegerField()
    rejected = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["month", "template", "department"], name="taskrollup_month")]
        verbose_name = _("task rollup")

    def __str__(self) -> str:
        return f"{self.month} department {self.department_id} bucket {self.bucket}: {self.tasks}"


class CaseDayCount(models.Model):
    """Cases per local day for the weekly counts: `kind` "submitted" by the
    day of submission, or an outcome by the day the case ended. `month` is
    the rolled month that produced the row (its submission month for every
    case, `department` null; its completion month for a department's cases,
    whose participation is final only once they ended)."""

    month = models.DateField()
    day = models.DateField()
    template = models.ForeignKey(
        "processes.ProcessTemplate", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.CASCADE, related_name="+", null=True, db_index=False
    )
    kind = models.CharField(max_length=16)
    cases = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["department", "day"], name="casedaycount_day")]
        verbose_name = _("cases per day")

    def __str__(self) -> str:
        return f"{self.day} {self.kind}: {self.cases}"
