"""In-app notifications: what a user sees in their notification list, next
to the e-mail. Written by the outbox `notify` consumer, once per outbox key
and recipient, so a redelivered message notifies nobody twice; notices to
administrators that are about no case (the working-day calendar running
out) are keyed the same way, e.g. `calendar:cn:2026-W49`."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    TASK_CREATED = "task_created", _("new review task")
    REMINDER = "reminder", _("review task due soon")
    ESCALATION = "escalation", _("review task overdue")
    CORRECTION_REQUESTED = "correction_requested", _("correction requested")
    DEADLINE_CHANGED = "deadline_changed", _("deadline changed")
    CALENDAR_MISSING = "calendar_missing", _("working-day calendar missing")
    POOR_RATING = "poor_rating", _("poor rating to remedy")
    REMEDIATION_OVERDUE = "remediation_overdue", _("remediation of a poor rating overdue")
    URGED = "urged", _("step urged")
    DELEGATED = "delegated", _("task delegated to you")
    DELEGATION_ANSWERED = "delegation_answered", _("delegated opinion back")
    CONSULTATION_REQUESTED = "consultation_requested", _("opinion asked of your department")
    CONSULTATION_ANSWERED = "consultation_answered", _("consulted department answered")
    CONSULTATION_LAPSED = "consultation_lapsed", _("consultation's limit passed without an opinion")
    COPIED = "copied", _("case copied to you")
    LETTER_ISSUED = "letter_issued", _("written notice issued")
    MATERIAL_DUE = "material_due", _("deferred material due soon")
    VERIFICATION_OPENED = "verification_opened", _("commitment to verify")
    MATERIAL_SUPPLIED = "material_supplied", _("deferred material supplied, to review")
    APPLICANT_STEP = "applicant_step", _("a step for you to take")
    OBJECTION_FILED = "objection_filed", _("objection filed during the public notice")
    EXTENSION_REQUESTED = "extension_requested", _("extension to approve")
    EXTENSION_ANSWERED = "extension_answered", _("extension approved or refused")
    TEMPLATE_PROPOSED = "template_proposed", _("template version to approve")
    TEMPLATE_PROPOSAL_DECIDED = "template_proposal_decided", _("proposed template version decided")
    CASE_ENDED = "case_ended", _("application decided")
    CERTIFICATE_ISSUED = "certificate_issued", _("certificate issued")
    CERTIFICATE_REVOKED = "certificate_revoked", _("certificate revoked")
    CASE_LIMIT_WARNING = "case_limit_warning", _("case's time limit nearly reached")
    CASE_LIMIT_PASSED = "case_limit_passed", _("case past its time limit")


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    # None for notices about the system rather than a case (calendar_missing).
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    task = models.ForeignKey(
        "cases.Task", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    outbox_key = models.CharField(max_length=200)
    # What the notice said (the e-mail's text, both languages), for the
    # notification page; empty on notices written before it was kept.
    body = models.TextField(_("text"), blank=True)
    created_at = models.DateTimeField(_("created at"))
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["outbox_key", "user"], name="notification_once_per_key_and_user"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_by_user"),
            models.Index(
                fields=["user"], name="notification_unread", condition=models.Q(read_at__isnull=True)
            ),
        ]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        if self.case_id is None:
            return f"{self.kind} for {self.user_id} ({self.outbox_key})"
        return f"{self.kind} for {self.user_id} on case {self.case_id}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    """How a user wants to hear besides the bell (always on): e-mail, on
    unless turned off; SMS, off unless turned on with a mobile number.
    No row: the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    email = models.BooleanField(_("by e-mail"), default=True)
    sms = models.BooleanField(_("by SMS"), default=False)
    phone = models.CharField(_("mobile number"), max_length=11, blank=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"notification preference of {self.user_id}"
