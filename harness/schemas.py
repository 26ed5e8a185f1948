"""JSON Schema validation against the contracts, offline.

All schemas are registered in one ``referencing`` Registry, so ``$ref``s
between contracts resolve locally and never touch the network.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from contracts import SCHEMA_FILES, load_schema, schema_id

#: Schema messages kept per document; more are summarised.
MAX_SCHEMA_ERRORS = 20


@cache
def registry() -> Registry:
    resources = [
        (schema_id(name), Resource.from_contents(load_schema(name), default_specification=DRAFT202012))
        for name in SCHEMA_FILES
    ]
    return Registry().with_resources(resources)


@cache
def validator(contract: str, pointer: str = "") -> Draft202012Validator:
    """A validator for ``contract`` (or a sub-schema of it at a JSON pointer like ``/$defs/entry``)."""
    schema: dict[str, Any] = load_schema(contract)
    if pointer:
        schema = {"$ref": schema_id(contract) + "#" + pointer}
    return Draft202012Validator(schema, registry=registry(), format_checker=FormatChecker())


def _where(path: Any) -> str:
    return "/" + "/".join(str(p) for p in path) if path else "(document)"


def schema_errors(contract: str, instance: Any, pointer: str = "") -> list[str]:
    """Human-readable schema errors, sorted by location, at most ``MAX_SCHEMA_ERRORS``."""
    errors = sorted(
        validator(contract, pointer).iter_errors(instance),
        key=lambda e: (list(map(str, e.absolute_path)), e.message),
    )
    messages = [f"{_where(e.absolute_path)}: {_short(e.message)}" for e in errors[:MAX_SCHEMA_ERRORS]]
    if len(errors) > MAX_SCHEMA_ERRORS:
        messages.append(f"... and {len(errors) - MAX_SCHEMA_ERRORS} more schema errors")
    return messages


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."
