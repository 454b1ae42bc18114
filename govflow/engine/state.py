"""Stored case state: serialisation with a schema version and a migration chain.

A case's state is saved as one JSON document. When the runtime's state layout
changes, SCHEMA_VERSION goes up and a function is added to MIGRATIONS that
lifts a document from the version before; `load_state` applies the chain, so
cases stored by older releases keep running.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .problems import EngineError
from .runtime import SCHEMA_VERSION

Migration = Callable[[dict[str, Any]], dict[str, Any]]


def _from_v0(state: dict[str, Any]) -> dict[str, Any]:
    # Version 0 (development snapshots) had no pause counter or certificate list.
    state.setdefault("paused", 0)
    state.setdefault("certificates", [])
    state["schema_version"] = 1
    return state


MIGRATIONS: dict[int, Migration] = {0: _from_v0}


class StateVersionError(EngineError):
    code = "state_version"


def dump_state(state: dict[str, Any]) -> str:
    return json.dumps(state, ensure_ascii=False, separators=(",", ":"), sort_keys=False)


def load_state(raw: str | bytes | dict[str, Any]) -> dict[str, Any]:
    state = json.loads(raw) if isinstance(raw, str | bytes) else raw
    if not isinstance(state, dict):
        raise StateVersionError("stored state is not a JSON object")
    version = state.get("schema_version", 0)
    if type(version) is not int or version > SCHEMA_VERSION:
        raise StateVersionError(
            f"stored state has schema version {version!r}; this engine knows {SCHEMA_VERSION}"
        )
    while version < SCHEMA_VERSION:
        migrate = MIGRATIONS.get(version)
        if migrate is None:
            raise StateVersionError(f"no migration from state schema version {version}")
        state = migrate(state)
        version = state["schema_version"]
    return state
