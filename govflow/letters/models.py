"""Written letters (书面告知): every formal notice the administration sends
an applicant in writing, one row each, with its PDF.

A letter is rendered, stamped with the issuing department's seal, signed
(PAdES, the department's certificate key) and stored when it is issued
(govflow.letters.services.letter_issue); the row is immutable afterwards.
The PDFs live beside the certificates, under `letters/` in the
"certificates" storage (govflow.storage): outside MEDIA_ROOT, served only by
the download views after the case's permission check and the SHA-256 check.
"""

from django.conf import settings
from django.core.files.storage import Storage
from django.db import models
from django.utils.translation import gettext_lazy as _

from govflow.storage import certificate_storage

from .kinds import KINDS


def private_storage() -> Storage:
    return certificate_storage


class Letter(models.Model):
    # <department letters>-<kind mark>-<year>-<six digits>: MR-YQ-2026-000001
    number = models.CharField(_("letter number"), max_length=32, unique=True)
    # The caller's key for one letter (a redelivered request finds the row);
    # blank when the caller gave none.
    key = models.CharField(max_length=200, blank=True)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="letters")
    # A code from govflow.letters.kinds.KINDS (text, so a new kind needs no migration).
    kind = models.CharField(_("kind"), max_length=32)
    # The step it is about (an extended review), if any.
    task = models.ForeignKey(
        "cases.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="letters"
    )
    title = models.CharField(_("title"), max_length=200)
    addressee = models.CharField(_("addressee"), max_length=200, blank=True)
    paragraphs = models.JSONField(default=list)
    legal_basis = models.TextField(_("legal basis"), blank=True)
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="letters")
    # The issuing authority's full name as printed (北京市朝阳区市场监督管理局).
    issuer_name = models.CharField(_("issuing authority"), max_length=200)
    issued_at = models.DateTimeField(_("issued at"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    file = models.FileField(storage=private_storage, max_length=200)
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveIntegerField()
    # SHA-256 of the DER signing certificate and the format; blank when the
    # department had no signing key (the letter is sealed but not signed).
    signer_fingerprint = models.CharField(max_length=64, blank=True)
    signature_format = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["issued_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=~models.Q(key=""), name="letter_one_per_key"),
        ]
        indexes = [models.Index(fields=["case", "issued_at"], name="letter_by_case")]
        verbose_name = _("written letter")
        verbose_name_plural = _("written letters")

    def __str__(self) -> str:
        return self.number

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs or [])

    @property
    def kind_title_en(self) -> str:
        found = KINDS.get(self.kind)
        return found.title_en if found else self.kind

    @property
    def is_signed(self) -> bool:
        return bool(self.signer_fingerprint)
