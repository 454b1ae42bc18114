"""Management commands that speak the operator's language.

A command built on TranslatedCommand says what it prints in the configured
language (settings.LANGUAGE_CODE, Chinese by default), in the one given with
`--language zh-hans|en`, or, called with call_command, in the language active
at the call (Django's translation.override). Only the words change: positions (PATH:LINE:COL),
identifiers, JSON output and exit codes stay the same in every language, so
scripts that read them keep working."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import translation


def language_choices() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


class TranslatedCommand(BaseCommand):
    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.add_argument(
            "--language",
            choices=language_choices(),
            help=f"the language of the messages (default: {settings.LANGUAGE_CODE}, from LANGUAGE_CODE)",
        )
        return parser

    def execute(self, *args, **options):
        # --language, else the language already active (call_command inside
        # translation.override), else settings.LANGUAGE_CODE
        language = options.get("language") or translation.get_language() or settings.LANGUAGE_CODE
        with translation.override(language):
            return super().execute(*args, **options)


def short_language() -> str:
    """ "zh" or "en": the key of the engine's two-language texts ({"zh": ..., "en": ...})."""
    return "en" if (translation.get_language() or "").startswith("en") else "zh"
