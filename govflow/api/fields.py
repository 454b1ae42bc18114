"""Serializer fields that take only what the schema says.

DRF's CharField turns a number into text (`{"reason": -195561}` was taken
as the reason "-195561"), while the OpenAPI schema says `type: string`: a
client that sends a number has a bug worth a 400. These take strings only.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from govflow.converters import MAX_ID


class _StringsOnly:
    default_error_messages = {"not_a_string": _("Give text (a JSON string), not {kind}.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string", kind=type(data).__name__ if data is not None else "null")
        return super().to_internal_value(data)


class TextField(_StringsOnly, serializers.CharField):
    pass


class SlugTextField(_StringsOnly, serializers.SlugField):
    pass


class PatternTextField(_StringsOnly, serializers.RegexField):
    """Text that must match `regex`, which the schema states as its pattern."""


# A request body that takes only the members it names: any other is a 400
# naming it, as its schema says (`additionalProperties: false`, BodySchema
# below). A comment, not a docstring: drf-spectacular would show a docstring
# as the description of every such body.
class BodySerializer(serializers.Serializer):
    default_error_messages = {"unknown": _("This API does not take this member.")}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if hasattr(data, "keys"):
            known = {*self.fields, "csrfmiddlewaretoken"}  # a browser form's token may come along
            unknown = sorted(str(key) for key in data if key not in known)
            if unknown:
                raise serializers.ValidationError({key: [self.error_messages["unknown"]] for key in unknown})
        return value


class BodySchema(OpenApiSerializerExtension):
    # drf-spectacular: a BodySerializer's request schema takes no other member.

    target_class = BodySerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request":
            schema["additionalProperties"] = False
        return schema


class WholeNumberField(serializers.IntegerField):
    """A whole number as the schema says (`type: integer`): a JSON number
    without a fraction. DRF's IntegerField also takes "3", 3.0 and true;
    a client sending those has a bug worth a 400."""

    default_error_messages = {"not_a_number": _("Give a whole number (a JSON number), not {kind}.")}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("not_a_number", kind=type(data).__name__ if data is not None else "null")
        return super().to_internal_value(data)


class TruthField(serializers.BooleanField):
    """true or false as the schema says (`type: boolean`); DRF's BooleanField
    also takes "yes", "on", 1 and "0"."""

    default_error_messages = {"not_a_boolean": _("Give true or false, not {kind}.")}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("not_a_boolean", kind=type(data).__name__ if data is not None else "null")
        return data


class IdField(WholeNumberField):
    """An object's id in a request body: at most 2**63 - 1, like <id:...> in
    addresses (govflow.converters); a larger number is a 400, never a value
    SQLite cannot bind (OverflowError, a 500)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)
