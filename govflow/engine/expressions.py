"""Gateway conditions: a small expression language that is safe to run on user text.

A condition such as ``floor_area > 300 and industry in ["chemical", "mining"]`` is
read by a hand-written tokenizer and a precedence-climbing parser into a tree of
frozen dataclasses, which is then turned into nested closures. Nothing is ever
handed to ``eval``, ``exec`` or ``compile``, and values are only reached through
``Mapping`` lookups, never attributes.

From loosest to tightest binding: ``or``; ``and``; ``not``; the comparisons
``== != < <= > >= in not in`` (which do not chain); ``+ -``; ``* / %``; unary
``- +``; function calls. Values are integers, decimals (``3.5`` is a ``Decimal``),
quoted text with the escapes ``\\\\ \\" \\' \\n \\t``, ``true``/``false``/``null``,
lists ``[1, "a"]`` and dotted names. The first part of a name is looked up in the
context, each later part in a mapping or in every row of a list
(``shareholders.amount``); a missing key gives null. The only functions are
``len sum min max any all abs lower upper count``.

Typing is strict but forgiving of null: true and false are not numbers; ``int``,
``float`` and ``Decimal`` mix, floats becoming ``Decimal(str(x))`` (and ``/`` always
gives a Decimal); arithmetic with null gives null and ordering against null is false;
``and``/``or`` take true, false or null (as false), but ``not`` and ``test()`` need
exactly true or false; a null list acts as an empty one (``len(null)`` is 0).
"""

from __future__ import annotations

import functools
import operator
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, DecimalException
from typing import Any, NamedTuple

from .problems import Message

__all__ = ["EvaluationError", "Expression", "ExpressionError", "compile_expression"]

MAX_LENGTH = 2000
MAX_DEPTH = 50
MAX_TOKENS = 500


class ExpressionError(Exception):
    """The source text of a condition is not valid; ``offset`` is 0-based."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message, offset)
        self.message = message
        self.offset = offset

    def __str__(self) -> str:
        return f"{self.message} (at offset {self.offset})"


class EvaluationError(Exception):
    """A condition met values it cannot work with, e.g. text compared with a number."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# -- tokens -------------------------------------------------------------------


class _Token(NamedTuple):
    kind: str  # "value", "name", "op" or "end"
    value: Any
    offset: int
    text: str


_SPACE = frozenset(" \t\r\n")
_LETTERS = frozenset(string.ascii_letters + "_")
_DIGITS = frozenset(string.digits)
_WORD = _LETTERS | _DIGITS
_CONSTANTS = {"true": True, "True": True, "false": False, "False": False, "null": None, "None": None}
_KEYWORDS = frozenset({"and", "or", "not", "in", *_CONSTANTS})
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t"}
_PAIRS = frozenset({"==", "!=", "<=", ">="})
_SINGLES = frozenset("<>+-*/%()[],")
_HINTS = {
    "&&": Message("use 'and' instead of '&&'"),
    "||": Message("use 'or' instead of '||'"),
    "**": Message("there is no power operator '**'"),
    "=": Message("use '==' to compare"),
    "!": Message("use 'not' instead of '!'"),
}


def _show(char: str) -> str:
    return f"'{char}'" if char.isprintable() else f"U+{ord(char):04X}"


def _scan(source: str, index: int, chars: frozenset[str]) -> int:
    while index < len(source) and source[index] in chars:
        index += 1
    return index


def _tokens(source: str) -> Iterator[_Token]:
    """Yield tokens lazily, so that the first problem in the text is the one reported."""
    index = count = 0
    while (start := _scan(source, index, _SPACE)) < len(source):
        count += 1
        if count > MAX_TOKENS:
            raise ExpressionError(
                Message("the condition has too many parts (more than {count})", count=MAX_TOKENS), start
            )
        char, pair = source[start], source[start : start + 2]
        if char in _LETTERS:
            kind, value, index = _word(source, start)
        elif char in _DIGITS:
            kind, index = "value", _scan(source, start, _DIGITS)
            if source.startswith(".", index):
                index = _scan(source, index + 1, _DIGITS)
                if source[index - 1] == ".":
                    raise ExpressionError(Message("expected a digit after '.'"), index)
            value = Decimal(source[start:index]) if "." in source[start:index] else int(source[start:index])
        elif char in "'\"":
            kind, value, index = "value", *_string(source, start)
        elif pair in _HINTS or (pair not in _PAIRS and char in _HINTS):
            raise ExpressionError(_HINTS.get(pair) or _HINTS[char], start)
        elif pair in _PAIRS or char in _SINGLES:
            value = pair if pair in _PAIRS else char
            kind, index = "op", start + len(value)
        elif ord(char) < 32 or 127 <= ord(char) < 160:
            raise ExpressionError(
                Message("control character U+{code:04X} is not allowed", code=ord(char)), start
            )
        else:
            raise ExpressionError(Message("unexpected character {char}", char=_show(char)), start)
        yield _Token(kind, value, start, source[start:index])
    end = _Token("end", None, len(source), "")
    while True:
        yield end


