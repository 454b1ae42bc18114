"""The working-day calendar as data, and the table of due timers.

SLA deadlines, reminders, public-notice waits and correction deadlines live
here, not in the broker: a beat job sweeps due rows (`timers_fire_due`) and
claims each with SELECT ... FOR UPDATE SKIP LOCKED, so each fires once.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Calendar(models.Model):
    code = models.SlugField(_("jurisdiction code"), max_length=64, unique=True)
    name_zh = models.CharField(max_length=200)
    name_en = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]
        verbose_name = _("working-day calendar")
        verbose_name_plural = _("working-day calendars")

    def __str__(self) -> str:
        return self.code


class CalendarYear(models.Model):
    """A year whose State Council notice has been loaded; without one, due
    dates in that year are refused rather than guessed."""

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="years")
    year = models.PositiveSmallIntegerField()
    source = models.CharField(_("source notice"), max_length=300, blank=True)

    class Meta:
        ordering = ["calendar", "year"]
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        constraints = [models.UniqueConstraint(fields=["calendar", "year"], name="calendar_year_unique")]

    def __str__(self) -> str:
        return f"{self.calendar.code} {self.year}"


class CalendarDay(models.Model):
    HOLIDAY = "holiday"
    WORKDAY = "workday"
    KINDS = [(HOLIDAY, _("statutory holiday")), (WORKDAY, _("adjusted working day"))]

    calendar = models.ForeignKey(Calendar, on_delete=models.CASCADE, related_name="days")
    date = models.DateField()
    kind = models.CharField(max_length=16, choices=KINDS)
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["calendar", "date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        constraints = [models.UniqueConstraint(fields=["calendar", "date"], name="calendar_day_unique")]

    def __str__(self) -> str:
        return f"{self.date} {self.kind}"


class Timer(models.Model):
    PENDING = "pending"
    PAUSED = "paused"
    FIRED = "fired"
    CANCELLED = "cancelled"
    STATUSES = [
        (PENDING, _("pending")),
        (PAUSED, _("paused")),
        (FIRED, _("fired")),
        (CANCELLED, _("cancelled")),
    ]

    # Indexed by timer_engine_id_unique (case, engine_id), which serves
    # lookups by case too.
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="timers", db_index=False)
    engine_id = models.CharField(max_length=32)
    kind = models.CharField(max_length=32)
    node_id = models.CharField(max_length=64)
    task = models.ForeignKey(
        "cases.Task", null=True, blank=True, on_delete=models.CASCADE, related_name="timers"
    )
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    due_at = models.DateTimeField(null=True, blank=True)
    # While the case clock is paused the deadline is kept as office seconds left.
    remaining_seconds = models.BigIntegerField(null=True, blank=True)
    # Timers of older versions resumed while the calendar lacked a year kept
    # their office time left here with no due date (timers_recompute).
    resumed_at = models.DateTimeField(null=True, blank=True)
    # The due date (or, while paused, the office time left) was counted over
    # a year whose calendar is not loaded, by the plain weekday rule: shown as
    # provisional (预计) and recomputed exactly when the year is loaded.
    provisional = models.BooleanField(default=False)
    # Firing decides something (silent consent, automatic rejection, deemed
    # withdrawal, the end of a notice period): never on a provisional date.
    legal_effect = models.BooleanField(default=False)
    # A period in calendar days: its nominal last day (start date + N, before
    # a weekend or holiday moved the due date), which a pause carries
    # forward by whole days (govflow.timers.deadlines). Null for office time.
    nominal_end = models.DateField(null=True, blank=True)
    # The SLA clock's pauses since the timer started, [[paused, resumed or
    # null], ...] as ISO instants: what a recomputation replays.
    pauses = models.JSONField(default=list, blank=True)
    # Why the engine refused to fire it (or, from older versions, why it has
    # no due date); shown to admins and reported by reconcile.
    problem = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("timer")
        verbose_name_plural = _("timers")
        constraints = [models.UniqueConstraint(fields=["case", "engine_id"], name="timer_engine_id_unique")]
        indexes = [
            models.Index(fields=["due_at"], name="timer_pending_due", condition=models.Q(status="pending")),
            # The dashboard's cases over the promised and statutory limits
            # (insight.selectors.cases_over_limit): only the case-level
            # limits, a few of every case's timers; without it each of its
            # four counts read every timer (85 ms at 1 million).
            models.Index(
                fields=["kind", "status", "due_at", "case"],
                name="timer_case_limit",
                condition=models.Q(kind__in=["case_promise", "case_statutory"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.engine_id} of case {self.case_id}"
