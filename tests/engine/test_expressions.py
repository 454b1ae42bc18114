"""Tests for the gateway condition language (govflow.engine.expressions)."""

from __future__ import annotations

import functools
import itertools
import operator
import pickle
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govflow.engine.expressions import EvaluationError, Expression, ExpressionError, compile_expression

SHAREHOLDERS = [{"name": "Li", "amount": 100}, {"name": "Wang", "amount": Decimal("250.5")}]

VALUES = [
    # literals and escapes
    ("42", {}, 42),
    ("3.50", {}, Decimal("3.50")),
    ("'it\\'s'", {}, "it's"),
    ('"say \\"hi\\""', {}, 'say "hi"'),
    ("'a\\tb\\nc'", {}, "a\tb\nc"),
    ("'back\\\\slash'", {}, "back\\slash"),
    ("'single \" inside'", {}, 'single " inside'),
    ("true", {}, True),
    ("True", {}, True),
    ("false", {}, False),
    ("False", {}, False),
    ("null", {}, None),
    ("None", {}, None),
    ("[1, 'a', true, null]", {}, [1, "a", True, None]),
    ("[]", {}, []),
    ("[1, 2,]", {}, [1, 2]),
    # names and projection over table rows
    ("floor_area", {"floor_area": 350}, 350),
    ("missing", {}, None),
    ("decision.review_fire", {"decision": {"review_fire": "approve"}}, "approve"),
    ("decision.review_fire", {"decision": None}, None),
    ("decision.review_fire.deeper", {"decision": {"review_fire": "approve"}}, None),
    ("shareholders.amount", {"shareholders": SHAREHOLDERS}, [100, Decimal("250.5")]),
    ("rows.amount", {"rows": [{"amount": 1}, {}, "not a row"]}, [1, None, None]),
    (
        "firms.owners.share",
        {"firms": [{"owners": [{"share": 1}, {"share": 2}]}, {"owners": []}]},
        [[1, 2], []],
    ),
    ("name.upper", {"name": "abc"}, None),
    ("x.__class__", {"x": "abc"}, None),
    # arithmetic and its precedence
    ("1 + 2 * 3", {}, 7),
    ("(1 + 2) * 3", {}, 9),
    ("10 - 4 - 3", {}, 3),
    ("2 * 3 % 4", {}, 2),
    ("7 / 2", {}, Decimal("3.5")),
    ("6 / 3", {}, Decimal("2")),
    ("100 / 2 / 5", {}, Decimal("10")),
    ("7 % 3", {}, 1),
    ("-7 % 3", {}, 2),
    ("7.5 % 2", {}, Decimal("1.5")),
    ("-7.5 % 2", {}, Decimal("0.5")),
    ("2 * -3", {}, -6),
    ("- 2 * 3", {}, -6),
    ("-(2 + 3)", {}, -5),
    ("+5", {}, 5),
    ("--5", {}, 5),
    ("-a", {"a": 4}, -4),
    ("a + b", {"a": 2, "b": 3}, 5),
    ("a + 1", {"a": Decimal("1.5")}, Decimal("2.5")),
    ("a * 2", {"a": 1.25}, Decimal("2.50")),
    ("a + b", {"a": 0.1, "b": 0.2}, Decimal("0.3")),
    ("'ab' + 'cd'", {}, "abcd"),
    ("[1] + [2, 3]", {}, [1, 2, 3]),
    ("rows + [3]", {"rows": (1, 2)}, [1, 2, 3]),
    ("missing + 1", {}, None),
    ("2 * missing", {}, None),
    ("1 / missing", {}, None),
    ("missing % 2", {}, None),
    ("-missing", {}, None),
    # comparisons
    ("floor_area > 300", {"floor_area": 350}, True),
    ("floor_area > 300", {"floor_area": 300}, False),
    ("floor_area >= 300", {"floor_area": 300}, True),
    ("floor_area < 300", {"floor_area": 300}, False),
    ("floor_area <= 300", {"floor_area": 300}, True),
    ("floor_area == 300", {"floor_area": 300}, True),
    ("floor_area != 300", {"floor_area": 300}, False),
    ("0.1 + 0.2 == 0.3", {}, True),
    ("a + b == 0.3", {"a": 0.1, "b": 0.2}, True),
    ("a == 1", {"a": 1.0}, True),
    ("a == 1", {"a": Decimal("1.00")}, True),
    ("a < 2.5", {"a": 2}, True),
    ("a > b", {"a": 0.5, "b": Decimal("0.4")}, True),
    ("flag == 1", {"flag": True}, False),
    ("flag != 1", {"flag": True}, True),
    ("'1' == 1", {}, False),
    ("'1' != 1", {}, True),
    ("null == null", {}, True),
    ("missing == null", {}, True),
    ("missing != 0", {}, True),
    ("missing > 3", {}, False),
    ("3 <= missing", {}, False),
    ("'abc' < 'abd'", {}, True),
    ("[1, 2] == [1, 2.0]", {}, True),
    ("[1, true] == [1, 1]", {}, False),
    ("a == b", {"a": {"x": 1}, "b": {"x": 1.0}}, True),
    ("a == b", {"a": {"x": 1}, "b": {"y": 1}}, False),
    ("total_investment / 10000 >= 30", {"total_investment": 300_000}, True),
    ("total_investment / 10000 >= 30", {"total_investment": 299_999}, False),
    # membership
    ("industry in ['chemical', 'mining']", {"industry": "mining"}, True),
    ("industry in ['chemical', 'mining']", {"industry": "retail"}, False),
    ("industry not in ['chemical', 'mining']", {"industry": "retail"}, True),
    ("industry not   in ['chemical']", {"industry": "chemical"}, False),
    ("'ab' in 'cabin'", {}, True),
    ("'x' in missing", {}, False),
    ("'x' not in missing", {}, True),
    ("missing in 'text'", {}, False),
    ("1 in [true]", {}, False),
    ("true in [1]", {}, False),
    ("1 in [1.0]", {}, True),
    ("null in [1, null]", {}, True),
    ("2 in amounts", {"amounts": [1, 2]}, True),
    ("x in [a, b]", {"x": 2, "a": 1, "b": 2}, True),
    ("1 + 1 in [2]", {}, True),
    # logic, its precedence, null as false and short-circuiting
    ("true and false", {}, False),
    ("true or false", {}, True),
    ("not true", {}, False),
    ("not not true", {}, True),
    ("not a and b", {"a": False, "b": False}, False),
    ("not a or b", {"a": True, "b": True}, True),
    ("a or b and c", {"a": True, "b": False, "c": False}, True),
    ("(a or b) and c", {"a": True, "b": False, "c": False}, False),
    ("not a == b", {"a": 1, "b": 2}, True),
    ("1 + 2 == 3 and 2 * 2 == 4", {}, True),
    ("missing and true", {}, False),
    ("missing or true", {}, True),
    ("missing or missing", {}, False),
    ("false and boom", {"boom": 5}, False),
    ("true or boom", {"boom": 5}, True),
    ("a or b or c or d", {"d": True}, True),
    ("a and b and c and d", {"a": True, "b": True, "c": True, "d": True}, True),
    # functions
    ("len(shareholders) > 1", {"shareholders": SHAREHOLDERS}, True),
    ("len('abc')", {}, 3),
    ("len(missing)", {}, 0),
    ("len(record)", {"record": {"a": 1, "b": 2}}, 2),
    (
        "sum(shareholders.amount) >= registered_capital",
        {"shareholders": SHAREHOLDERS, "registered_capital": 350},
        True,
    ),
    (
        "sum(shareholders.amount) >= registered_capital",
        {"shareholders": SHAREHOLDERS, "registered_capital": 351},
        False,
    ),
    ("sum([1, null, 2])", {}, 3),
    ("sum([])", {}, 0),
    ("sum(missing)", {}, 0),
    ("sum([1, 2.5])", {}, Decimal("3.5")),
    ("min([3, null, 1])", {}, 1),
    ("max([3, null, 1])", {}, 3),
    ("min([])", {}, None),
    ("max([null])", {}, None),
    ("max(['a', 'b'])", {}, "b"),
    ("min([2, 1.5])", {}, Decimal("1.5")),
    ("any([false, true])", {}, True),
    ("any([])", {}, False),
    ("any([null, false])", {}, False),
    ("all([true, null])", {}, False),
    ("all([])", {}, True),
    ("all(reviews.ok)", {"reviews": [{"ok": True}, {"ok": True}]}, True),
    ("abs(-3)", {}, 3),
    ("abs(a)", {"a": -2.5}, Decimal("2.5")),
    ("abs(missing)", {}, None),
    ("lower('AbC')", {}, "abc"),
    ("upper(name)", {"name": "abc"}, "ABC"),
    ("lower(missing)", {}, None),
    ("count(['a', 'b', 'a'], 'a')", {}, 2),
    ("count(reviews.decision, 'approve')", {"reviews": [{"decision": "approve"}, {"decision": "reject"}]}, 1),
    ("count(missing, 1)", {}, 0),
    ("len (  'ab'  )", {}, 2),
]


