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
            words = WORD.search(re.sub(r"{\w+}", "", template))  # "{first}, {then}" has only marks
            if chinese == template or (words and not HAN.search(chinese)):
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


# The engine's refusals and the dry run's failures reach people (a reviewer's
# task page, an API error body, the console's dry run): each is made with
# Message, so that its template is the catalogue's key.
# (the error, and which of its arguments is the message)
ENGINE_ERRORS = {
    "IllegalEvent": 0,
    "NoBranchMatched": 0,
    "SimulationError": 0,
    "script_error": 0,
    "_BlockError": 1,
    "ExpressionError": 0,
    "EvaluationError": 0,
}
# Prose: three words in a row, as a sentence has and an identifier does not.
PROSE = re.compile(r"[A-Za-z']+ [A-Za-z']+ [A-Za-z'(]+")


def _is_message(node: ast.AST) -> bool:
    """A Message(...) call, or a choice between two of them."""
    if isinstance(node, ast.IfExp):
        return _is_message(node.body) and _is_message(node.orelse)
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Message"


def _writes_text(node: ast.AST) -> bool:
    """Whether an expression writes text of its own outside Message (a
    name, `exc.message` or a table of Messages passes one made elsewhere)."""
    if _is_message(node):
        return False
    if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return True
    return any(_writes_text(child) for child in ast.iter_child_nodes(node))


