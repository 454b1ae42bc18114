"""What the case selectors share: the staff task kinds, the search cap, and
names and node titles in the reader's language.
"""

from __future__ import annotations

from govflow.engine.definition import Definition

from ..models import TaskKind

STAFF_TASK_KINDS = (TaskKind.REVIEW, TaskKind.SIGNATURE, TaskKind.ACCEPTANCE)
MAX_SEARCH = 100


def language_key(language: str | None) -> str:
    return "en" if (language or "").startswith("en") else "zh"


def display_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.first_name or user.get_username()


def node_title_of(definition: Definition | None, node_id: str, lang: str) -> str:
    if definition is None or node_id not in definition.nodes:
        return node_id
    return definition.nodes[node_id].label(lang)
