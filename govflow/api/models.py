"""Stored answers to requests sent with an Idempotency-Key."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from govflow.security.fields import SealedJSONField


class IdempotencyRecord(models.Model):
    """One key of one user: the operation it was first used for (endpoint
    and a fingerprint of the request) and the answer that was given. The row
    is inserted in the same transaction as the operation's writes, so it
    exists exactly when the operation took effect."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("idempotency key"), max_length=255)
    endpoint = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(default=0)
    response = SealedJSONField(encoder=DjangoJSONEncoder, null=True, position="api.idempotency.response")
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="api_idempotency_user_key")]
        indexes = [models.Index(fields=["created_at"], name="api_idempotency_created")]
        verbose_name = _("idempotency key")

    def __str__(self) -> str:
        return f"{self.key} ({self.endpoint})"
