"""The credit list (信用) the commitment mechanisms consult.

An applicant on the list, by unified social credit code (an organisation)
or resident ID number (a person), may not use 容缺受理 or 告知承诺制 while
the entry is in force; admins maintain it (Django admin). A commitment
found false writes a credit record, which excludes its subject the same way
for `GOVFLOW_CREDIT_RECORD_DAYS` days (govflow.credit.selectors)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SubjectKind(models.TextChoices):
    USCC = "uscc", _("unified social credit code")
    ID_NUMBER = "id_number", _("resident ID number")


class CreditListEntry(models.Model):
    """An applicant excluded from 容缺 and 告知承诺 (e.g. a 严重失信主体)."""

    kind = models.CharField(_("identifier kind"), max_length=16, choices=SubjectKind.choices)
    code = models.CharField(_("identifier"), max_length=18)
    name = models.CharField(_("name"), max_length=200, blank=True)
    reason = models.TextField(_("reason"), max_length=2000)
    source = models.CharField(_("source"), max_length=200)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["code", "-valid_from"]
        indexes = [models.Index(fields=["code"], name="credit_entry_code")]
        verbose_name = _("credit list entry")
        verbose_name_plural = _("credit list")

    def __str__(self) -> str:
        return f"{self.code} ({self.source})"


class CreditRecord(models.Model):
    """A finding against an applicant written by the platform: a
    commitment (告知承诺) the verification found false."""

    FALSE_COMMITMENT = "false_commitment"
    KINDS = [(FALSE_COMMITMENT, _("false commitment"))]

    kind = models.CharField(_("kind"), max_length=32, choices=KINDS)
    subject_kind = models.CharField(_("identifier kind"), max_length=16, choices=SubjectKind.choices)
    code = models.CharField(_("identifier"), max_length=18)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="credit_records")
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.PROTECT, related_name="credit_records"
    )
    reason = models.TextField(_("reason"), max_length=2000)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        ordering = ["-recorded_at", "id"]
        indexes = [models.Index(fields=["code", "recorded_at"], name="credit_record_code")]
        verbose_name = _("credit record")
        verbose_name_plural = _("credit records")

    def __str__(self) -> str:
        return f"{self.code} {self.kind} ({self.case_id})"
