"""Issued certificates and the counters their numbers come from.

A certificate row is reserved (status `pending`, number allocated) before its
PDF is rendered, so a redelivered render finds the row and prints the same
number; it becomes `valid` when the signed PDF is stored, and may later be
`revoked`. A reissue is a new row whose `replaces` names the one before.
The PDFs live in the "certificates" storage (govflow.storage): the folder
GOVFLOW_CERTIFICATES_DIR, outside MEDIA_ROOT, or `certificates/` in the
GOVFLOW_S3_* bucket; only the download views (with their permission check
and the SHA-256 check) serve them.
"""

from django.conf import settings
from django.core.files.storage import Storage
from django.db import models
from django.utils.translation import gettext_lazy as _

from govflow.storage import certificate_storage


def private_storage() -> Storage:
    return certificate_storage


class CertificateStatus(models.TextChoices):
    PENDING = "pending", _("being issued")
    VALID = "valid", _("valid")
    REVOKED = "revoked", _("revoked")


LIVE_CERTIFICATE_STATUSES = (CertificateStatus.PENDING, CertificateStatus.VALID)


class CertificateSequence(models.Model):
    """The last number given for one prefix (a department's) in one year;
    rows are locked (SELECT ... FOR UPDATE) while a number is taken."""

    prefix = models.CharField(max_length=8)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="certificate_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.prefix}-{self.year}: {self.last}"


class Certificate(models.Model):
    number = models.CharField(_("certificate number"), max_length=32, unique=True)
    # The outbox key that asked for it (or "reissue:<number>"): one row per key.
    issue_key = models.CharField(max_length=200, unique=True)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="certificates")
    node_id = models.CharField(max_length=64)
    type = models.CharField(_("certificate type"), max_length=64)
    title_zh = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200, blank=True)
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.PROTECT, related_name="certificates"
    )
    # Whom it was issued to (the company's or the project's name): public.
    holder = models.CharField(_("holder"), max_length=200, blank=True)
    # The issuing authority's full name as printed (北京市朝阳区市场监督管理局),
    # and the public fields the certificate prints as [label, text] pairs:
    # what /verify/ shows. Filled when the PDF is stored.
    issuer_name = models.CharField(max_length=200, blank=True)
    facts = models.JSONField(default=list, blank=True)
    status = models.CharField(
        max_length=16, choices=CertificateStatus.choices, default=CertificateStatus.PENDING
    )
    issued_at = models.DateTimeField(_("issued at"))
    created_at = models.DateTimeField(auto_now_add=True)
    file = models.FileField(storage=private_storage, max_length=200, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    size = models.PositiveIntegerField(null=True, blank=True)
    # SHA-256 of the DER signing certificate, and how it was signed.
    signer_fingerprint = models.CharField(max_length=64, blank=True)
    signature_format = models.CharField(max_length=64, blank=True)
    render_ms = models.PositiveIntegerField(null=True, blank=True)
    sign_ms = models.PositiveIntegerField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.TextField(blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )

    class Meta:
        ordering = ["issued_at", "id"]
        constraints = [
            # At most one live certificate per case, end node and type
            # (RELIABILITY.md); a reissue revokes the old one first.
            models.UniqueConstraint(
                fields=["case", "node_id", "type"],
                condition=models.Q(status__in=["pending", "valid"]),
                name="certificate_one_live_per_case_type",
            ),
        ]
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")

    def __str__(self) -> str:
        return self.number

    def title(self, language: str = "zh") -> str:
        return (self.title_en or self.title_zh) if language.startswith("en") else self.title_zh

    @property
    def is_valid(self) -> bool:
        return self.status == CertificateStatus.VALID

    @property
    def is_revoked(self) -> bool:
        return self.status == CertificateStatus.REVOKED
