"""Conditions of imported sequence flows, from other expression languages
into govflow's condition language (docs/process-language.md section 14).

Modelers write conditions for their engine: JUEL (`${amount > 1000 && vip}`),
FEEL, Python, XPath ... A small, conservative token translator handles the
common core they share (comparisons, and/or/not, literals, plain variable
names) and checks the result with govflow's own parser. Anything else
(method calls, object paths, engine variables) is not guessed at: the
original text is kept and reported for an admin to translate.

Plain variable names become form fields (the applicant's data is what
govflow conditions read); their type is inferred from what they are compared
with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from govflow.engine.expressions import ExpressionError, compile_expression
from govflow.engine.problems import Message

from .common import GOVFLOW_EXPRESSION, to_identifier

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<number>\d+(?:\.\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
      | (?P<op>&&|\|\||==|!=|<=|>=|!|<|>|\+|-|\*|/|%|\(|\)|\[|\]|,)
    )""",
    re.X,
)
_WORD_OPS = {
    "and": "and",
    "or": "or",
    "not": "not",
    "in": "in",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "div": "/",
    "mod": "%",
}
_SYMBOL_OPS = {"&&": "and", "||": "or", "!": "not"}
_CONSTANTS = {
    "true": "true",
    "false": "false",
    "null": "null",
    "True": "true",
    "False": "false",
    "None": "null",
}
_FUNCTIONS = {"len", "sum", "min", "max", "any", "all", "abs", "lower", "upper", "count"}
_COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}
_JOINERS = {"and", "or", "not", "(", None}
_RESERVED_FIELDS = {"decision", "result"}
# Names modellers leave in a condition they never filled in (bpmn-js writes
# `${undefined == true}`): refused as untranslated, never made a form field.
PLACEHOLDER_NAMES = {"undefined", "todo", "tbd", "fixme", "xxx", "placeholder"}
# What an untranslated condition becomes with --keep-conditions: a condition
# on a field that cannot exist (field ids start with a letter), so the
# template fails validation ("condition names unknown field '__edit_me__'",
# with its line) until an admin rewrites it; the original text is kept in it.
PLACEHOLDER_FIELD = "__edit_me__"


@dataclass
class Condition:
    """One flow's condition: `text` is govflow's (None when it could not be
    translated); `original` and `language` are what the file said."""

    original: str
    language: str
    text: str | None
    translated: bool = False  # True when the text was rewritten from another language
    variables: dict[str, str] = field(default_factory=dict)  # field id -> inferred type
    reason: str = ""  # a Message: why `text` is None, for the refusal