def _word(source: str, start: int) -> tuple[str, Any, int]:
    end = _scan(source, start, _WORD)
    word = source[start:end]
    if word == "not":  # "not in" is one operator
        after = _scan(source, end, _SPACE)
        if source.startswith("in", after) and _scan(source, after, _WORD) == after + 2:
            return "op", "not in", after + 2
    if word in _CONSTANTS:
        return "value", _CONSTANTS[word], end
    if word in _KEYWORDS:
        return "op", word, end
    while source.startswith(".", end):
        part_start, end = end + 1, _scan(source, end + 1, _WORD)
        if end == part_start or source[part_start] not in _LETTERS:
            raise ExpressionError(Message("expected a name after '.'"), part_start)
        if (part := source[part_start:end]) in _KEYWORDS:
            raise ExpressionError(
                Message("'{part}' is a reserved word and can't be part of a name", part=part), part_start
            )
    return "name", source[start:end], end


def _string(source: str, start: int) -> tuple[str, int]:
    parts, index = [], start + 1
    while index < len(source) and (char := source[index]) != source[start]:
        if char == "\\":
            escaped = source[index + 1 : index + 2]
            if not escaped:
                break
            if escaped not in _ESCAPES:
                shown = f"'\\{escaped}'" if escaped.isprintable() else f"'\\' + {_show(escaped)}"
                raise ExpressionError(Message("unknown escape {escape} in string", escape=shown), index)
            char, index = _ESCAPES[escaped], index + 1
        parts.append(char)
        index += 1
    if index >= len(source) or source[index] != source[start]:
        raise ExpressionError(Message("unterminated string"), start)
    return "".join(parts), index + 1


# -- tree and parser ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any
    offset: int


@dataclass(frozen=True, slots=True)
class Name:
    path: str  # dotted
    offset: int


@dataclass(frozen=True, slots=True)
class Operation:
    """An operator (``-`` with one operand negates), a function call (``len``) or a list (``[]``).

    ``and``/``or`` take any number of operands, so that long chains stay shallow."""

    op: str
    operands: tuple[Node, ...]
    offset: int


Node = Literal | Name | Operation

_NOT, _COMPARE, _UNARY = 3, 4, 7
_INFIX = {"or": 1, "and": 2, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}
_INFIX.update(dict.fromkeys(("==", "!=", "<", "<=", ">", ">=", "in", "not in"), _COMPARE))


