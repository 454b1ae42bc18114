"""The text of a new template built in the designer: the smallest template
the validator accepts and an administrator starts from, i.e. a start, an
acceptance (受理), one review, an end that approves and one that refuses,
and a form of one field. Pure Python (no Django)."""

from __future__ import annotations

import json
import re

# Text YAML reads as itself without quotes (no flow or comment characters,
# nothing YAML would take for a number, a boolean or null).
_PLAIN = re.compile(r"[^\s:#,\[\]{}&*!|>'\"%@`\-?][^:#,\[\]{}&*!|>'\"%@`]*")
_SPECIAL = re.compile(r"(?i)(true|false|yes|no|on|off|null|~|[-+.\d][\d._:eE+-]*)")


def _scalar(text: str) -> str:
    text = " ".join(str(text).split())
    if _PLAIN.fullmatch(text) and not _SPECIAL.fullmatch(text) and text == text.strip():
        return text
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def skeleton(*, code: str, title_zh: str, title_en: str, department: str) -> str:
    """The YAML text of a new template `code` whose steps are the
    `department`'s: start → 受理 → review → approved, with a refusal at
    either step ending rejected; promised in 20 working days (行政许可法
    art 42)."""
    zh, en = _scalar(title_zh), _scalar(title_en)
    return f"""id: {code}
title: {{zh: {zh}, en: {en}}}
time_limit: {{days: 20}}

form:
  fields:
    - id: applicant_name
      type: text
      required: true
      sensitivity: public
      max_length: 200
      label: {{zh: 申请人名称, en: Name of the applicant}}

nodes:
  - id: start
    type: start
    title: {{zh: 提交申请, en: Submitted}}
    next: acceptance

  - id: acceptance
    type: acceptance
    title: {{zh: 受理, en: Acceptance}}
    department: {department}
    days: 5
    outcomes:
      accept: review
      refuse: end_rejected

  - id: review
    type: user_task
    title: {{zh: 审查, en: Review}}
    department: {department}
    sla: {{days: 10}}
    outcomes:
      approve: end_approved
      reject: end_rejected

  - id: end_approved
    type: end
    title: {{zh: 准予许可, en: Approved}}
    outcome: approved

  - id: end_rejected
    type: end
    title: {{zh: 不予许可, en: Refused}}
    outcome: rejected
"""