@pytest.mark.parametrize(("source", "context", "expected"), VALUES)
def test_evaluates_to(source: str, context: dict, expected: Any) -> None:
    result = compile_expression(source).evaluate(context)

    assert result == expected
    assert type(result) is type(expected)


EVALUATION_ERRORS = [
    ("'a' < 1", {}, "cannot compare text with number"),
    ("1 >= 'a'", {}, "cannot compare number with text"),
    ("true < 1", {}, "cannot compare true/false with number"),
    ("a > [1]", {"a": 2}, "cannot compare number with list"),
    ("1 / 0", {}, "division by zero"),
    ("1 % 0", {}, "division by zero"),
    ("a / b", {"a": 1, "b": 0.0}, "division by zero"),
    ("'a' - 1", {}, "cannot subtract text and number"),
    ("'a' + 1", {}, "cannot add text and number"),
    ("true + 1", {}, "cannot add true/false and number"),
    ("[1] * 2", {}, "cannot multiply list and number"),
    ("-'a'", {}, "cannot negate text"),
    ("+true", {}, "cannot use '+' on true/false"),
    ("not 1", {}, "'not' needs true or false, got number"),
    ("not missing", {}, "'not' needs true or false, got null"),
    ("1 and true", {}, "'and' needs true or false, got number"),
    ("false or 'x'", {}, "'or' needs true or false, got text"),
    ("1 in 'abc'", {}, "cannot look for number in text"),
    ("1 in 5", {}, "'in' needs a list or text on the right, got number"),
    ("1 not in record", {"record": {"a": 1}}, "'in' needs a list or text on the right, got record"),
    ("sum(['a'])", {}, "sum() needs numbers, got text"),
    ("sum(5)", {}, "sum() needs a list, got number"),
    ("any([1])", {}, "any() needs true or false, got number"),
    ("all(flags)", {"flags": [True, "yes"]}, "all() needs true or false, got text"),
    ("len(5)", {}, "len() needs text or a list, got number"),
    ("lower(5)", {}, "lower() needs text, got number"),
    ("abs('a')", {}, "abs() needs a number, got text"),
    ("min([1, 'a'])", {}, "cannot compare text with number"),
    ("max([[1]])", {}, "max() needs numbers or text, got list"),
    ("a < 1", {"a": float("nan")}, "these numbers cannot be calculated with"),
]