def engine_errors_not_templated(root: Path) -> list[str]:
    """The places in `root` where an engine error is raised with a plain
    string or an f-string instead of a Message."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in ENGINE_ERRORS or len(node.args) <= ENGINE_ERRORS[name]:
                continue
            if _writes_text(node.args[ENGINE_ERRORS[name]]):
                found.append(f"{path.relative_to(root.parent).as_posix()}:{node.lineno}")
    return found


def prose_outside_messages(path: Path) -> list[str]:
    """Sentences in a module written outside Message templates (docstrings,
    programmers' errors, ValueError / TypeError, and the events it hands
    the engine, `rt.Withdraw(reason=...)`, aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skip.add(id(node.value))  # a docstring
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "id", None)
            if name == "Message" and node.args:
                skip.add(id(node.args[0]))
            elif name in ("ValueError", "TypeError") or (
                isinstance(node.func, ast.Attribute) and getattr(node.func.value, "id", None) == "rt"
            ):  # a programmer's error, or what the run tells the engine (a simulated opinion)
                skip.update(id(a) for a in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            texts = [node.value]
        elif isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
            texts = [v.value for v in node.values if isinstance(v, ast.Constant)]
        else:
            continue
        if any(PROSE.search(t) for t in texts):
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_engine_errors_are_message_templates():
    assert engine_errors_not_templated(BASE / "govflow" / "engine") == []


def test_the_dry_run_writes_no_sentence_outside_a_message():
    assert prose_outside_messages(BASE / "govflow" / "engine" / "simulate.py") == []


def test_the_scans_find_a_plain_refusal_and_an_f_string(tmp_path):
    engine = tmp_path / "engine"
    engine.mkdir()
    (engine / "kind.py").write_text(
        "def react(task):\n"
        '    raise IllegalEvent(f"task {task} is not open", code="task_not_open")\n'
        "def fine(task, exc):\n"
        "    raise IllegalEvent(Message(\"task '{task}' is not open\", task=task))\n"
        "    raise IllegalEvent(exc.message)\n"
        "def stuck(self, node):\n"
        '    raise self.script_error("the case is stuck here", None, node)\n',
        encoding="utf-8",
    )
    assert engine_errors_not_templated(engine) == ["engine/kind.py:2", "engine/kind.py:7"]
    (engine / "simulate.py").write_text(
        'def why(node):\n    """Say why the run stopped at a node."""\n'
        '    return f"the run stopped at {node}"\n'
        "def fine(node):\n"
        '    return Message("the run stopped at {node}", node=node), "approve"\n',
        encoding="utf-8",
    )
    assert prose_outside_messages(engine / "simulate.py") == ["simulate.py:3"]


def test_a_refusal_reads_in_chinese_on_the_web_and_in_the_api():
    from django.utils import translation

    from govflow.engine import IllegalEvent
    from govflow.engine.problems import Message
    from govflow.errors import Conflict
    from govflow.messages import error_text

    refusal = IllegalEvent(Message("task '{task}' is not open", task="t3"), code="task_not_open")
    error = Conflict(refusal.message)
    assert str(error.message) == "task 't3' is not open"
    with translation.override("zh-hans"):
        chinese = error_text(error)
    with translation.override("en"):
        english = error_text(error)
    assert "t3" in chinese
    assert HAN.search(chinese)
    assert english == "task 't3' is not open"


# The BPMN importer's refusals and notes reach an administrator (the
# console's import page, the import command): each is made with Message.
# (the call, and which of its arguments is the message)
BPMN_CALLS = {"problem": 0, "note": 0, "refuse": 0, "BpmnProblem": 2, "DurationError": 0}


def _bpmn_writes_text(node: ast.AST) -> bool:
    """_writes_text, where an empty string (no reason, no subject) says nothing."""
    if isinstance(node, ast.Constant) and node.value == "":
        return False
    if isinstance(node, ast.IfExp):
        return _bpmn_writes_text(node.body) or _bpmn_writes_text(node.orelse)
    return _writes_text(node)


def bpmn_problems_not_templated(root: Path) -> list[str]:
    """The places in `root` where a BPMN problem, note or condition reason is
    written as a plain string or an f-string instead of a Message."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            texts = [k.value for k in node.keywords if name == "Condition" and k.arg == "reason"]
            if name in BPMN_CALLS and len(node.args) > BPMN_CALLS[name]:
                texts.append(node.args[BPMN_CALLS[name]])
            if any(_bpmn_writes_text(text) for text in texts):
                found.append(f"{path.relative_to(root.parent).as_posix()}:{node.lineno}")
    return found


def test_the_bpmn_importer_writes_its_problems_as_message_templates():
    assert bpmn_problems_not_templated(BASE / "govflow" / "bpmn") == []


def test_the_bpmn_scan_finds_a_plain_problem_and_an_f_string(tmp_path):
    bpmn = tmp_path / "bpmn"
    bpmn.mkdir()
    (bpmn / "reading.py").write_text(
        "def read(self, node, el, text):\n"
        '    self.problem(f"the id {node} is used twice", el=el)\n'
        '    self.note("the process was skipped", node=node)\n'
        '    return Condition(text, "", None, reason=f"govflow has no operator {text}")\n'
        "def fine(self, node, hint, text):\n"
        "    self.problem(Message(\"the id '{id}' is used twice\", id=node), node=node)\n"
        "    self.problem(hint, node=node)\n"
        '    return Condition(text, "", None, reason="" if text else Message("it is empty"))\n',
        encoding="utf-8",
    )
    assert bpmn_problems_not_templated(bpmn) == [
        "bpmn/reading.py:2",
        "bpmn/reading.py:3",
        "bpmn/reading.py:4",
    ]


def _bpmn_messages() -> set[str]:
    found = set()
    for path in sorted((BASE / "govflow" / "bpmn").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Message" and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
    from govflow.bpmn import writing

    found.update((writing._CANNOT_RUN, writing._CANNOT_RUN_RENAMED))
    return found


def test_every_bpmn_importer_message_has_a_chinese_translation_with_the_same_fields():
    from django.utils import translation

    templates = _bpmn_messages()
    assert len(templates) > 100
    missing, broken = [], []
    with translation.override("zh-hans"):
        for template in sorted(templates):
            chinese = translation.gettext(template)
            words = WORD.search(re.sub(r"{\w+}", "", template))
            if words and (chinese == template or not HAN.search(chinese)):
                missing.append(template)
            elif set(re.findall(r"{(\w+)", chinese)) != set(re.findall(r"{(\w+)", template)):
                broken.append(template)
    assert missing == [], "translate in govflow/bpmn/locale/zh_Hans: " + " | ".join(missing)
    assert broken == []


# The command-line tools (validate_process, simulate_process, import_bpmn ...)
# speak the configured language too (govflow.command_language.TranslatedCommand): what a
# command writes on stdout / stderr or raises as a CommandError holds no words
# outside a translation call. Positions and punctuation (f"{path}:1:1: ") may
# stand as literals.
TRANSLATING_CALLS = {"_", "gettext", "ngettext", "pgettext", "Message", "engine_text"}
# Tools whose output is read by programs rather than people, or that only
# set up a machine (keys, demo data, background loops): they stay in English.
COMMANDS_IN_ENGLISH = {
    "api/management/commands/purge_idempotency_keys.py",
    "audit/management/commands/audit_checkpoint.py",
    "audit/management/commands/audit_keygen.py",
    "audit/management/commands/export_audit_checkpoints.py",
    "cases/management/commands/case_limits_backfill.py",
    "cases/management/commands/check_stored_files.py",
    "cases/management/commands/find_cases_by_secret.py",
    "cases/management/commands/load_demo.py",
    "cases/management/commands/purge_retention.py",
    "cases/management/commands/rotate_data_key.py",
    "cases/management/commands/run_embedded.py",
    "cases/management/commands/sweep_orphan_files.py",
    "catalog/management/commands/load_catalog.py",
    "certificates/management/commands/certificate_keys.py",
    "insight/management/commands/insight_backfill.py",
    "insight/management/commands/insight_project.py",
    "insight/management/commands/insight_rollup.py",
    "insight/management/commands/seed_history.py",
    "outbox/management/commands/outbox_relay.py",
}


# A key, a format's field or an encoding ("path", "utf-8"), not something said.
IDENTIFIER = re.compile(r"^[\w.\-]*$")


def _words_outside_translation(node: ast.AST) -> bool:
    if isinstance(node, ast.Call) and (getattr(node.func, "id", None) or "") in TRANSLATING_CALLS:
        return False
    if isinstance(node, ast.Dict):
        return any(_words_outside_translation(v) for v in node.values)
    if isinstance(node, ast.Subscript):
        return _words_outside_translation(node.value)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        text = re.sub(r"--[a-z][a-z-]*", "", node.value)  # an option's name is the same in both
        return bool(WORD.search(text)) and not IDENTIFIER.match(text)
    return any(_words_outside_translation(child) for child in ast.iter_child_nodes(node))


def untranslated_command_output(root: Path) -> list[str]:
    """`app/management/commands/x.py:LINE` for each write or CommandError with
    words of its own, and `x.py: not a TranslatedCommand` for a command that
    writes text without taking --language."""
    found = []
    for path in sorted(root.glob("*/management/commands/*.py")):
        name = path.relative_to(root).as_posix()
        if path.name == "__init__.py" or name in COMMANDS_IN_ENGLISH:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        writes = False
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            is_write = isinstance(func, ast.Attribute) and func.attr == "write"
            is_error = getattr(func, "id", None) == "CommandError"
            if is_write or is_error:
                writes = True
                if _words_outside_translation(node.args[0]):
                    found.append(f"{name}:{node.lineno}")
        bases = {getattr(b, "id", "") for n in ast.walk(tree) if isinstance(n, ast.ClassDef) for b in n.bases}
        if writes and "TranslatedCommand" not in bases:
            found.append(f"{name}: not a TranslatedCommand")
    return found


def test_the_command_line_tools_write_no_untranslated_words():
    assert untranslated_command_output(BASE / "govflow") == []


def test_the_command_scan_finds_an_english_line_and_a_command_without_language(tmp_path):
    commands = tmp_path / "app" / "management" / "commands"
    commands.mkdir(parents=True)
    (commands / "told.py").write_text(
        "class Command(TranslatedCommand):\n"
        "    def handle(self, path, n):\n"
        '        self.stdout.write(f"{path}:1:1: " + _("cannot read the file"))\n'
        '        self.stdout.write(f"{path}: ok ({n} nodes)")\n'
        '        raise CommandError("no such calendar")\n',
        encoding="utf-8",
    )
    (commands / "plain.py").write_text(
        'class Command(BaseCommand):\n    def handle(self):\n        self.stdout.write(_("done"))\n',
        encoding="utf-8",
    )
    assert untranslated_command_output(tmp_path) == [
        "app/management/commands/plain.py: not a TranslatedCommand",
        "app/management/commands/told.py:4",
        "app/management/commands/told.py:5",
    ]


def untranslated_admin_names() -> list[str]:
    """The app and model names the Django admin shows that have no Chinese
    words, or that Django made plural by adding an "s" (证书s)."""
    from django.apps import apps
    from django.contrib import admin
    from django.utils import translation

    found = []
    with translation.override("zh-hans"):
        for model in admin.site._registry:
            app = apps.get_app_config(model._meta.app_label)
            names = {f"app {app.label}": app.verbose_name}
            names[f"{model._meta.label} verbose_name"] = model._meta.verbose_name
            names[f"{model._meta.label} verbose_name_plural"] = model._meta.verbose_name_plural
            for where, name in names.items():
                text = str(name)
                if (not HAN.search(text) or re.search(r"[\u4e00-\u9fff]s$", text)) and where not in found:
                    found.append(where)
    return found


def test_the_django_admin_names_every_app_and_model_in_chinese():
    assert untranslated_admin_names() == []


def chinese_only_names(root: Path) -> list[str]:
    """Pages that print a department's Chinese name whatever the reader's
    language ({{ x.name_zh }}), the legal documents (certificates, letters) aside."""
    found = []
    for path in sorted(root.rglob("*.html")):
        name = path.relative_to(root).as_posix()
        legal = name.startswith("letters/") or (
            name.startswith("certificates/")
            and not name.startswith(("certificates/manage", "certificates/verify"))
        )
        if not legal and re.search(r"\.name_zh\s*}}", path.read_text(encoding="utf-8")):
            found.append(name)
    return found


def test_pages_name_departments_in_the_readers_language():
    assert chinese_only_names(BASE / "templates") == []
