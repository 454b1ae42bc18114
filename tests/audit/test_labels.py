"""The audit trail says outcomes, objects and details in words, and moments
in local time (the data keeps codes and UTC)."""

from __future__ import annotations

import re
from pathlib import Path

from django.utils import translation

import govflow
from govflow.audit.labels import OBJECT_TYPES, OUTCOMES
from govflow.audit.templatetags.audit_tags import audit_details, audit_object, audit_outcome

HAN = re.compile(r"[\u4e00-\u9fff]")


def test_details_read_in_chinese_with_local_times():
    data = {"at": "2026-12-06T23:59:24.400782+00:00", "is_head": True, "node": "s2_accept", "custom": "x"}
    with translation.override("zh-hans"):
        assert audit_details(data) == [
            ("时间", "2026-12-07 07:59:24"),  # Beijing time, like the time column
            ("部门负责人", "是"),
            ("节点", "s2_accept"),
            ("custom", "x"),  # a detail without words shows as stored
        ]
        assert audit_outcome("ok") == "成功"
        assert audit_object("case") == "办件"
        assert audit_object("something_new") == "something_new"
    with translation.override("en"):
        assert audit_details({"is_head": False}) == [("is_head", "no")]
        assert audit_outcome("denied") == "denied"


def test_every_object_type_and_outcome_the_code_writes_has_chinese_words():
    root = Path(govflow.__file__).parent
    written = set()
    for path in root.rglob("*.py"):
        written.update(re.findall(r'object_type="([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert written - set(OBJECT_TYPES) == set()
    from govflow.audit.forms import OUTCOMES as FILTERED

    assert set(FILTERED) - set(OUTCOMES) == set()  # every outcome the trail's filter offers
    with translation.override("zh-hans"):
        for label in [*OBJECT_TYPES.values(), *OUTCOMES.values()]:
            assert HAN.search(str(label)), label