@pytest.mark.parametrize(("source", "context", "message"), EVALUATION_ERRORS)
def test_evaluation_error(source: str, context: dict, message: str) -> None:
    expression = compile_expression(source)

    with pytest.raises(EvaluationError) as caught:
        expression.evaluate(context)

    assert caught.value.message == message
    assert str(caught.value) == message


SYNTAX_ERRORS = [
    ("", "empty condition", 0),
    (" \t\n ", "empty condition", 0),
    ("a )", "unexpected ')'", 2),
    ("()", "unexpected ')'", 1),
    ("(a", "missing ')'", 2),
    ("(", "unexpected end of condition", 1),
    ("a ==", "unexpected end of condition", 4),
    ("not", "unexpected end of condition", 3),
    ("a b", "unexpected 'b'", 2),
    ("a 'b'", "unexpected text 'b'", 2),
    ("a " + "'" + "x" * 40 + "'", "unexpected text '" + "x" * 26 + "...", 2),
    ("(a)(b)", "unexpected '('", 3),
    ("and", "unexpected 'and'", 0),
    ("a and or b", "unexpected 'or'", 6),
    ("in x", "unexpected 'in'", 0),
    ("not in x", "unexpected 'not in'", 0),
    ("a not b", "unexpected 'not'", 2),
    ("'abc", "unterminated string", 0),
    ("x == 'ab\\", "unterminated string", 5),
    ("'a\\qb'", "unknown escape '\\q' in string", 2),
    ("'a\\\x00'", "unknown escape '\\' + U+0000 in string", 2),
    ("eval(x)", "unknown function 'eval'", 0),
    ("1 + __import__('os')", "unknown function '__import__'", 4),
    ("a.b(1)", "unknown function 'a.b'", 0),
    ("len()", "len() takes 1 argument, got 0", 4),
    ("len(a, b)", "len() takes 1 argument, got 2", 7),
    ("count(a)", "count() takes 2 arguments, got 1", 7),
    ("len(a", "missing ')'", 5),
    ("a && b", "use 'and' instead of '&&'", 2),
    ("a || b", "use 'or' instead of '||'", 2),
    ("!a", "use 'not' instead of '!'", 0),
    ("a = 1", "use '==' to compare", 2),
    ("-2 ** 3", "there is no power operator '**'", 3),
    ("a < b < c", "comparisons can't be chained; join them with 'and'", 6),
    ("a == b != c", "comparisons can't be chained; join them with 'and'", 7),
    ("1 in x in y", "comparisons can't be chained; join them with 'and'", 7),
    ("a < b + 1 > c", "comparisons can't be chained; join them with 'and'", 10),
    ("a.and", "'and' is a reserved word and can't be part of a name", 2),
    ("a.b.true", "'true' is a reserved word and can't be part of a name", 4),
    ("a.", "expected a name after '.'", 2),
    ("a.1", "expected a name after '.'", 2),
    ("3.", "expected a digit after '.'", 2),
    ("3.x", "expected a digit after '.'", 2),
    (".5", "unexpected character '.'", 0),
    ("a # comment", "unexpected character '#'", 2),
    ("a\x00", "control character U+0000 is not allowed", 1),
    ("a ==\x1b1", "control character U+001B is not allowed", 4),
    ("a\u200b", "unexpected character U+200B", 1),
    ("é", "unexpected character 'é'", 0),
    ("[1, 2", "missing ']'", 5),
    ("[1 2]", "unexpected '2'", 3),
    ("[,]", "unexpected ','", 1),
    ("f(1)", "unknown function 'f'", 0),
    # the first problem in the text is reported, even if a later token is broken
    (") &&", "unexpected ')'", 0),
    ("x" * 2001, "the condition is longer than 2000 characters", 2000),
    (" or ".join(["a"] * 251), "the condition has too many parts (more than 500)", 1250),
    ("(" * 51 + "1" + ")" * 51, "the condition is nested too deeply (more than 50 levels)", 50),
    ("-" * 60 + "a", "the condition is nested too deeply (more than 50 levels)", 50),
    ("[" * 60, "the condition is nested too deeply (more than 50 levels)", 50),
    ("not " * 60 + "a", "the condition is nested too deeply (more than 50 levels)", 200),
    ("len(" * 60, "the condition is nested too deeply (more than 50 levels)", 203),
    ("1" + " + 1" * 51, "the condition is nested too deeply (more than 50 levels)", 202),
]


