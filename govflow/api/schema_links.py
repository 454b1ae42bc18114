"""OpenAPI links: which response gives the identifier another operation
takes. A client (or a generated SDK) reads them to walk the API: the
`reference` of a case just created is the `{reference}` of its submit,
attachments and timeline; the `id` of a task in the inbox list is the
`{id}` of its claim and decide. Stateful API tests follow the same links.

Derived from the paths, so a new operation gets its links without a table:
an operation whose 2xx body (or the first item of its list or of its page, `results`)
always carries a member (required, not nullable) named like the path parameter that follows its own path is
linked to every operation under `<its path>{<member>}/`; path parameters
the two share are passed on from the request."""

from __future__ import annotations

import re
from typing import Any

PARAMETER = re.compile(r"\{(\w+)\}")
# Members that carry an identifier only sometimes, though always present: a
# verification of a file that is not one of ours answers with an empty number.
SOMETIMES_EMPTY = {("Verification", "number")}
METHODS = ("get", "post", "put", "patch", "delete")


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while isinstance(schema, dict) and "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    return schema if isinstance(schema, dict) else {}


def _always_there(reference: dict[str, Any], components: dict[str, Any]) -> set[str]:
    """The members an object always carries with a value: required, not
    nullable, and not one of SOMETIMES_EMPTY."""
    name = reference.get("$ref", "").rsplit("/", 1)[-1]
    schema = _resolve(reference, components)
    required = set(schema.get("required", ()))
    return {
        member
        for member, definition in schema.get("properties", {}).items()
        if member in required
        and not definition.get("nullable")
        and not _resolve(definition, components).get("nullable")
        and (name, member) not in SOMETIMES_EMPTY
    }


def _identifiers(response: dict[str, Any], components: dict[str, Any]) -> tuple[str, set[str]]:
    """(JSON pointer prefix, member names) of the object a 2xx body holds."""
    body = response.get("content", {}).get("application/json", {}).get("schema", {})
    schema = _resolve(body, components)
    if schema.get("type") == "array":
        return "/0", _always_there(schema.get("items", {}), components)
    properties = schema.get("properties", {})
    if "results" in properties:
        return "/results/0", _always_there(properties["results"].get("items", {}), components)
    return "", _always_there(body, components)


def document_links(result, generator, request, public):
    """drf-spectacular postprocessing hook: add the links (see the module)."""
    components = result.get("components", {}).get("schemas", {})
    operations = [
        (path, method, operation)
        for path, item in result.get("paths", {}).items()
        for method, operation in item.items()
        if method in METHODS and "operationId" in operation
    ]
    for path, _method, operation in operations:
        for status, response in operation.get("responses", {}).items():
            if not status.startswith("2") or "$ref" in response:
                continue
            prefix, members = _identifiers(response, components)
            if not members:
                continue
            links = {}
            for target, _target_method, target_operation in operations:
                rest = target[len(path) :] if target.startswith(path) else ""
                found = PARAMETER.match(rest)
                if not found or found.group(1) not in members:
                    continue
                name = found.group(1)
                parameters = {name: f"$response.body#{prefix}/{name}"}
                for shared in PARAMETER.findall(path):
                    parameters[shared] = f"$request.path.{shared}"
                if set(PARAMETER.findall(target)) != set(parameters):
                    continue  # it needs an identifier this answer does not give
                links[target_operation["operationId"]] = {
                    "operationId": target_operation["operationId"],
                    "parameters": parameters,
                }
            if links:
                response["links"] = links
    return result
