"""容缺受理 and 告知承诺制: the applicant's signed commitments, the
materials supplied after acceptance, and the verification after approval.

- A `Commitment` is the applicant's signed undertaking, one per case and
  kind: DEFERRAL (容缺: these materials will follow by their deadline) or
  PLEDGE (告知承诺: these conditions are met; the commitment replaces the
  proof). Its PDF, sealed and e-signed, is a letter of the case (govflow.letters).
- A `DeferredMaterial` is one document slot missing at acceptance under a
  deferral: pending until the applicant supplies it, then accepted or
  rejected by a reviewer; missing its deadline or rejected, the case is
  terminated.
- A `Verification` (核查) opens for the template's department when a case
  resting on a pledge is approved; found false, the case's certificates are
  revoked and a credit record is written.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CommitmentKind(models.TextChoices):
    DEFERRAL = "deferral", _("容缺受理 commitment (materials to follow)")
    PLEDGE = "pledge", _("告知承诺 commitment (replaces the proof)")


class Commitment(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="commitments")
    kind = models.CharField(_("kind"), max_length=16, choices=CommitmentKind.choices)
    slots = models.JSONField(_("document slots"), default=list)
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(_("signed at"))
    # The signed commitment, a written letter of the case (govflow.letters).
    document = models.ForeignKey(
        "letters.Letter", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["case", "kind"]
        constraints = [models.UniqueConstraint(fields=["case", "kind"], name="commitment_once_per_kind")]
        verbose_name = _("commitment")

    def __str__(self) -> str:
        return f"{self.kind} of {self.case_id}"


class MaterialStatus(models.TextChoices):
    PENDING = "pending", _("to be supplied")
    SUPPLIED = "supplied", _("supplied, awaiting review")
    ACCEPTED = "accepted", _("accepted")
    REJECTED = "rejected", _("not accepted")
    LAPSED = "lapsed", _("not supplied in time")
    CANCELLED = "cancelled", _("cancelled (the case ended)")


OPEN_MATERIAL_STATUSES = (MaterialStatus.PENDING, MaterialStatus.SUPPLIED)


class DeferredMaterial(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="deferred_materials")
    commitment = models.ForeignKey(Commitment, on_delete=models.CASCADE, related_name="materials")
    slot = models.CharField(_("document slot"), max_length=64)
    status = models.CharField(
        _("status"), max_length=16, choices=MaterialStatus.choices, default=MaterialStatus.PENDING
    )
    due_at = models.DateTimeField(_("due"))
    # Counted over a calendar year not loaded yet: never acted on until exact.
    due_provisional = models.BooleanField(default=False)
    remind_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    supplied_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    opinion = models.TextField(blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "slot"], name="deferred_material_once")]
        indexes = [
            models.Index(
                fields=["due_at"],
                name="deferred_material_due",
                condition=models.Q(status="pending"),
            )
        ]
        verbose_name = _("deferred material")

    def __str__(self) -> str:
        return f"{self.slot} of {self.case_id} ({self.status})"


class VerificationStatus(models.TextChoices):
    OPEN = "open", _("open")
    CONFIRMED = "confirmed", _("commitment confirmed")
    FALSE = "false", _("commitment found false")


class Verification(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="verifications")
    commitment = models.OneToOneField(Commitment, on_delete=models.CASCADE, related_name="verification")
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=16, choices=VerificationStatus.choices, default=VerificationStatus.OPEN
    )
    opened_at = models.DateTimeField(_("opened at"))
    due_at = models.DateTimeField(_("due"))
    due_provisional = models.BooleanField(default=False)
    # When the department's head was told it is overdue (once).
    overdue_notified_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    opinion = models.TextField(blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(
                fields=["department", "due_at"],
                name="verification_open",
                condition=models.Q(status="open"),
            )
        ]
        verbose_name = _("verification (核查)")

    def __str__(self) -> str:
        return f"verification of {self.case_id} ({self.status})"
