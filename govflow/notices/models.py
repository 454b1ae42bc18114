"""Objections (异议) filed by the public during a case's public notice
(公示, a `publicity` node). The objector's name and contact are kept for the
department that reviews the objection and are never shown publicly; the
client address is kept only as a keyed hash (to see repeated filings from
one address), never in clear."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Objection(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="objections")
    node_id = models.CharField(max_length=64)
    name = models.CharField(_("name"), max_length=100)
    contact = models.CharField(_("contact"), max_length=200)
    reasons = models.TextField(_("reasons"))
    filed_at = models.DateTimeField(_("filed at"))
    client_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["filed_at", "id"]
        indexes = [models.Index(fields=["case", "filed_at"], name="objection_by_case")]
        verbose_name = _("objection")
        verbose_name_plural = _("objections")

    def __str__(self) -> str:
        return f"objection {self.pk} to case {self.case_id}"
