"""The transactional outbox: side effects written with the state change.

A row is inserted in the same transaction as the change that causes it,
dispatched to Celery after commit, and re-dispatched by a sweeper if the
broker lost it. `key` is unique per effect so consumers can be idempotent.
Delivery is bounded: a row that keeps failing is given up (`failed_at`) and
an incident (govflow.incidents) holds it until an admin retries it.
"""

from django.db import models


class OutboxMessage(models.Model):
    # Unique by a constraint, not `unique=True`: that would also build a
    # pattern-ops index for LIKE queries, which nothing makes.
    key = models.CharField(max_length=200)
    topic = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Not before this moment may the sweeper re-send the row: the backoff
    # after a failure, or the lease of an attempt in progress.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Given up after the last allowed attempt; an incident holds it.
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key"], name="outbox_key_unique")]
        indexes = [
            models.Index(
                fields=["created_at"], name="outbox_not_done", condition=models.Q(done_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return self.key
