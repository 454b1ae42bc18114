"""Nothing a user reads escapes translation: the templates hold no Chinese
or English words outside {% translate %} / {% blocktranslate %} (legal
documents and the bilingual error pages aside), the views put no bare
literal in a message, and every message the engine writes for a template
(govflow.engine.problems.Message) is in the Chinese catalogue."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from django.conf import settings

BASE = Path(settings.BASE_DIR)
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
WORD = re.compile(r"[A-Za-z]{2,}")

# Chinese-only by nature: licences and certificates (their legal wording is
# fixed in Chinese) and the written letters (告知书); the pages shown when
# Django itself cannot answer (500, 503) say everything in both languages.
LEGAL_OR_BILINGUAL = ("certificates/", "letters/", "500.html", "503.html")
# Words and marks that are the same in both languages.
SAME_IN_BOTH = {
    "政",  # the brand mark
    "中文",  # the language switcher names each language in itself
    "English",
    "govflow",
    "SHA-256",
    "HTTP",
    "Website",  # a honeypot field no one sees (visually hidden, aria-hidden)
    "GF2026…",  # an example case number
}


def _visible_texts(source: str) -> list[str]:
    """The text between tags and the attributes people read, once the
    translated parts, comments, tags, variables, scripts and styles are gone."""
    source = re.sub(r"{#.*?#}", " ", source, flags=re.S)
    source = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", " ", source, flags=re.S)
    source = re.sub(r"{%\s*blocktranslate.*?%}.*?{%\s*endblocktranslate\s*%}", " ", source, flags=re.S)
    source = re.sub(r"{%.*?%}", " ", source, flags=re.S)
    source = re.sub(r"{{.*?}}", " ", source, flags=re.S)
    source = re.sub(r"<(script|style)\b.*?</\1>", " ", source, flags=re.S)
    texts = [m.group(1) for m in re.finditer(r">([^<]+)<", source)]
    texts += [m.group(2) for m in re.finditer(r'\b(title|aria-label|alt)="([^"]*)"', source)]
    return [" ".join(t.split()) for t in texts if t.strip()]


def untranslated_in_templates(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.html")):
        name = path.relative_to(root).as_posix()
        if name.startswith(LEGAL_OR_BILINGUAL):
            continue
        for text in _visible_texts(path.read_text(encoding="utf-8")):
            rest = text
            for same in sorted(SAME_IN_BOTH, key=len, reverse=True):
                rest = rest.replace(same, " ")
            if HAN.search(rest) or WORD.search(rest):
                found.append(f"{name}: {text[:60]}")
    return found


def test_templates_say_nothing_outside_translate():
    assert untranslated_in_templates(BASE / "templates") == []


def test_the_scan_finds_an_unmarked_word(tmp_path):
    # the check itself can fail: a bare word and a bare Chinese phrase are found
    (tmp_path / "page.html").write_text(
        '{% load i18n %}<h1>{% translate "Inbox" %}</h1><p>Decide</p><p title="签收">·</p>', encoding="utf-8"
    )
    assert untranslated_in_templates(tmp_path) == ["page.html: Decide", "page.html: 签收"]


def test_views_put_no_bare_literal_in_a_message():
    bare = []
    for path in sorted((BASE / "govflow").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "messages"
                and node.func.attr in ("success", "error", "info", "warning")
                and len(node.args) >= 2
            ):
                continue
            text = node.args[1]
            parts = (
                [text.value]
                if isinstance(text, ast.Constant) and isinstance(text.value, str)
                else [v.value for v in text.values if isinstance(v, ast.Constant)]
                if isinstance(text, ast.JoinedStr)
                else []
            )
            if any(HAN.search(p) or WORD.search(p) for p in parts):
                bare.append(f"{path.relative_to(BASE)}:{node.lineno}")
    assert bare == []


def _engine_messages() -> set[str]:
    """The templates of the engine's messages: each Message("...") written in govflow/engine."""
    found = set()
    for path in sorted((BASE / "govflow" / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Message"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def test_every_engine_message_has_a_chinese_translation_with_the_same_fields():
    from django.utils import translation

    templates = _engine_messages()
    assert len(templates) > 250  # the loader's and the graph checks' messages
    missing, broken = [], []
    with translation.override("zh-hans"):
        for template in sorted(templates):
            chinese = translation.gettext(template)
            if chinese == template or not HAN.search(chinese):
                missing.append(template)
            elif set(re.findall(r"{(\w+)", chinese)) - set(re.findall(r"{(\w+)", template)):
                broken.append(template)
    assert missing == [], "translate in locale/zh_Hans: " + " | ".join(missing)
    assert broken == []


def test_the_loader_reports_no_problem_as_an_f_string():
    """A problem written as an f-string has no template to translate: the
    console would show it in English. Each goes through Message (or is a
    constant the catalogue has whole)."""
    written = []
    for path in sorted((BASE / "govflow" / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "err"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.JoinedStr)
            ):
                written.append(f"{path.relative_to(BASE)}:{node.lineno}")
    assert written == []
