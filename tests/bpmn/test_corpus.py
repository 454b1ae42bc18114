"""Every model of the public reference corpus (tests/data/bpmn, with its
licences) is either imported, validated and simulated to an end, or refused
with the reason tests/data/bpmn/expected.yaml names; none crashes."""

from __future__ import annotations

from datetime import date

import pytest
from ruamel.yaml import YAML

from govflow.bpmn.common import BpmnError
from govflow.engine import check_definition
from govflow.engine.simulate import Script, example_data, simulate

from .conftest import CORPUS, DEPARTMENTS, HANDLERS

EXPECTED = YAML(typ="safe", pure=True).load((CORPUS / "expected.yaml").read_text("utf-8"))["models"]
MODELS = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*.bpmn"))


def test_every_model_has_an_expectation_and_a_licence_beside_it():
    assert set(MODELS) == set(EXPECTED)
    assert len(MODELS) == 55  # the 54 public models and govflow's own advert_permit.bpmn
    for folder in {m.split("/")[0] for m in MODELS if not m.startswith("govflow/")}:
        licences = [
            p.name for p in (CORPUS / folder).iterdir() if p.name in ("LICENSE", "LICENSE.txt", "COPYING")
        ]
        assert licences, folder


@pytest.mark.parametrize("model", MODELS)
def test_model_imports_and_runs_or_is_refused_with_its_reason(model, importer):
    expected = EXPECTED.get(model, "imports")
    source = (CORPUS / model).read_bytes()
    if isinstance(expected, dict) and "refused" in expected:
        with pytest.raises(BpmnError) as refused:
            importer(source)
        # Then the first reason says what is unsupported, with a line
        first = refused.value.problems[0]
        assert expected["refused"] in first.message
        assert all(p.message for p in refused.value.problems)
        return
    result = importer(source, department="housing_construction")
    definition, problems = check_definition(result.yaml, departments=set(DEPARTMENTS), handlers=HANDLERS)
    assert problems == []
    data = expected.get("data") if isinstance(expected, dict) else None
    if data is not None:
        data = {**example_data(definition.form, today=date(2026, 3, 2)), **data}
    outcome = simulate(definition, Script(data=data))
    assert outcome.outcome == "approved"
    assert definition.nodes[outcome.trace[-1]].type == "end"


def test_the_corpus_splits_into_imports_and_refusals():
    imported = [
        m for m, v in EXPECTED.items() if v == "imports" or (isinstance(v, dict) and v.get("imports"))
    ]
    refused = [m for m, v in EXPECTED.items() if isinstance(v, dict) and "refused" in v]
    assert len(imported) == 17  # public models; advert_permit.bpmn needs --keep-conditions
    assert len(refused) == 38
