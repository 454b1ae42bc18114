"""The command-line tools speak the configured language (settings.LANGUAGE_CODE,
Chinese here) or the one given with --language; positions, identifiers, JSON
and exit codes are the same in both."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from govflow.engine.problems import Message
from govflow.messages import engine_text

ROOT = Path(__file__).resolve().parents[2]
BUSINESS = str(ROOT / "workflows" / "business_setup.yaml")
HAN = re.compile(r"[\u4e00-\u9fff]")
POSITION = re.compile(r"^(.+?):(\d+):(\d+): ")

pytestmark = pytest.mark.django_db

# A file missing its title, and one whose parallel split has a branch that
# ends the case at once (the check names the gateway by its kind).
BROKEN = """\
id: broken
nodes:
  - {id: start, type: start, next: done}
  - {id: done, type: end, title: {zh: 完, en: Done}, outcome: approved}
"""
PARALLEL = """\
id: split
title: {zh: 拆分, en: Split}
nodes:
  - {id: start, type: start, next: split}
  - {id: split, type: parallel, next: [a, stop]}
  - id: a
    type: user_task
    title: {zh: 甲, en: A}
    department: market_regulation
    outcomes: {approve: done}
  - {id: stop, type: end, title: {zh: 止, en: Stop}, outcome: rejected}
  - {id: done, type: end, title: {zh: 完, en: Done}, outcome: approved}
"""


def run(*args, **options):
    out, err = StringIO(), StringIO()
    try:
        call_command(*args, stdout=out, stderr=err, **options)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def positions(text: str) -> list[tuple[str, str, str]]:
    return [POSITION.match(line).groups() for line in text.splitlines()]


def test_validate_process_speaks_chinese_by_default_at_the_same_places(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text(BROKEN, encoding="utf-8")
    code, chinese, _err = run("validate_process", str(bad))
    code_en, english, _err = run("validate_process", str(bad), language="en")
    assert code == code_en == 1
    assert "missing required key 'title'" in english
    assert positions(chinese) == positions(english)  # the same PATH:LINE:COL, line for line
    for line in chinese.splitlines():
        assert line.startswith(f"{bad}:")
        assert HAN.search(line.split(": ", 1)[1]), line
    assert "流程缺少必填键 'title'" in chinese


def test_a_node_kind_is_named_in_chinese_inside_a_chinese_message(tmp_path):
    bad = tmp_path / "split.yaml"
    bad.write_text(PARALLEL, encoding="utf-8")
    _code, chinese, _err = run("validate_process", str(bad))
    _code, english, _err = run("validate_process", str(bad), language="en")
    assert "parallel gateway 'split'" in english
    assert "并行网关 'split'" in chinese
    assert "parallel" not in chinese


def test_engine_text_translates_node_kinds_only_where_the_template_names_a_kind():
    gateway = Message("{kind} gateway '{split}' has a problem", kind="parallel", split="split")
    field = Message("unknown field '{kind}'", kind="parallel")
    with translation.override("zh-hans"):
        assert engine_text(Message("task '{task}' is a {kind} task", task="t1", kind="wait")) == (
            "任务 't1' 属于等待类任务"
        )
        assert "parallel" in engine_text(field)  # a value that only happens to be a kind's name
    with translation.override("en"):
        assert engine_text(gateway) == "parallel gateway 'split' has a problem"


def test_simulate_process_text_speaks_chinese_and_json_does_not_change():
    code, chinese, _err = run("simulate_process", BUSINESS, "--approve-all")
    assert code == 0
    assert chinese.splitlines()[0] == "办理结果：准予许可"
    assert "经过环节：start -> accept" in chinese
    code, english, _err = run("simulate_process", BUSINESS, "--approve-all", language="en")
    assert english.splitlines()[0] == "outcome: approved"
    as_json = [
        json.loads(run("simulate_process", BUSINESS, "--approve-all", "--json", **lang)[1])
        for lang in ({}, {"language": "en"})
    ]
    assert as_json[0] == as_json[1]
    assert as_json[0]["outcome"] == "approved"


def test_a_bad_decisions_file_is_said_in_chinese_at_its_line(tmp_path):
    script = tmp_path / "d.yaml"
    script.write_text("decisions:\n  nowhere: approve\n", encoding="utf-8")
    code, chinese, _err = run("simulate_process", BUSINESS, "--decisions", str(script))
    _code, english, _err = run("simulate_process", BUSINESS, "--decisions", str(script), language="en")
    assert code == 1
    assert english == f"{script}:2:3: decisions: unknown node 'nowhere'\n"
    assert chinese == f"{script}:2:3: decisions：未知节点 'nowhere'\n"


def test_the_language_option_refuses_a_language_it_does_not_speak():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("validate_process", BUSINESS, "--language", "fr")


def test_import_bpmn_says_its_refusals_in_chinese_at_the_same_line(tmp_path):
    bad = tmp_path / "bad.bpmn"
    bad.write_text('<?xml version="1.0"?>\n<definitions><process id="p">\n', encoding="utf-8")
    code, _out, chinese = run("import_bpmn", str(bad))
    code_en, _out, english = run("import_bpmn", str(bad), language="en")
    assert code == code_en == 1
    assert [line.split(": ", 1)[0] for line in chinese.splitlines()] == [
        line.split(": ", 1)[0] for line in english.splitlines()
    ]  # FILE:LINE, as the English says it
    assert chinese.startswith(f"{bad}:")
    assert HAN.search(chinese)
    assert not HAN.search(english)


def test_reconcile_lines_read_in_chinese():
    line = Message("case {case}: open but has no live task or timer", case="GF-1")
    with translation.override("zh-hans"):
        assert engine_text(line) == "办件 GF-1：尚未办结，但没有有效任务或计时器"
    assert line == "case GF-1: open but has no live task or timer"  # what the incident keeps
