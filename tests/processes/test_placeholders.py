"""Publishing refuses a template whose legal texts (legal_basis, certificate
titles) still hold placeholders or editing notes, at the marker's line and
column; the shipped templates hold none."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from govflow.errors import InvalidInput
from govflow.processes.placeholders import PLACEHOLDER_MARKERS, placeholder_problems
from govflow.processes.services import process_publish

ROOT = Path(__file__).resolve().parents[2]
BUSINESS = ROOT / "workflows" / "business_setup.yaml"
NOTE = "视为同意。"


def with_note(note: str) -> tuple[str, int, int]:
    """business_setup with `note` after the housing fund's legal basis; the
    line and column where the note starts."""
    lines = BUSINESS.read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(lines) if "住房公积金单位缴存登记在承诺时限内" in line)
    lines[index] = lines[index] + note
    return "\n".join(lines) + "\n", index + 1, len(lines[index]) - len(note) + 1


@pytest.mark.parametrize("path", sorted((ROOT / "workflows").glob("*.yaml")), ids=lambda p: p.name)
def test_the_shipped_templates_hold_no_placeholder(path):
    assert placeholder_problems(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("marker", ["发布前请核对文号", "TODO", "示例", "XXX", "请填写", "××"])
def test_a_marker_in_a_legal_basis_is_found_at_its_line_and_column(marker):
    source, line, col = with_note(marker)
    problems = placeholder_problems(source)
    assert problems, marker
    assert (problems[0].line, problems[0].col) == (line, col)
    assert "placeholder or an editing note" in problems[0].message


def test_a_marker_in_a_certificate_title_is_found():
    source = BUSINESS.read_text(encoding="utf-8").replace(
        "title: {zh: 营业执照, en: Business licence}", "title: {zh: 营业执照（示例）, en: Business licence}"
    )
    problems = placeholder_problems(source)
    assert len(problems) == 1
    line = source.splitlines()[problems[0].line - 1]
    assert line[problems[0].col - 1 :].startswith("示例")
    assert problems[0].message.startswith("certificate title (zh)")


def test_help_texts_and_comments_are_not_legal_texts():
    source = BUSINESS.read_text(encoding="utf-8").replace(
        "legal_basis: >-", "# TODO 示例\n  legal_basis: >-", 1
    )
    assert placeholder_problems(source) == []
    assert "例如" in BUSINESS.read_text(encoding="utf-8")  # help texts stay free to give examples


def test_markers_are_documented():
    doc = (ROOT / "docs" / "process-language.md").read_text(encoding="utf-8")
    for marker in PLACEHOLDER_MARKERS:
        assert marker in doc, marker


@pytest.mark.django_db
def test_validate_process_prints_path_line_col_and_exits_1(tmp_path):
    source, line, col = with_note("（发布前请核对并填写文号）")
    bad = tmp_path / "business_setup.yaml"
    bad.write_text(source, encoding="utf-8")
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("validate_process", str(bad), stdout=out, language="en")
    assert exited.value.code == 1
    assert out.getvalue().startswith(f"{bad}:{line}:{col + 1}: legal_basis: '发布前'")


@pytest.mark.django_db
def test_publishing_refuses_it_with_the_line(base_data):
    source, line, col = with_note("TODO")
    with pytest.raises(InvalidInput) as refused:
        process_publish(source=source)
    assert refused.value.code == "invalid_definition"
    # said in the active language (Chinese here), at the same line and column
    assert refused.value.fields["source"][0].startswith(f"{line}:{col}: legal_basis：'TODO' 是占位符")