class Variables:
    """Field ids given to foreign variable names, shared by every condition
    of one import so that `Amount` means one field everywhere."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        self.taken: set[str] = set(_RESERVED_FIELDS)
        self.types: dict[str, str] = {}
        self.decimals: dict[str, int] = {}

    def field_for(self, name: str) -> str:
        if name not in self.ids:
            self.ids[name] = to_identifier(name, self.taken, prefix="v")
        return self.ids[name]

    def infer(self, field_id: str, kind: str, decimals: int = 0) -> None:
        known = self.types.get(field_id)
        if known is None or known == kind:
            self.types[field_id] = kind
        elif {known, kind} == {"number", "decimal"}:
            self.types[field_id] = "decimal"
        elif kind != "unknown" and known == "unknown":
            self.types[field_id] = kind
        elif kind != "unknown":
            self.types[field_id] = "text"  # used both ways: text is the honest fallback
        if kind == "decimal":
            self.decimals[field_id] = max(self.decimals.get(field_id, 0), decimals)


_NO_PARSE = Message("it does not parse")
_FOREIGN_SYNTAX = Message("it uses syntax govflow does not read")


def translate(
    source: str, language: str, *, variables: Variables, node_ids: dict[str, str], node_kinds: dict[str, str]
) -> Condition:
    """Translate one condition; node_ids maps BPMN ids to govflow ids (for
    `decision.<task>` names), node_kinds govflow ids to node types."""
    original = (source or "").strip()
    if language == GOVFLOW_EXPRESSION:
        own = _own(original, node_ids, node_kinds)
        return Condition(original, language, own, reason="" if own else _NO_PARSE)
    inner = original
    wrapped = re.fullmatch(r"[$#]\{(.*)\}", inner, re.S)
    if wrapped:
        inner = wrapped.group(1).strip()
    if inner.startswith("=") and not inner.startswith("=="):  # FEEL in Zeebe: "= amount > 10"
        inner = inner[1:].strip()
    tokens = _tokens(inner)
    if not tokens:
        reason = Message("it is empty") if not inner else _FOREIGN_SYNTAX
        return Condition(original, language, None, reason=reason)
    placeholders = sorted({t for k, t in tokens if k == "name" and t.casefold() in PLACEHOLDER_NAMES})
    if placeholders:
        return Condition(
            original,
            language,
            None,
            reason=Message(
                "'{name}' is a modeller's placeholder, not a variable (the condition was never filled in)",
                name=placeholders[0],
            ),
        )
    local_types: dict[str, tuple[str, int]] = {}
    out: list[str] = []
    for index, (kind, text) in enumerate(tokens):
        before = tokens[index - 1] if index else (None, None)
        after = tokens[index + 1] if index + 1 < len(tokens) else (None, None)
        if kind == "string" or kind == "number":
            out.append(text)
        elif kind == "op":
            if text in _SYMBOL_OPS:
                if text == "!" and after[1] == "=":
                    return Condition(original, language, None, reason=_FOREIGN_SYNTAX)
                out.append(_SYMBOL_OPS[text])
            else:
                out.append(text)
        else:  # a word
            if text in ("empty", "instanceof", "matches", "function"):
                # operators govflow does not have
                return Condition(
                    original,
                    language,
                    None,
                    reason=Message("govflow has no operator '{operator}'", operator=text),
                )
            if text in _WORD_OPS:
                out.append(_WORD_OPS[text])
            elif text in _CONSTANTS:
                out.append(_CONSTANTS[text])
            elif after[1] == "(":
                if text not in _FUNCTIONS:
                    reason = Message(
                        "it calls '{name}(...)', a method or function of another engine", name=text
                    )
                    return Condition(original, language, None, reason=reason)
                out.append(text)
            elif "." in text:
                head, _, rest = text.partition(".")
                if head in ("decision", "result") and rest.split(".")[0] in node_ids:
                    target = node_ids[rest.split(".")[0]]
                    out.append(".".join([head, target, *rest.split(".")[1:]]))
                else:
                    reason = Message("it reads '{name}', an object path or engine variable", name=text)
                    return Condition(original, language, None, reason=reason)
            else:
                field_id = variables.field_for(text)
                inferred = _infer(before, after, tokens, index)
                local_types[field_id] = inferred
                if inferred[0] == "boolean" and _is_bare(before, after):
                    out.append(f"({field_id} == true)")
                else:
                    out.append(field_id)
    text = " ".join(out)
    try:
        compile_expression(text)
    except ExpressionError as exc:
        return Condition(
            original, language, None, reason=Message("it does not parse: {problem}", problem=exc.message)
        )
    for field_id, (kind, decimals) in local_types.items():
        variables.infer(field_id, kind, decimals)
    return Condition(
        original, language, text, translated=text != original, variables=dict.fromkeys(local_types, "")
    )


def _own(text: str, node_ids: dict[str, str], node_kinds: dict[str, str]) -> str | None:
    """A condition already in govflow's language: check that it parses."""
    try:
        compile_expression(text)
    except ExpressionError:
        return None
    return text


def _tokens(text: str) -> list[tuple[str, str]] | None:
    tokens: list[tuple[str, str]] = []
    index = 0
    text = text.rstrip()
    while index < len(text):
        match = _TOKEN.match(text, index)
        if match is None or match.end() == index:
            return None
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        index = match.end()
    if len(tokens) > 400:
        return None
    return tokens


def _literal_kind(token: tuple[str | None, str | None]) -> tuple[str, int] | None:
    kind, text = token
    if kind == "number" and text is not None:
        if "." in text:
            return "decimal", len(text.split(".")[1])
        return "number", 0
    if kind == "string":
        return "text", 0
    if kind == "name" and text in ("true", "false", "True", "False"):
        return "boolean", 0
    return None


