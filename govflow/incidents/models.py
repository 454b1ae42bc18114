"""Incidents: work the system gave up on and an admin must look at.

An incident is opened when an outbox row (a service task, a notification,
any side effect) failed on every allowed attempt. Its case stays where it
is, visibly stuck: `reconcile` lists every unresolved incident, and an admin
retries it (`govflow.incidents.services.incident_retry`) once the cause is
fixed. A successful delivery resolves it.

The daily consistency check (`reconcile`, run by beat) keeps one more kind:
a `reconcile` incident with no outbox row, holding the problems the latest
run found. There is at most one unresolved at a time; each run that finds
problems updates it and the first run that finds none resolves it.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class IncidentKind(models.TextChoices):
    SERVICE_TASK = "service_task", _("automated step failed")
    DELIVERY = "delivery", _("side effect not delivered")
    RECONCILE = "reconcile", _("consistency check found problems")
    INTEGRITY = "integrity", _("stored file failed its integrity check")


# Incidents about work that got stuck (an outbox row given up): what
# reconcile reports, case by case. A reconcile incident is reconcile's own
# output and is never fed back into it.
WORK_KINDS = (IncidentKind.SERVICE_TASK, IncidentKind.DELIVERY)


class IncidentStatus(models.TextChoices):
    OPEN = "open", _("open")
    RETRYING = "retrying", _("retrying")
    RESOLVED = "resolved", _("resolved")


UNRESOLVED_STATUSES = (IncidentStatus.OPEN, IncidentStatus.RETRYING)


class Incident(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=IncidentKind.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    # None only for a reconcile incident (incident_message_unless_reconcile).
    message = models.ForeignKey(
        "outbox.OutboxMessage",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incidents",
        verbose_name=_("outbox message"),
    )
    case = models.ForeignKey(
        "cases.Case",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incidents",
        verbose_name=_("case"),
    )
    task_engine_id = models.CharField(_("task"), max_length=32, blank=True)
    node_id = models.CharField(_("step"), max_length=64, blank=True)
    handler = models.CharField(_("handler"), max_length=100, blank=True)
    topic = models.CharField(_("topic"), max_length=64, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.TextField(_("last error"), blank=True)
    # A reconcile incident's findings, one problem per line, from the latest run.
    problems = models.TextField(_("problems found"), blank=True)
    opened_at = models.DateTimeField(_("opened at"))
    last_failed_at = models.DateTimeField(_("last failed at"))
    retry_count = models.PositiveIntegerField(_("retries by an admin"), default=0)
    retried_at = models.DateTimeField(_("last retried at"), null=True, blank=True)
    retried_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("last retried by"),
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message"],
                condition=~models.Q(status="resolved"),
                name="incident_one_unresolved_per_message",
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=models.Q(kind="reconcile") & ~models.Q(status="resolved"),
                name="incident_one_unresolved_reconcile",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=["reconcile", "integrity"]) | models.Q(message__isnull=False),
                name="incident_message_unless_reconcile",
            ),
            models.UniqueConstraint(
                fields=["topic"],
                condition=models.Q(kind="integrity") & ~models.Q(status="resolved"),
                name="incident_one_unresolved_integrity_per_object",
            ),
        ]
        indexes = [
            models.Index(fields=["case", "status"], name="incident_by_case"),
            models.Index(
                fields=["opened_at"], name="incident_unresolved", condition=~models.Q(status="resolved")
            ),
        ]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")

    def __str__(self) -> str:
        if self.message_id is None:
            return f"#{self.pk} {self.kind} ({self.status})"
        return f"#{self.pk} {self.kind} {self.message_id} ({self.status})"

    @property
    def is_resolved(self) -> bool:
        return self.status == IncidentStatus.RESOLVED