@pytest.mark.parametrize(("source", "message", "offset"), SYNTAX_ERRORS)
def test_syntax_error(source: str, message: str, offset: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)

    assert (caught.value.message, caught.value.offset) == (message, offset)


@pytest.mark.parametrize(
    "source",
    [
        "(" * 50 + "1" + ")" * 50,
        "-" * 50 + "1",
        "not (" * 25 + "true" + ")" * 25,
        "1" + " + 1" * 50,
        " or ".join(["a"] * 250),
        "x" * 2000,
    ],
)
def test_limits_are_inclusive(source: str) -> None:
    expression = compile_expression(source)

    assert expression.source == source


def test_deepest_nesting_still_evaluates() -> None:
    assert compile_expression("(" * 50 + "1" + ")" * 50).evaluate({}) == 1
    assert compile_expression("not (" * 25 + "true" + ")" * 25).evaluate({}) is False
    assert compile_expression("1" + " + 1" * 50).evaluate({}) == 51
    assert compile_expression(" or ".join([f"a{i}" for i in range(200)])).evaluate({"a199": True}) is True


@pytest.mark.parametrize(
    ("source", "names", "functions"),
    [
        ("floor_area > 300 and industry in ['chemical', 'mining']", {"floor_area", "industry"}, set()),
        ("not is_special_project", {"is_special_project"}, set()),
        ("decision.review_fire == 'approve'", {"decision.review_fire"}, set()),
        (
            "sum(shareholders.amount) >= registered_capital or len(shareholders) > 1",
            {"shareholders.amount", "registered_capital", "shareholders"},
            {"sum", "len"},
        ),
        ("'floor_area' == lower(x)", {"x"}, {"lower"}),
        ("count(max([a, b]), len)", {"a", "b", "len"}, {"count", "max"}),
        ("true and not null", set(), set()),
    ],
)
def test_names_and_functions(source: str, names: set[str], functions: set[str]) -> None:
    expression = compile_expression(source)

    assert expression.names == frozenset(names)
    assert expression.functions == frozenset(functions)
    assert isinstance(expression.names, frozenset)
    assert isinstance(expression.functions, frozenset)


