"""The shared data catalogue (数据目录).

- `Dataset`: one dataset's metadata (owning department and process, fields
  with types, sensitivity and the departments they are shared with, update
  rule, licence). Defined from govflow/catalog/datasets.yaml.
- `Record` / `RecordVersion`: the facts. A record is identified by its key
  within the dataset (a credit code, a project code); every write by the
  owning process appends a version naming the case that wrote it, and the
  record keeps a copy of the current version for reads. Only the publishing
  service writes them (there is no admin or API edit path).
- `FactClaim`: provenance. A form field of a case filled from a record
  version, and at submission whether the submitted value still is the
  verified one.
- `FieldTally`: per submitted case, how many fields were submitted and how
  many came from the catalogue (the sharing rate).
- `DataRequest`: a department asks a dataset's owner for fields it is not
  cleared for; the owner's head grants it for a number of days, or refuses.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from govflow.cases.secrets import SecretDataField, SecretPositions
from govflow.security.fields import SealedJSONField

SENSITIVITIES = ("public", "internal", "secret")


class Dataset(models.Model):
    code = models.SlugField(_("code"), max_length=64, unique=True)
    title_zh = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200)
    description_zh = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    owner = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="datasets")
    # The template code whose approved cases write the records.
    process = models.CharField(_("owning process"), max_length=64)
    key_label_zh = models.CharField(max_length=200)
    key_label_en = models.CharField(max_length=200)
    update_rule_zh = models.CharField(max_length=500)
    update_rule_en = models.CharField(max_length=500)
    sharing = models.CharField(max_length=16, default="conditional")
    licence_zh = models.TextField()
    licence_en = models.TextField()
    # [{id, type, sensitivity, label: {zh, en}, shared_with: [codes] | "all", choices}]
    fields = models.JSONField(default=list)
    defined_at = models.DateTimeField()

    class Meta:
        ordering = ["code"]
        verbose_name = _("dataset")

    def __str__(self) -> str:
        return self.code

    def title(self, language: str = "zh") -> str:
        return self.title_en if language.startswith("en") else self.title_zh


class RecordDataField(SecretDataField):
    """A record's values, with the dataset's secret fields sealed in the
    column exactly as a case's are (govflow.cases.secrets): the register
    holds the legal representative's ID number and phone."""

    def secret_positions(self, instance) -> SecretPositions:
        dataset = instance.dataset if isinstance(instance, Record) else instance.record.dataset
        return SecretPositions(
            fields=frozenset(f["id"] for f in dataset.fields or () if f.get("sensitivity") == "secret")
        )


class Record(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="records")
    key = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    data = RecordDataField(default=dict)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["dataset", "key"]
        constraints = [models.UniqueConstraint(fields=["dataset", "key"], name="catalog_record_key_unique")]
        indexes = [models.Index(fields=["dataset", "-updated_at"], name="catalog_record_fresh")]

    def __str__(self) -> str:
        return f"{self.dataset_id}:{self.key} v{self.version}"


class RecordVersion(models.Model):
    record = models.ForeignKey(Record, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    data = RecordDataField(default=dict)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    # The outbox key (plus the certificate type) that asked for it: a
    # redelivered publication finds its version and writes nothing.
    publish_key = models.CharField(max_length=200, unique=True)
    published_at = models.DateTimeField()

    class Meta:
        ordering = ["record", "number"]
        constraints = [
            models.UniqueConstraint(fields=["record", "number"], name="catalog_version_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.record_id} v{self.number}"


class ClaimStatus(models.TextChoices):
    OFFERED = "offered", _("filled from the catalogue")
    VERIFIED = "verified", _("verified")
    CHANGED = "changed", _("changed by the applicant")


class FactClaim(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    field_id = models.CharField(max_length=64)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="+")
    record = models.ForeignKey(Record, on_delete=models.PROTECT, related_name="+")
    version = models.PositiveIntegerField()
    dataset_field = models.CharField(max_length=64)
    # The value as filled in (the portal keeps a verified field at it).
    value = SealedJSONField(null=True, position="catalog.claim.value")
    status = models.CharField(max_length=16, choices=ClaimStatus.choices, default=ClaimStatus.OFFERED)
    filled_at = models.DateTimeField()
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case", "field_id"]
        constraints = [models.UniqueConstraint(fields=["case", "field_id"], name="catalog_claim_unique")]

    def __str__(self) -> str:
        return f"{self.case_id}.{self.field_id} <- {self.dataset_id}:{self.record_id} v{self.version}"


class FieldTally(models.Model):
    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, primary_key=True, related_name="+")
    template = models.ForeignKey("processes.ProcessTemplate", on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField()
    fields_total = models.PositiveIntegerField()
    fields_from_catalog = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["submitted_at"], name="catalog_tally_submitted")]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.fields_from_catalog}/{self.fields_total}"


class RequestStatus(models.TextChoices):
    PENDING = "pending", _("waiting for the owner")
    APPROVED = "approved", _("granted")
    REFUSED = "refused", _("refused")


class DataRequest(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="requests")
    department = models.ForeignKey("accounts.Department", on_delete=models.PROTECT, related_name="+")
    fields = models.JSONField(default=list)
    purpose = models.TextField()
    days = models.PositiveSmallIntegerField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=RequestStatus.choices, default=RequestStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            models.Index(fields=["dataset", "status"], name="catalog_request_status"),
            models.Index(fields=["department", "status", "valid_until"], name="catalog_grant_live"),
        ]

    def __str__(self) -> str:
        return f"{self.department_id} -> {self.dataset_id} ({self.status})"
