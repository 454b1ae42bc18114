"""Translations: Chinese is complete, the compiled catalogues match the
sources, and every string the web marks for translation is in them."""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"
TEMPLATES = Path(settings.BASE_DIR) / "templates"
WEB = Path(settings.BASE_DIR) / "govflow" / "web"


def _entries(po: Path) -> list[tuple[str, str, list[str], bool]]:
    """(msgid, msgid_plural, msgstrs, fuzzy) of each entry of a .po file (msgid with its context, if any)."""

    def unquote(block: str) -> str:
        return "".join(
            bytes(line.strip()[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
            for line in block.strip().splitlines()
            if line.strip()
        )

    entries = []
    for chunk in po.read_text(encoding="utf-8").split("\n\n")[1:]:
        if not chunk.strip() or chunk.lstrip().startswith("#~"):
            continue
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', chunk, re.M)
        context = re.search(r'^msgctxt ((?:".*"\n?)+)', chunk, re.M)
        plural = re.search(r'^msgid_plural ((?:".*"\n?)+)', chunk, re.M)
        strs = re.findall(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', chunk, re.M)
        entries.append(
            (
                # a msgid with a context (pgettext) is keyed "context\x04msgid" in the compiled file
                (unquote(context[1]) + "\x04" if context else "") + unquote(msgid[1]),
                unquote(plural[1]) if plural else "",
                [unquote(s) for s in strs],
                "#, fuzzy" in chunk or ", fuzzy" in chunk,
            )
        )
    return entries


@pytest.mark.parametrize("language", ["zh_Hans", "en"])
def test_every_entry_is_translated_and_none_is_fuzzy(language):
    entries = _entries(LOCALE / language / "LC_MESSAGES" / "django.po")
    assert len(entries) > 300
    assert [e[0] for e in entries if e[3]] == []
    assert [e[0] for e in entries if not all(e[2])] == []


@pytest.mark.parametrize("language", ["zh_Hans", "en"])
def test_the_compiled_catalogue_matches_its_source(language):
    folder = LOCALE / language / "LC_MESSAGES"
    with open(folder / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for msgid, plural, strs, _fuzzy in _entries(folder / "django.po"):
        if plural:
            assert compiled.ngettext(msgid, plural, 1) == strs[0], msgid
        else:
            assert compiled.gettext(msgid) == strs[0], msgid


def _marked_strings() -> set[str]:
    found = set()
    mine = [TEMPLATES / name for name in ("base.html", "400.html", "403.html", "404.html")]
    for folder in ("portal", "cases", "inbox", "console", "errors", "registration"):
        mine += sorted((TEMPLATES / folder).rglob("*.html"))
    for path in mine:
        found |= set(re.findall(r'{%\s*translate\s+"([^"]+)"', path.read_text(encoding="utf-8")))
        found |= set(re.findall(r"{%\s*translate\s+'([^']+)'", path.read_text(encoding="utf-8")))
    for path in WEB.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'\b_\(\s*"([^"\\]+)"\s*\)', text))
    return found


def test_every_marked_string_has_a_chinese_translation():
    # Apps keep their own catalogues (govflow/<app>/locale), which Django merges.
    catalogues = [LOCALE / "zh_Hans" / "LC_MESSAGES" / "django.po"]
    catalogues += sorted(Path(settings.BASE_DIR, "govflow").glob("*/locale/zh_Hans/LC_MESSAGES/django.po"))
    chinese = {
        msgid
        for catalogue in catalogues
        for msgid, _plural, strs, _fuzzy in _entries(catalogue)
        if all(strs)
    }
    missing = sorted(_marked_strings() - chinese)
    assert missing == [], "run makemessages and translate: " + ", ".join(missing)
