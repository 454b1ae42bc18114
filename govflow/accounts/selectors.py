"""Reads about departments (never writes)."""

from __future__ import annotations

from .models import Department


def department_names(*, language: str = "zh") -> dict[str, str]:
    """Each department's code with its name in the language."""
    lang = "en" if language.startswith("en") else "zh"
    return {d.code: d.name(lang) for d in Department.objects.all()}
