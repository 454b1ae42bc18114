"""BPMN models imported through the importer, read by the designer: each
of the public reference corpus's importable models is drawn as a chain, or
the designer names the node where it is not one."""

from __future__ import annotations

import pytest
from ruamel.yaml import YAML

from govflow.bpmn.importer import import_bpmn
from govflow.processes.designer import chain as chains
from govflow.processes.designer.document import load
from tests.bpmn.conftest import CORPUS, DEPARTMENTS, HANDLERS

EXPECTED = YAML(typ="safe", pure=True).load((CORPUS / "expected.yaml").read_text("utf-8"))["models"]
IMPORTED = sorted(
    m for m, v in EXPECTED.items() if v == "imports" or (isinstance(v, dict) and v.get("imports"))
)


@pytest.mark.slow
def test_imported_models_are_chains_or_say_where_they_are_not():
    drawn, named = [], []
    for model in IMPORTED:
        result = import_bpmn(
            (CORPUS / model).read_bytes(),
            departments=DEPARTMENTS,
            handlers=HANDLERS,
            default_department="housing_construction",
        )
        chain = chains.read(load(result.yaml))
        if chain.representable:
            drawn.append(model)
            continue
        node, reason = chain.problems()[0]
        assert node in chain.nodes, model
        assert node in str(reason), model
        named.append(model)
    assert len(drawn) + len(named) == len(IMPORTED) == 17
    print(f"{len(drawn)} of {len(IMPORTED)} imported models drawn as chains; not: {named}")
    assert len(drawn) >= 15