def test_test_requires_true_or_false() -> None:
    assert compile_expression("floor_area > 300").test({"floor_area": 301}) is True
    assert compile_expression("floor_area > 300").test({"floor_area": 299}) is False

    with pytest.raises(EvaluationError) as caught:
        compile_expression("floor_area").test({"floor_area": 1})

    assert caught.value.message == "condition did not give true or false"


def test_test_rejects_null() -> None:
    with pytest.raises(EvaluationError) as caught:
        compile_expression("missing").test({})

    assert caught.value.message == "condition did not give true or false"


def test_compiled_expressions_are_cached() -> None:
    first = compile_expression("floor_area > 300")

    assert compile_expression("floor_area > 300") is first
    assert isinstance(first, Expression)
    assert repr(first) == "Expression('floor_area > 300')"


def test_evaluation_does_not_change_the_result_of_the_next_one() -> None:
    expression = compile_expression("[1, 2]")
    first = expression.evaluate({})
    first.append(3)

    assert expression.evaluate({}) == [1, 2]


def test_expression_error_survives_pickling() -> None:
    error = ExpressionError("unexpected ')'", 4)

    copy = pickle.loads(pickle.dumps(error))

    assert (copy.message, copy.offset) == ("unexpected ')'", 4)
    assert str(copy) == "unexpected ')' (at offset 4)"


def test_non_text_source_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        compile_expression(42)  # type: ignore[arg-type]


# -- properties ---------------------------------------------------------------


def _compile_or_error(source: str) -> Expression | ExpressionError:
    try:
        return compile_expression(source)
    except ExpressionError as error:
        return error


def _check_error(source: str, error: ExpressionError) -> None:
    assert isinstance(error.message, str)
    assert error.message
    assert 0 <= error.offset <= len(source)


@given(st.text())
def test_arbitrary_text_only_raises_expression_error(source: str) -> None:
    result = _compile_or_error(source)

    if isinstance(result, ExpressionError):
        _check_error(source, result)
    else:
        assert result.source == source


FRAGMENTS = [*"ab1.5()[],'\"\\ =<>!&|*+-/%_\x00\t", "a.b", "len(", "sum(", " and ", " or ", "not ", " in "]
LANGUAGE = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)
CONTEXT_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.decimals() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("ab"), inner, max_size=2),
    max_leaves=6,
)


@settings(max_examples=300)
@given(LANGUAGE)
def test_language_like_text_only_raises_expression_error(source: str) -> None:
    result = _compile_or_error(source)

    if isinstance(result, ExpressionError):
        _check_error(source, result)
    else:
        assert result.source == source


