"""Model fields whose whole value is kept encrypted in the database.

Case form data encrypts only its secret fields (govflow.cases.secrets), so
that the rest stays queryable. Some other rows copy whole bodies that may
hold those secret values: a webhook delivery to an endpoint cleared for
them, the stored answer of an API request replayed under its
Idempotency-Key. Nobody searches inside them, so they are sealed whole with
the same keys (govflow.security.crypto): the database, its dumps and its
backups never hold the values in clear. Rows written before a field was
sealed are read as they are and sealed when next saved.
"""

from __future__ import annotations

import json

from django.apps import apps
from django.db import models, transaction

from .crypto import is_envelope, keyring


class SealedField:
    """What every model field that seals what it stores is, so that
    `sealed_columns` finds them all: the two below, and the fields of
    other apps that seal part of a value (govflow.cases.secrets)."""


class SealedJSONField(SealedField, models.JSONField):
    """A JSON value stored as one envelope; `position` binds it to its column."""

    def __init__(self, *args, position: str, **kwargs) -> None:
        self.position = position
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["position"] = self.position
        return name, path, args, kwargs

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is not None and not prepared:
            if self.encoder is not None:  # dates, decimals: as the column would store them
                value = json.loads(json.dumps(value, cls=self.encoder))
            value = keyring().seal(value, self.position)
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value, expression, connection):
        value = super().from_db_value(value, expression, connection)
        if is_envelope(value):
            return keyring().open(value, self.position)
        return value


class SealedTextField(SealedField, models.TextField):
    """Text stored as `sealed:` + a JSON envelope."""

    PREFIX = "sealed:"

    def __init__(self, *args, position: str, **kwargs) -> None:
        self.position = position
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["position"] = self.position
        return name, path, args, kwargs

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        envelope = keyring().seal(value, self.position)
        return self.PREFIX + json.dumps(envelope, separators=(",", ":"))

    def from_db_value(self, value, expression, connection):
        if isinstance(value, str) and value.startswith(self.PREFIX):
            return keyring().open(json.loads(value[len(self.PREFIX) :]), self.position)
        return value


def sealed_columns():
    """(model, [field names]) of every sealed column outside Case.data,
    which `rotate_data_key` reseals with the cases."""
    found = []
    for model in apps.get_models():
        if model._meta.label == "cases.Case":
            continue
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, SealedField)]
        if names:
            found.append((model, names))
    return found


def sealed_rows_reseal(*, batch_size: int = 500) -> dict[str, int]:
    """Save every row of the sealed columns again, under the current key, a
    locked batch per transaction; returns the rows rewritten per model. The
    seal is deterministic, so rows already under the current key are
    rewritten with the same bytes and a second run changes nothing."""
    done: dict[str, int] = {}
    for model, names in sealed_columns():
        last = 0
        count = 0
        while True:
            with transaction.atomic():
                rows = list(model.objects.select_for_update().filter(pk__gt=last).order_by("pk")[:batch_size])
                for row in rows:
                    row.save(update_fields=names)
            if not rows:
                break
            last = rows[-1].pk
            count += len(rows)
        done[model._meta.label] = count
    return done
