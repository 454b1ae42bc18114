"""The schema says which characters text may hold (govflow.engine.text).

The server refuses control characters, bidi controls and invisible
formatting characters in every query parameter, header and body string
(govflow.security.input), so the schema says the same with a `pattern`:
single-line text (query, path, header values and the names of object
members) may hold none of them, body strings may hold tab, line feed and
carriage return. Free-form objects (a case's `data`) get a value schema
that follows the same rule two levels deep (values, table rows).

The patterns are ECMA 262 regular expressions that Python's `re` reads
the same way.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

# The tag characters (U+E0000-U+E007F) and lone surrogates, also refused,
# are left out of the patterns: tools that combine a pattern with a length
# (schemathesis) cannot write astral ranges back as ECMA 262, and UTF-8
# cannot carry lone surrogates at all.
_INVISIBLE = r"\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
LINE_PATTERN = rf"^[^\x00-\x1f\x7f-\x9f{_INVISIBLE}]*$"
TEXT_PATTERN = rf"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_INVISIBLE}]*$"

_SCALARS: list[dict[str, Any]] = [
    {"type": "string", "pattern": TEXT_PATTERN, "nullable": True},
    {"type": "number", "nullable": True},
    {"type": "boolean", "nullable": True},
]


def _members(values: dict[str, Any], declared: Iterable[str] = ()) -> dict[str, Any]:
    """Members besides the `declared` ones: names and values that follow the
    rule. patternProperties rather than propertyNames, as generators
    (schemathesis) draw the names of extra members from it; the pattern
    leaves the declared names out, so their own schemas alone apply."""
    names = "|".join(re.escape(name) for name in sorted(declared))
    pattern = f"^(?!(?:{names})$){LINE_PATTERN[1:]}" if names else LINE_PATTERN
    return {"patternProperties": {pattern: values}, "additionalProperties": False}


_ROW = {"type": "object", **_members({"anyOf": _SCALARS})}
# Any JSON value whose text follows the rule: scalars, lists of scalars or
# rows, and objects of those (a table is a list of rows).
CLEAN_VALUE: dict[str, Any] = {
    "nullable": True,
    "anyOf": [
        *_SCALARS,
        {"type": "array", "items": {"anyOf": [*_SCALARS, _ROW]}},
        {
            "type": "object",
            **_members({"anyOf": [*_SCALARS, {"type": "array", "items": {"anyOf": _SCALARS}}]}),
        },
    ],
}


def _is_free_text(schema: dict) -> bool:
    return (
        schema.get("type") == "string"
        and "pattern" not in schema
        and "enum" not in schema
        and schema.get("format") not in ("binary", "date", "date-time", "uuid", "uri", "email")
    )


def constrain(schema: Any, pattern: str = TEXT_PATTERN) -> None:
    """Add the rule to `schema` and everything inside it, in place."""
    if isinstance(schema, list):
        for item in schema:
            constrain(item, pattern)
        return
    if not isinstance(schema, dict):
        return
    if _is_free_text(schema):
        # A field that may not be blank is trimmed first (DRF): it needs a
        # character that is not white space.
        non_blank = schema.get("minLength", 0) >= 1
        schema["pattern"] = f"^(?=[\\s\\S]*\\S){pattern[1:]}" if non_blank else pattern
    if schema.get("type") == "string" and schema.get("format") == "binary":
        schema.setdefault("minLength", 1)  # a file part with no bytes is no file
    if schema.get("type") == "object" or "properties" in schema or "additionalProperties" in schema:
        extra = schema.get("additionalProperties", True)
        declared = list(schema.get("properties") or ())
        if (extra is True or extra == {}) and declared:
            # A plain serializer's body: it ignores other members, whatever
            # their value, once their names and text follow the rule.
            schema.update(_members({}, declared))
        elif extra is True or extra == {}:  # free-form (a case's data): names and values follow the rule
            schema.update(copy.deepcopy(_members(CLEAN_VALUE)))
        elif isinstance(extra, dict):
            constrain(extra, pattern)
            schema.update(_members(extra, declared))
    for member in (schema.get("properties") or {}).values():
        constrain(member, pattern)
    if isinstance(schema.get("items"), dict):
        constrain(schema["items"], pattern)
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            constrain(schema[key], pattern)


def document_text_rule(result, generator, request, public):
    """drf-spectacular postprocessing hook: the character rule on every
    request parameter and request body."""
    schemas = result.get("components", {}).get("schemas", {})
    for name, schema in schemas.items():
        if name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: what clients send
            constrain(schema)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema")
                if isinstance(schema, dict):
                    constrain(schema, LINE_PATTERN)
                    if schema.get("type") == "array":
                        constrain(schema.get("items"), LINE_PATTERN)
                        if parameter.get("in") == "query":
                            schema.setdefault("minItems", 1)  # sent empty (`ordering=`) is refused
                    elif parameter.get("required") and schema.get("type") == "string":
                        schema.setdefault("minLength", 1)  # a required parameter sent blank is missing
            for media in (operation.get("requestBody") or {}).get("content", {}).values():
                schema = media.get("schema")
                if isinstance(schema, dict) and "$ref" not in schema:
                    constrain(schema)
    return result