def _infer(before, after, tokens, index) -> tuple[str, int]:
    for neighbour, other in ((after, 2), (before, -2)):
        op = _WORD_OPS.get(neighbour[1] or "", neighbour[1]) if neighbour[0] in ("op", "name") else None
        if op in _COMPARISONS:
            position = index + other
            if 0 <= position < len(tokens):
                literal = _literal_kind(tokens[position])
                if literal:
                    return literal
            return ("number", 0) if op in ("<", "<=", ">", ">=") else ("unknown", 0)
        if op in ("+", "-", "*", "/", "%", "div", "mod"):
            return "number", 0
    if after[1] == "in" and index + 3 < len(tokens) and tokens[index + 2][1] == "[":
        literal = _literal_kind(tokens[index + 3])
        if literal:
            return literal
    if _is_bare(before, after):
        return "boolean", 0
    return "unknown", 0


def _is_bare(before, after) -> bool:
    prev = _WORD_OPS.get(before[1] or "", _SYMBOL_OPS.get(before[1] or "", before[1]))
    nxt = _WORD_OPS.get(after[1] or "", _SYMBOL_OPS.get(after[1] or "", after[1]))
    return prev in _JOINERS and nxt in {"and", "or", ")", None}


def placeholder(original: str) -> str:
    """The --keep-conditions stand-in for an untranslated condition; it
    parses, and validation refuses it until an admin rewrites it."""
    text = " ".join(original.split())[:1500]
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'{PLACEHOLDER_FIELD} == "{escaped}"'


# -- the names of a decision gateway's flows ----------------------------------------------


def _words(*lines: str) -> frozenset[str]:
    return frozenset(word for line in lines for word in line.split())


# A reviewer's decision in govflow is one of approve / reject / return; the
# flows leaving a gateway right after a review say which is which by their
# names. Only these names are read (after trimming, case-insensitively,
# without end punctuation or a bracketed remark); anything else is refused.
OUTCOME_NAMES: dict[str, frozenset[str]] = {
    "approve": _words(
        "通过 同意 批准 准予 准予许可 予以批准 核准 许可 准许 合格 符合 符合条件 审核通过 审批通过",
        "审查通过 初审通过 复审通过 验收合格 受理 予以受理 同意办理 满足 满足条件 齐全 材料齐全 完整",
        "无误 无异议 approve approved approval accept accepted agree agreed pass passed grant granted ok",
        "okay valid confirm confirmed complete",
    ),
    "reject": _words(
        "不通过 未通过 不同意 不批准 不予批准 不予许可 不准予 不予受理 驳回 拒绝 否决 不合格 不符合",
        "不符合条件 审核不通过 审批不通过 审查不通过 不满足 不满足条件 reject rejected rejection deny",
        "denied decline declined refuse refused fail failed disapprove disapproved invalid",
    )
    | {"not approved", "not ok"},
    "return": _words(
        "退回 退回补正 退回修改 补正 补正材料 补齐 补齐材料 补充材料 补充 材料不全 材料不齐 不齐全",
        "不完整 需补正 需要补正 修改 返回修改 打回 打回修改 重新提交 退件 return returned rework revise",
        "revision correct correction amend incomplete resubmit",
    )
    | {"send back", "sent back", "needs changes", "changes requested", "more information"},
}
# Answers to the gateway's question: they mean approve / reject only when
# the question asks about approval (审核通过？, Approved?), not when it asks
# about a refusal or a missing document (是否驳回？, Rejected?, 材料不全？).
ANSWERS = dict.fromkeys(("是", "yes", "y", "true"), "approve")
ANSWERS |= dict.fromkeys(("否", "no", "n", "false"), "reject")
_NEGATIVE_QUESTION = _words(
    "不通过 未通过 不同意 驳回 拒绝 不予 不合格 不符合 不全 不齐 不完整 退回 补正 打回 reject denied deny",
    "refuse return incomplete fail disapprov missing",
) | {"not approved"}
_TRIM = " \t?？!！。.,，:：;；、\"'“”‘’"


def normalise_name(name: str) -> str:
    return " ".join((name or "").split()).strip(_TRIM).casefold()


def outcome_of_name(name: str, *, question: str = "") -> str | None:
    """The reviewer's outcome a flow name stands for, or None when the
    name says no decision govflow has (or the answer would depend on how
    the gateway's `question` is put)."""
    key = normalise_name(name)
    for candidate in (key, normalise_name(re.sub(r"[（(][^）)]*[）)]", "", key))):
        for outcome, names in OUTCOME_NAMES.items():
            if candidate in names:
                return outcome
        if candidate in ANSWERS:
            asked = normalise_name(question).replace("是否", "")
            if any(word in asked for word in _NEGATIVE_QUESTION):
                return None
            return ANSWERS[candidate]
    return None
