"""Departments and who works in them. Roles are Django groups (see ROLES)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# Group names; created by the accounts migration.
APPLICANT = "applicant"
REVIEWER = "reviewer"
DEPARTMENT_HEAD = "department_head"
PROCESS_ADMIN = "process_admin"
LEADER = "leader"
AUDITOR = "auditor"
# Another system (a payment platform, a registry) that sends govflow the
# messages its templates' `signal` nodes wait for (docs/api.md, "Signals").
INTEGRATION = "integration"
ROLES = (APPLICANT, REVIEWER, DEPARTMENT_HEAD, PROCESS_ADMIN, LEADER, AUDITOR, INTEGRATION)


class Department(models.Model):
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    jurisdiction = models.CharField(_("jurisdiction"), max_length=64, default="cn")
    email = models.EmailField(_("notification e-mail"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return f"{self.name_zh} ({self.code})"

    def name(self, language: str = "zh") -> str:
        return self.name_en if language.startswith("en") else self.name_zh


class Membership(models.Model):
    """A staff member's place in a department; a head receives escalations."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="memberships")
    is_head = models.BooleanField(_("department head"), default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "department"], name="membership_unique")]
        verbose_name = _("department membership")

    def __str__(self) -> str:
        return f"{self.user} @ {self.department.code}{' (head)' if self.is_head else ''}"