# Valid but untyped: any operator or function applied to anything, fully parenthesized.
INFIX_OPERATORS = ["or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "+", "-", "*", "/", "%"]
ANY_CONDITION = st.recursive(
    st.sampled_from(["a", "b", "a.b", "b.a.b", "0", "1", "2.5", "'x'", "''", "true", "false", "null", "[]"]),
    lambda inner: st.one_of(
        st.builds("({} {} {})".format, inner, st.sampled_from(INFIX_OPERATORS), inner),
        st.builds("({}{})".format, st.sampled_from(["-", "+", "not "]), inner),
        st.builds(
            "{}({})".format,
            st.sampled_from(["len", "sum", "min", "max", "any", "all", "abs", "lower"]),
            inner,
        ),
        st.builds("count({}, {})".format, inner, inner),
        st.lists(inner, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
    ),
    max_leaves=12,
)


@settings(max_examples=400)
@given(ANY_CONDITION, st.dictionaries(st.sampled_from("ab"), CONTEXT_VALUES))
def test_valid_conditions_only_raise_evaluation_error(source: str, context: dict) -> None:
    expression = compile_expression(source)

    try:
        expression.evaluate(context)
    except EvaluationError as error:
        message = error.message
        assert isinstance(message, str)
        assert message


@pytest.mark.parametrize(
    "source",
    [
        "(" * 10_000,
        "(" * 1999,
        "[" * 1999,
        "-" * 1999 + "1",
        "not " * 499 + "a",
        "len(" * 499,
        "a" + "+a" * 999,
    ],
)
def test_deep_nesting_is_an_expression_error(source: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)

    assert "nested" in caught.value.message or "longer" in caught.value.message


@given(st.integers(min_value=0, max_value=999))
def test_parentheses_nest_up_to_the_limit(depth: int) -> None:
    source = "(" * depth + "1" + ")" * depth

    result = _compile_or_error(source)

    if depth <= 50:
        assert not isinstance(result, ExpressionError)
        assert result.evaluate({}) == 1
    else:
        assert isinstance(result, ExpressionError)
        assert result.offset == 50


# Well-formed expressions, each built with the value Python gives it. They are printed
# with as few parentheses as the documented precedence allows (plus some spare ones),
# so a parser that binds any operator wrongly evaluates some of them differently.
# Every sub-expression is checked, in contexts giving its names many different values,
# which makes such a difference hard to miss.

CONTEXTS = [
    {"p": p, "q": q, "r": r, **numbers}
    for p, q, r in itertools.product([True, False], repeat=3)
    for numbers in ({"a": 3, "b": -4, "c": 0}, {"a": -7, "b": 5, "c": 2})
]
ATOM = 9
OPERATORS = {  # precedence as documented, and Python's meaning (on thunks, to keep short-circuiting)
    "or": (1, lambda x, y: x() or y()),
    "and": (2, lambda x, y: x() and y()),
    "==": (4, lambda x, y: x() == y()),
    "!=": (4, lambda x, y: x() != y()),
    "<": (4, lambda x, y: x() < y()),
    "<=": (4, lambda x, y: x() <= y()),
    ">": (4, lambda x, y: x() > y()),
    ">=": (4, lambda x, y: x() >= y()),
    "+": (5, lambda x, y: x() + y()),
    "-": (5, lambda x, y: x() - y()),
    "*": (6, lambda x, y: x() * y()),
    "%": (6, lambda x, y: x() % y()),
}


class Generated(NamedTuple):
    source: str
    precedence: int
    value: Callable[[dict], Any]  # raises ZeroDivisionError where the condition must fail
    parts: tuple[Generated, ...] = ()

    def walk(self) -> Iterator[Generated]:
        yield self
        for part in self.parts:
            yield from part.walk()


def _leaf(source: str) -> Generated:
    constants = {"true": True, "false": False}
    if source in constants:
        return Generated(source, ATOM, lambda context: constants[source])
    if source.isdigit():
        return Generated(source, ATOM, lambda context: int(source))
    return Generated(source, ATOM, lambda context: context[source])


def _operand(part: Generated, least: int) -> str:
    return part.source if part.precedence >= least else f"({part.source})"


def _binary(op: str, left: Generated, right: Generated) -> Generated:
    precedence, python = OPERATORS[op]
    # comparisons do not chain, so both their sides need a tighter operator
    left_least = precedence + 1 if precedence == 4 else precedence
    source = f"{_operand(left, left_least)} {op} {_operand(right, precedence + 1)}"
    value = lambda context: python(lambda: left.value(context), lambda: right.value(context))  # noqa: E731
    return Generated(source, precedence, value, (left, right))


def _prefix(word: str, precedence: int, python: Callable[[Any], Any]) -> Callable[[Generated], Generated]:
    def build(part: Generated) -> Generated:
        value = lambda context: python(part.value(context))  # noqa: E731
        return Generated(f"{word}{_operand(part, precedence)}", precedence, value, (part,))

    return build


def _spare_parentheses(parts: st.SearchStrategy[Generated]) -> st.SearchStrategy[Generated]:
    return st.tuples(parts, st.sampled_from([False, False, False, True])).map(
        lambda pair: Generated(f"({pair[0].source})", ATOM, pair[0].value, (pair[0],)) if pair[1] else pair[0]
    )


def _member(negated: bool, item: Generated, items: list[Generated]) -> Generated:
    source = f"{_operand(item, 5)} {'not in' if negated else 'in'} [{', '.join(i.source for i in items)}]"
    value = lambda context: (item.value(context) in [i.value(context) for i in items]) != negated  # noqa: E731
    return Generated(source, 4, value, (item, *items))


@functools.cache
def numbers(depth: int) -> st.SearchStrategy[Generated]:
    leaves = st.sampled_from(["a", "b", "c", "0", "1", "2", "7", "12"]).map(_leaf)
    if depth == 0:
        return leaves
    smaller = numbers(depth - 1)
    arithmetic = st.builds(_binary, st.sampled_from(["+", "-", "*", "%"]), smaller, smaller)
    negated = smaller.map(_prefix("-", 7, operator.neg))
    return _spare_parentheses(leaves | arithmetic | negated)


@functools.cache
def conditions(depth: int) -> st.SearchStrategy[Generated]:
    leaves = st.sampled_from(["p", "q", "r", "true", "false"]).map(_leaf)
    if depth == 0:
        return leaves
    smaller, numeric = conditions(depth - 1), numbers(depth - 1)
    logic = st.builds(_binary, st.sampled_from(["and", "or"]), smaller, smaller)
    compared = st.builds(_binary, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), numeric, numeric)
    equal_truths = st.builds(_binary, st.sampled_from(["==", "!="]), smaller, smaller)
    member = st.builds(_member, st.booleans(), numeric, st.lists(numeric, max_size=3))
    inverted = smaller.map(_prefix("not ", 3, operator.not_))
    return _spare_parentheses(leaves | logic | compared | equal_truths | member | inverted)


def _chain(operators: list[str], parts: st.SearchStrategy[Generated]) -> st.SearchStrategy[Generated]:
    def join(first: Generated, rest: list[tuple[str, Generated]]) -> Generated:
        for op, part in rest:
            first = _binary(op, first, part)
        return first

    return st.builds(join, parts, st.lists(st.tuples(st.sampled_from(operators), parts), max_size=2))


def _layered() -> st.SearchStrategy[Generated]:
    """Sums of products of signed numbers, compared, negated and joined with 'and' and 'or': every
    operator meets the ones next to it in the precedence order without parentheses between them."""
    factors = numbers(0) | numbers(0).map(_prefix("-", 7, operator.neg))
    sums = _chain(["+", "-"], _chain(["*", "%"], factors))
    compared = st.builds(_binary, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), sums, sums)
    truths = conditions(0) | compared
    return sums | _chain(["or"], _chain(["and"], truths | truths.map(_prefix("not ", 3, operator.not_))))


def _check_against_python(generated: Generated) -> None:
    for part, context in itertools.product(generated.walk(), CONTEXTS):
        try:
            expected = part.value(context)
        except ZeroDivisionError:
            expected = ZeroDivisionError
        expression = compile_expression(part.source)

        if expected is ZeroDivisionError:
            with pytest.raises(EvaluationError) as caught:
                expression.evaluate(context)
            assert caught.value.message == "division by zero"
        else:
            result = expression.evaluate(context)
            assert result == expected, (part.source, context)
            assert type(result) is type(expected)


@settings(max_examples=300, deadline=None)  # the first run of a big example compiles all its parts
@given(conditions(4) | numbers(4))
def test_generated_expressions_match_python(generated: Generated) -> None:
    _check_against_python(generated)


@settings(max_examples=100, deadline=None)
@given(_layered())
def test_generated_operator_chains_match_python(generated: Generated) -> None:
    _check_against_python(generated)