class _Parser:
    """Precedence climbing. ``depth`` counts the open brackets, operators and calls around
    the current token, so that deep input fails cleanly instead of exhausting the stack."""

    def __init__(self, source: str) -> None:
        self.tokens = _tokens(source)
        self.tok = next(self.tokens)
        self.depth = 0
        self.names: set[str] = set()
        self.functions: set[str] = set()

    def advance(self) -> _Token:
        token, self.tok = self.tok, next(self.tokens)
        return token

    def at(self, op: str) -> bool:
        return self.tok.kind == "op" and self.tok.value == op

    def enter(self, offset: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(
                Message("the condition is nested too deeply (more than {count} levels)", count=MAX_DEPTH),
                offset,
            )

    def unexpected(self) -> ExpressionError:
        token = self.tok
        if token.kind == "end":
            return ExpressionError(Message("unexpected end of condition"), token.offset)
        if token.kind == "value" and isinstance(token.value, str):
            shown = token.text[:27] + "..." * (len(token.text) > 30)
            return ExpressionError(Message("unexpected text {text}", text=shown), token.offset)
        return ExpressionError(Message("unexpected '{text}'", text=token.text), token.offset)

    def close(self, closer: str) -> int:
        if self.at(closer):
            return self.advance().offset
        if self.tok.kind == "end":
            raise ExpressionError(Message("missing '{closer}'", closer=closer), self.tok.offset)
        raise self.unexpected()

    def expression(self, least: int) -> Node:
        left, entered = self.prefix(), 0
        while self.tok.kind == "op" and _INFIX.get(self.tok.value, 0) >= least:
            op, precedence, offset = self.tok.value, _INFIX[self.tok.value], self.tok.offset
            joins = isinstance(left, Operation) and left.op == op and op in ("and", "or")
            if not joins:
                self.enter(offset)
                entered += 1
            self.advance()
            right = self.expression(precedence + 1)
            if isinstance(left, Operation) and joins:
                left = Operation(op, (*left.operands, right), left.offset)
            else:
                left = Operation(op, (left, right), offset)
            if precedence == _COMPARE and self.tok.kind == "op" and _INFIX.get(self.tok.value) == _COMPARE:
                raise ExpressionError(
                    Message("comparisons can't be chained; join them with 'and'"), self.tok.offset
                )
        self.depth -= entered
        return left

    def prefix(self) -> Node:
        token = self.tok
        if token.kind == "value":
            self.advance()
            return Literal(token.value, token.offset)
        if token.kind == "name":
            self.advance()
            if self.at("("):
                return self.call(token)
            self.names.add(token.value)
            return Name(token.value, token.offset)
        if token.kind != "op" or token.value not in ("(", "[", "not", "-", "+"):
            raise self.unexpected()
        self.enter(token.offset)
        self.advance()
        node: Node
        if token.value == "(":
            node = self.expression(1)
            self.close(")")
        elif token.value == "[":
            node = Operation("[]", tuple(self.items("]")[0]), token.offset)
        else:
            node = self.expression(_NOT if token.value == "not" else _UNARY)
            if token.value == "not" or not (isinstance(node, Literal) and _is_number(node.value)):
                node = Operation(token.value, (node,), token.offset)
            elif token.value == "-":  # a negative number
                node = Literal(-node.value, token.offset)
        self.depth -= 1
        return node

    def items(self, closer: str) -> tuple[list[Node], list[int], int]:
        items, starts = [], []
        while not self.at(closer):
            starts.append(self.tok.offset)
            items.append(self.expression(1))
            if self.at(","):
                self.advance()
            elif not self.at(closer):
                self.close(closer)
        return items, starts, self.advance().offset

    def call(self, name: _Token) -> Node:
        if name.value not in _FUNCTIONS:
            raise ExpressionError(Message("unknown function '{name}'", name=name.value), name.offset)
        self.enter(self.tok.offset)
        self.advance()
        args, starts, end = self.items(")")
        self.depth -= 1
        if len(args) != (arity := _FUNCTIONS[name.value][0]):
            raise ExpressionError(
                Message("{name}() takes 1 argument, got {count}", name=name.value, count=len(args))
                if arity == 1
                else Message(
                    "{name}() takes {arity} arguments, got {count}",
                    name=name.value,
                    arity=arity,
                    count=len(args),
                ),
                starts[arity] if len(args) > arity else end,
            )
        self.functions.add(name.value)
        return Operation(name.value, tuple(args), name.offset)


# -- values -------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _kind(value: Any) -> Message | str:
    if value is None or isinstance(value, bool):
        return Message("null") if value is None else Message("true/false")
    if _is_number(value):
        return Message("number")
    if isinstance(value, str):
        return Message("text")
    if _is_list(value):
        return Message("list")
    return Message("record") if isinstance(value, Mapping) else type(value).__name__


def _exact(value: Any) -> Any:
    """Floats become Decimals through their text, so 0.1 is 0.1; Decimal and int mix exactly."""
    return Decimal(str(value)) if isinstance(value, float) else value


def _lookup(value: Any, key: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(key)
    return [_lookup(row, key) for row in value] if _is_list(value) else None


_PLAIN = frozenset({int, str, float, Decimal, bool, type(None)})


def _equal(a: Any, b: Any) -> bool:
    if type(a) is type(b) and type(a) in _PLAIN:
        return bool(a == b)
    if _is_number(a) and _is_number(b):
        return bool(_exact(a) == _exact(b))
    if _is_list(a) and _is_list(b):
        return len(a) == len(b) and all(map(_equal, a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_equal(a[key], b[key]) for key in a)
    return type(a) is type(b) and bool(a == b)  # so true, false and null equal only themselves


def _ordering(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if type(a) is type(b) and type(a) in (int, str, float, Decimal):
            return op(a, b)
        if a is None or b is None:
            return False
        if _is_number(a) and _is_number(b):
            return op(_exact(a), _exact(b))
        if isinstance(a, str) and isinstance(b, str):
            return op(a, b)
        raise EvaluationError(Message("cannot compare {a} with {b}", a=_kind(a), b=_kind(b)))

    return compare


# What an operator cannot do with two values of these kinds.
CANNOT: dict[str, Callable[[Message | str, Message | str], Message]] = {
    "add": lambda a, b: Message("cannot add {a} and {b}", a=a, b=b),
    "subtract": lambda a, b: Message("cannot subtract {a} and {b}", a=a, b=b),
    "multiply": lambda a, b: Message("cannot multiply {a} and {b}", a=a, b=b),
    "divide": lambda a, b: Message("cannot divide {a} and {b}", a=a, b=b),
}


def _arithmetic(verb: str, op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def calculate(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        if _is_number(a) and _is_number(b):
            if verb == "divide" and b == 0:
                raise EvaluationError(Message("division by zero"))
            return op(_exact(a), _exact(b))
        if verb == "add" and isinstance(a, str) and isinstance(b, str):
            return a + b
        if verb == "add" and _is_list(a) and _is_list(b):
            return [*a, *b]
        raise EvaluationError(CANNOT[verb](_kind(a), _kind(b)))

    return calculate


def _floor_remainder(a: Any, b: Any) -> Any:
    # Decimal's % takes the sign of the dividend; follow int's and take the divisor's.
    remainder = a % b
    return remainder + b if remainder and (remainder < 0) != (b < 0) else remainder


def _contains(item: Any, container: Any) -> bool:
    if container is None:
        return False
    if isinstance(container, str):
        if item is not None and not isinstance(item, str):
            raise EvaluationError(Message("cannot look for {kind} in text", kind=_kind(item)))
        return item is not None and item in container
    if not _is_list(container):
        raise EvaluationError(
            Message("'in' needs a list or text on the right, got {kind}", kind=_kind(container))
        )
    return item in container if type(item) is str else any(_equal(item, x) for x in container)


def _truth(value: Any, where: str) -> bool:
    if value is None or value is True or value is False:
        return bool(value)
    raise EvaluationError(Message("{where} needs true or false, got {kind}", where=where, kind=_kind(value)))


def _not(value: Any) -> bool:
    if value is True or value is False:
        return not value
    raise EvaluationError(Message("'not' needs true or false, got {kind}", kind=_kind(value)))


def _checked(op: Callable[[Any], Any], accepts: Callable[[Any], bool], message: str) -> Callable[[Any], Any]:
    """One-value operations and functions: null gives null, a value of the wrong kind an error."""

    def apply(value: Any) -> Any:
        if value is None:
            return None
        if not accepts(value):
            raise EvaluationError(message.format(_kind(value)))
        return op(value)

    return apply


_OPERATORS: dict[str, Callable[..., Any]] = {
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "<": _ordering(operator.lt),
    "<=": _ordering(operator.le),
    ">": _ordering(operator.gt),
    ">=": _ordering(operator.ge),
    "in": _contains,
    "not in": lambda a, b: not _contains(a, b),
    "+": _arithmetic("add", operator.add),
    "-": _arithmetic("subtract", operator.sub),
    "*": _arithmetic("multiply", operator.mul),
    "/": _arithmetic("divide", lambda a, b: Decimal(a) / b),
    "%": _arithmetic("divide", _floor_remainder),
}
_PREFIX_OPERATORS: dict[str, Callable[[Any], Any]] = {
    "not": _not,
    "-": _checked(lambda value: -_exact(value), _is_number, "cannot negate {}"),
    "+": _checked(_exact, _is_number, "cannot use '+' on {}"),
}


# -- functions ----------------------------------------------------------------


def _rows(function: str, value: Any) -> list[Any] | tuple[Any, ...]:
    if value is None or _is_list(value):
        return value or []
    raise EvaluationError(
        Message("{function}() needs a list, got {kind}", function=function, kind=_kind(value))
    )


def _len(value: Any) -> int:
    if value is None or isinstance(value, str | Mapping) or _is_list(value):
        return len(value or ())
    raise EvaluationError(Message("len() needs text or a list, got {kind}", kind=_kind(value)))


def _sum(value: Any) -> Any:
    total: Any = 0
    for item in _rows("sum", value):
        if item is not None and not _is_number(item):
            raise EvaluationError(Message("sum() needs numbers, got {kind}", kind=_kind(item)))
        total = total if item is None else total + _exact(item)
    return total


def _extreme(function: str, better: Callable[[Any, Any], bool]) -> Callable[[Any], Any]:
    def pick(value: Any) -> Any:
        best = None
        for item in _rows(function, value):
            if item is not None and not (_is_number(item) or isinstance(item, str)):
                raise EvaluationError(
                    Message(
                        "{function}() needs numbers or text, got {kind}", function=function, kind=_kind(item)
                    )
                )
            if item is not None and (best is None or better(item, best)):
                best = item
        return best

    return pick


_FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "len": (1, _len),
    "sum": (1, _sum),
    "min": (1, _extreme("min", _OPERATORS["<"])),
    "max": (1, _extreme("max", _OPERATORS[">"])),
    "any": (1, lambda value: any(_truth(item, "any()") for item in _rows("any", value))),
    "all": (1, lambda value: all(_truth(item, "all()") for item in _rows("all", value))),
    "abs": (1, _checked(lambda value: abs(_exact(value)), _is_number, "abs() needs a number, got {}")),
    "lower": (1, _checked(str.lower, lambda value: isinstance(value, str), "lower() needs text, got {}")),
    "upper": (1, _checked(str.upper, lambda value: isinstance(value, str), "upper() needs text, got {}")),
    "count": (2, lambda value, wanted: sum(1 for item in _rows("count", value) if _equal(item, wanted))),
}


# -- compiling ----------------------------------------------------------------

_Run = Callable[[Mapping[str, Any]], Any]


def _compile(node: Node) -> _Run:
    if isinstance(node, Literal):
        value = node.value
        return lambda context: value
    if isinstance(node, Name):
        first, *rest = node.path.split(".")
        if not rest:
            return lambda context: context.get(first)
        return lambda context: functools.reduce(_lookup, rest, context.get(first))
    op, runs = node.op, tuple(map(_compile, node.operands))
    if op in ("and", "or"):
        where, stop = f"'{op}'", op == "or"

        def logic(context: Mapping[str, Any]) -> bool:
            for run in runs:
                if _truth(run(context), where) is stop:
                    return stop
            return not stop

        return logic
    if op == "[]":
        return lambda context: [run(context) for run in runs]
    apply = (
        _FUNCTIONS[op][1] if op in _FUNCTIONS else (_PREFIX_OPERATORS if len(runs) == 1 else _OPERATORS)[op]
    )
    if len(runs) == 1:
        (only,) = runs
        return lambda context: apply(only(context))
    left, right = runs
    if isinstance(node.operands[1], Literal):
        constant = node.operands[1].value
        return lambda context: apply(left(context), constant)
    return lambda context: apply(left(context), right(context))


class Expression:
    """A compiled condition; immutable and safe to share between threads."""

    __slots__ = ("_run", "functions", "names", "source")

    def __init__(self, source: str, names: frozenset[str], functions: frozenset[str], run: _Run) -> None:
        self.source = source
        self.names = names
        self.functions = functions
        self._run = run

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def evaluate(self, context: Mapping[str, Any]) -> Any:
        """Evaluate against ``context``; raises EvaluationError for values of the wrong kind."""
        try:
            return self._run(context)
        except DecimalException as exc:  # e.g. a float NaN or infinity reached arithmetic
            raise EvaluationError(Message("these numbers cannot be calculated with")) from exc

    def test(self, context: Mapping[str, Any]) -> bool:
        """Evaluate as a gateway condition: the result must be true or false."""
        result = self.evaluate(context)
        if result is True or result is False:
            return result
        raise EvaluationError(Message("condition did not give true or false"))


@functools.lru_cache(maxsize=1024)
def compile_expression(source: str) -> Expression:
    """Parse and compile ``source`` (cached); raises ExpressionError if it is not valid."""
    if not isinstance(source, str):
        raise TypeError(f"a condition must be text, not {type(source).__name__}")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(
            Message("the condition is longer than {count} characters", count=MAX_LENGTH), MAX_LENGTH
        )
    if not source.strip(" \t\r\n"):
        raise ExpressionError(Message("empty condition"), 0)
    parser = _Parser(source)
    tree = parser.expression(1)
    if parser.tok.kind != "end":
        raise parser.unexpected()
    return Expression(source, frozenset(parser.names), frozenset(parser.functions), _compile(tree))
