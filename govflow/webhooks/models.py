"""Outbound webhooks: endpoints an admin registers and the deliveries made to them.

An endpoint belongs to a department (it then hears only of cases that
department works on) or to a named outside system. Each event staged for an
endpoint is one Delivery row holding the exact JSON body (a CloudEvent) that
every attempt sends, so a retry carries the same bytes and the same event id.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from govflow.security.fields import SealedTextField

# The event kinds an endpoint can subscribe to (CloudEvents type
# "cn.govflow.<kind>").
EVENT_KINDS = (
    ("case.submitted", _("case submitted")),
    ("task.created", _("task created")),
    ("decision.made", _("decision made")),
    ("case.approved", _("case approved")),
    ("case.rejected", _("case rejected")),
    ("case.withdrawn", _("case withdrawn")),
    ("certificate.issued", _("certificate issued")),
    ("certificate.revoked", _("certificate revoked")),
    ("case.urged", _("case urged")),
    ("consultation.requested", _("consultation requested")),
    ("consultation.answered", _("consultation answered")),
    ("consultation.lapsed", _("consultation's limit passed without an opinion")),
    ("task.returned", _("case sent back to an earlier step")),
    ("decision.taken_back", _("decision taken back")),
    ("task.transferred", _("task transferred")),
    ("task.signer_added", _("signer added")),
    ("task.signer_removed", _("signer removed")),
    ("task.extended", _("time limit extended")),
    ("case.limit_passed", _("case past its promised or statutory time limit")),
    ("case.item_ended", _("item of a bundle ended")),
)
KIND_CODES = tuple(code for code, _label in EVENT_KINDS)


class Endpoint(models.Model):
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    department = models.ForeignKey(
        "accounts.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="webhook_endpoints",
        verbose_name=_("department"),
    )
    system = models.CharField(_("system"), max_length=100, blank=True)
    kinds = models.JSONField(_("event kinds"), default=list)
    # The HMAC key. Shown to the admin once (at registration and rotation);
    # kept because every delivery is signed with it.
    secret = models.CharField(max_length=128)
    # After a rotation deliveries carry a second signature with the old key
    # until this moment, so a receiver can switch keys without losing events.
    previous_secret = models.CharField(max_length=128, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    cleared_for_secrets = models.BooleanField(_("cleared for secret fields"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(department__isnull=False) | ~models.Q(system=""),
                name="webhook_endpoint_has_owner",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def owner(self) -> str:
        return self.department.code if self.department_id else self.system


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")


class Delivery(models.Model):
    endpoint = models.ForeignKey(Endpoint, on_delete=models.PROTECT, related_name="deliveries")
    event_id = models.UUIDField(_("event id"))
    kind = models.CharField(_("event kind"), max_length=64)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    case = models.ForeignKey("cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The CloudEvent exactly as sent (JSON text): every attempt sends these bytes.
    body = SealedTextField(position="webhooks.delivery.body")
    # The body holds secret form fields (the endpoint is cleared for them):
    # the admin pages do not show its form data.
    carries_secrets = models.BooleanField(default=False)
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created"))
    # Pending: not before this moment is the next attempt queued (the backoff,
    # or the lease of an attempt under way).
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # After a failed attempt at or past this moment the delivery is failed.
    give_up_at = models.DateTimeField()
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id} -> {self.endpoint_id}"
