"""Process templates and their immutable published versions.

A template is a named service (企业开办); each publish stores the YAML as a
new version with its hash. Versions are never edited: running cases keep the
version they started on, and new cases take the template's latest version.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ProcessTemplate(models.Model):
    code = models.SlugField(_("code"), max_length=64, unique=True)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    is_active = models.BooleanField(_("offered to applicants"), default=True)
    # Four-eyes (双人复核): a new version is proposed by one administrator and
    # published only when another approves it (govflow.processes.proposals).
    second_approval = models.BooleanField(_("a second administrator approves each version"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    current_version = models.ForeignKey(
        "ProcessVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("process template")

    def __str__(self) -> str:
        return f"{self.title_zh} ({self.code})"

    def title(self, language: str = "zh") -> str:
        return self.title_en if language.startswith("en") else self.title_zh


class ProcessVersion(models.Model):
    template = models.ForeignKey(ProcessTemplate, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    source = models.TextField(_("YAML source"))
    source_sha256 = models.CharField(max_length=64)
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("change note"), max_length=500, blank=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [models.UniqueConstraint(fields=["template", "number"], name="process_version_unique")]
        verbose_name = _("process version")

    def __str__(self) -> str:
        return f"{self.template.code} v{self.number}"


class ProposalStatus(models.TextChoices):
    PENDING = "pending", _("waiting for a second administrator")
    PUBLISHED = "published", _("approved and published")
    REJECTED = "rejected", _("sent back")
    WITHDRAWN = "withdrawn", _("withdrawn")
    SUPERSEDED = "superseded", _("replaced by a later proposal")


class ProcessProposal(models.Model):
    """A new text of a template that waits for a second administrator
    (four-eyes): they see what it changes against the version it was based
    on, and approve (it is published) or send it back with a reason."""

    template = models.ForeignKey(ProcessTemplate, on_delete=models.CASCADE, related_name="proposals")
    based_on = models.ForeignKey(
        ProcessVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.TextField(_("YAML source"))
    source_sha256 = models.CharField(max_length=64)
    note = models.CharField(_("change note"), max_length=500, blank=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    proposed_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=ProposalStatus.choices, default=ProposalStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    version = models.OneToOneField(
        ProcessVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="proposal"
    )

    class Meta:
        ordering = ["-proposed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["template"],
                condition=models.Q(status="pending"),
                name="proposal_one_pending_per_template",
            )
        ]
        verbose_name = _("proposed version")

    def __str__(self) -> str:
        return f"proposal {self.pk} of {self.template.code}"


class ProcessDraft(models.Model):
    """A template's working text from the process designer: saved as often
    as the administrator likes, never run. Publishing stays the editor's
    (and the four-eyes proposal's) business; one draft per template."""

    template = models.OneToOneField(ProcessTemplate, on_delete=models.CASCADE, related_name="draft")
    source = models.TextField(_("YAML source"))
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("process draft")

    def __str__(self) -> str:
        return f"{self.template.code} draft"
