"""好差评: the applicant's rating of a finished case, and the remediation
(整改) a poor rating (差评) opens for the department concerned.

The rules follow 国办发〔2019〕51号 (docs/ratings.md): five levels, the
bottom two are 差评; one rating per case and department item, plus one of
the whole service (一事一评); a 差评 is remedied within 15 working days,
every remediation ends with a callback (回访) to the applicant, and the
department may appeal (申诉) a rating it holds to be malicious or about
something outside its remit; an upheld appeal takes the rating out of the
statistics."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

POOR_LEVELS = (1, 2)  # 不满意 and 非常不满意 are 差评
REMEDY_WORKING_DAYS = 15


class Level(models.IntegerChoices):
    VERY_SATISFIED = 5, _("very satisfied")
    SATISFIED = 4, _("satisfied")
    BASICALLY_SATISFIED = 3, _("basically satisfied")
    DISSATISFIED = 2, _("dissatisfied")
    VERY_DISSATISFIED = 1, _("very dissatisfied")


class Rating(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="ratings")
    # None: the whole service; else one department's item of the case.
    department = models.ForeignKey(
        "accounts.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="ratings"
    )
    level = models.PositiveSmallIntegerField(_("rating"), choices=Level.choices)
    comment = models.TextField(_("comment"), blank=True, max_length=500)
    rated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    rated_at = models.DateTimeField(_("rated at"))
    # An upheld appeal takes the rating out of the statistics (it stays on record).
    excluded = models.BooleanField(_("excluded from statistics"), default=False)

    class Meta:
        ordering = ["rated_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(department__isnull=True), name="rating_once_per_case"
            ),
            models.UniqueConstraint(
                fields=["case", "department"],
                condition=Q(department__isnull=False),
                name="rating_once_per_case_department",
            ),
            models.CheckConstraint(condition=Q(level__gte=1, level__lte=5), name="rating_level_1_to_5"),
        ]
        indexes = [models.Index(fields=["rated_at"], name="rating_by_time")]
        verbose_name = _("rating")
        verbose_name_plural = _("ratings")

    def __str__(self) -> str:
        return f"{self.case_id}/{self.department_id or '*'}: {self.level}"

    @property
    def is_poor(self) -> bool:
        return self.level in POOR_LEVELS


class RemediationStatus(models.TextChoices):
    OPEN = "open", _("to be remedied")
    APPEALED = "appealed", _("appealed")
    REMEDIED = "remedied", _("remedied, awaiting callback")
    CLOSED = "closed", _("closed after callback")
    WITHDRAWN = "withdrawn", _("closed: appeal upheld")


class CallbackResult(models.TextChoices):
    SATISFIED = "satisfied", _("the applicant is satisfied")
    UNSATISFIED = "unsatisfied", _("the applicant is still not satisfied")
    UNREACHABLE = "unreachable", _("the applicant could not be reached")


class AppealDecision(models.TextChoices):
    UPHELD = "upheld", _("upheld: the rating is excluded")
    DISMISSED = "dismissed", _("dismissed: remedy the rating")


class Remediation(models.Model):
    """整改 of one 差评, owned by the heads of its department."""

    rating = models.OneToOneField(Rating, on_delete=models.PROTECT, related_name="remediation")
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=16, choices=RemediationStatus.choices, default=RemediationStatus.OPEN
    )
    created_at = models.DateTimeField(_("opened at"))
    due_at = models.DateTimeField(_("remedy by"))
    # Counted over a year the working-day calendar does not have yet (预计).
    due_provisional = models.BooleanField(default=False)
    remedy = models.TextField(_("remedy"), blank=True)
    remedied_at = models.DateTimeField(null=True, blank=True)
    remedied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    callback_result = models.CharField(
        _("callback"), max_length=16, choices=CallbackResult.choices, blank=True
    )
    callback_note = models.TextField(blank=True)
    callback_at = models.DateTimeField(null=True, blank=True)
    callback_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    appeal_reason = models.TextField(blank=True)
    appealed_at = models.DateTimeField(null=True, blank=True)
    appealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    appeal_decision = models.CharField(max_length=16, choices=AppealDecision.choices, blank=True)
    appeal_note = models.TextField(blank=True)
    appeal_decided_at = models.DateTimeField(null=True, blank=True)
    appeal_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(
                fields=["department", "due_at"],
                name="remediation_live",
                condition=Q(status__in=["open", "appealed", "remedied"]),
            )
        ]
        verbose_name = _("remediation of a poor rating")
        verbose_name_plural = _("remediations of poor ratings")

    def __str__(self) -> str:
        return f"remediation of rating {self.rating_id} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in (RemediationStatus.OPEN, RemediationStatus.APPEALED, RemediationStatus.REMEDIED)
