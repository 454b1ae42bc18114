"""Gateway conditions: a small expression language that is safe to run on user text.

A condition such as ``floor_area > 300 and industry in ["chemical", "mining"]`` is
read by a hand-written tokenizer and a precedence-climbing parser into a tree of
frozen dataclasses, which is then turned into nested closures. Nothing is ever
handed to ``eval``, ``exec`` or ``compile``, and values are only reached through
``Mapping`` lookups, never attributes.

The language, from loosest to tightest binding:
``or``, ``and``, ``not``, comparisons (``== != < <= > >= in`` and ``not in``, which
do not chain), ``+ -``, ``* / %``, unary ``- +``, function calls. Values are
integers, decimals (``3.5`` is a ``Decimal``), quoted text with ``\\\\ \\" \\' \\n \\t``
escapes, ``true``/``false``/``null``, lists ``[1, "a"]`` and dotted names. The
first part of a name is looked up in the context; each later part is looked up in a
mapping, or in every row of a list (``shareholders.amount``). Missing keys give null.
Only the functions ``len sum min max any all abs lower upper count`` exist.

Typing is strict but forgiving of null: true and false are not numbers; ``int``,
``float`` and ``Decimal`` mix (via ``Decimal(str(x))``, so ``/`` always gives a
Decimal); arithmetic with null gives null and ordering against null is false;
``and``/``or`` take true, false or null; a null list acts as an empty one.
"""

from __future__ import annotations

import functools
import operator
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, DecimalException
from typing import Any, NamedTuple

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
    "&&": "use 'and' instead of '&&'",
    "||": "use 'or' instead of '||'",
    "**": "there is no power operator '**'",
    "=": "use '==' to compare",
    "!": "use 'not' instead of '!'",
}


def _show(char: str) -> str:
    return f"'{char}'" if char.isprintable() else f"U+{ord(char):04X}"


def _scan(source: str, index: int, chars: frozenset[str]) -> int:
    while index < len(source) and source[index] in chars:
        index += 1
    return index


def _tokens(source: str) -> Iterator[_Token]:
    """Yield tokens lazily, so an error is reported at the first problem in the text."""
    index = count = 0
    while True:
        index = _scan(source, index, _SPACE)
        if index == len(source):
            break
        count += 1
        if count > MAX_TOKENS:
            raise ExpressionError(f"the condition has too many parts (more than {MAX_TOKENS})", index)
        char = source[index]
        if char in _LETTERS:
            token, index = _word(source, index)
        elif char in _DIGITS:
            token, index = _number(source, index)
        elif char in "'\"":
            token, index = _string(source, index)
        else:
            token, index = _symbol(source, index)
        yield token
    end = _Token("end", None, len(source), "")
    while True:
        yield end


def _word(source: str, start: int) -> tuple[_Token, int]:
    end = _scan(source, start, _WORD)
    word = source[start:end]
    if word == "not":
        after = _scan(source, end, _SPACE)
        if source.startswith("in", after) and _scan(source, after, _WORD) == after + 2:
            return _Token("op", "not in", start, source[start : after + 2]), after + 2
    if word in _CONSTANTS:
        return _Token("value", _CONSTANTS[word], start, word), end
    if word in _KEYWORDS:
        return _Token("op", word, start, word), end
    while end < len(source) and source[end] == ".":
        part_start = end + 1
        end = _scan(source, part_start, _WORD)
        if end == part_start or source[part_start] not in _LETTERS:
            raise ExpressionError("expected a name after '.'", part_start)
        if source[part_start:end] in _KEYWORDS:
            part = source[part_start:end]
            raise ExpressionError(f"'{part}' is a reserved word and can't be part of a name", part_start)
    return _Token("name", source[start:end], start, source[start:end]), end


def _number(source: str, start: int) -> tuple[_Token, int]:
    end = _scan(source, start, _DIGITS)
    if end < len(source) and source[end] == ".":
        fraction_end = _scan(source, end + 1, _DIGITS)
        if fraction_end == end + 1:
            raise ExpressionError("expected a digit after '.'", end + 1)
        text = source[start:fraction_end]
        return _Token("value", Decimal(text), start, text), fraction_end
    text = source[start:end]
    return _Token("value", int(text), start, text), end


def _string(source: str, start: int) -> tuple[_Token, int]:
    quote, parts, index = source[start], [], start + 1
    while index < len(source):
        char = source[index]
        if char == quote:
            return _Token("value", "".join(parts), start, source[start : index + 1]), index + 1
        if char == "\\":
            escaped = source[index + 1 : index + 2]
            if not escaped:
                break
            if escaped not in _ESCAPES:
                shown = f"'\\{escaped}'" if escaped.isprintable() else f"'\\' + {_show(escaped)}"
                raise ExpressionError(f"unknown escape {shown} in string", index)
            parts.append(_ESCAPES[escaped])
            index += 2
        else:
            parts.append(char)
            index += 1
    raise ExpressionError("unterminated string", start)


def _symbol(source: str, start: int) -> tuple[_Token, int]:
    pair, char = source[start : start + 2], source[start]
    if pair in _HINTS:
        raise ExpressionError(_HINTS[pair], start)
    if pair in _PAIRS:
        return _Token("op", pair, start, pair), start + 2
    if char in _HINTS:
        raise ExpressionError(_HINTS[char], start)
    if char in _SINGLES:
        return _Token("op", char, start, char), start + 1
    if ord(char) < 32 or 127 <= ord(char) < 160:
        raise ExpressionError(f"control character U+{ord(char):04X} is not allowed", start)
    raise ExpressionError(f"unexpected character {_show(char)}", start)


# -- tree and parser ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any
    offset: int


@dataclass(frozen=True, slots=True)
class Name:
    path: str
    offset: int


@dataclass(frozen=True, slots=True)
class ListOf:
    items: tuple[Node, ...]
    offset: int


@dataclass(frozen=True, slots=True)
class Unary:
    op: str
    operand: Node
    offset: int


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    left: Node
    right: Node
    offset: int


@dataclass(frozen=True, slots=True)
class Logic:
    op: str  # "and" / "or" over any number of operands, so long chains stay shallow
    operands: tuple[Node, ...]
    offset: int


@dataclass(frozen=True, slots=True)
class Call:
    function: str
    args: tuple[Node, ...]
    offset: int


Node = Literal | Name | ListOf | Unary | Binary | Logic | Call

_COMPARE = 4
_INFIX = {"or": 1, "and": 2, "+": 5, "-": 5, "*": 6, "/": 6, "%": 6}
_INFIX.update(dict.fromkeys(("==", "!=", "<", "<=", ">", ">=", "in", "not in"), _COMPARE))


class _Parser:
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
                f"the condition is nested too deeply (more than {MAX_DEPTH} levels)", offset
            )

    def unexpected(self) -> ExpressionError:
        token = self.tok
        if token.kind == "end":
            return ExpressionError("unexpected end of condition", token.offset)
        if isinstance(token.value, str) and token.kind == "value":
            text = token.text if len(token.text) <= 30 else token.text[:27] + "..."
            return ExpressionError(f"unexpected text {text}", token.offset)
        return ExpressionError(f"unexpected '{token.text}'", token.offset)

    def close(self, closer: str) -> int:
        if not self.at(closer):
            if self.tok.kind == "end":
                raise ExpressionError(f"missing '{closer}'", self.tok.offset)
            raise self.unexpected()
        return self.advance().offset

    def expression(self, min_prec: int) -> Node:
        left, entered = self.prefix(), 0
        while self.tok.kind == "op" and _INFIX.get(self.tok.value, 0) >= min_prec:
            op, prec = self.tok.value, _INFIX[self.tok.value]
            offset = self.advance().offset
            if isinstance(left, Logic) and left.op == op:
                left = Logic(op, (*left.operands, self.expression(prec + 1)), left.offset)
                continue
            self.enter(offset)
            entered += 1
            right = self.expression(prec + 1)
            left = Logic(op, (left, right), offset) if prec < _COMPARE else Binary(op, left, right, offset)
            if prec == _COMPARE and self.tok.kind == "op" and _INFIX.get(self.tok.value) == _COMPARE:
                raise ExpressionError("comparisons can't be chained; join them with 'and'", self.tok.offset)
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
            node = ListOf(tuple(self.items("]")[0]), token.offset)
        elif token.value == "not":
            node = Unary("not", self.expression(3), token.offset)
        else:
            operand = self.expression(7)
            if isinstance(operand, Literal) and _is_number(operand.value):
                node = Literal(-operand.value if token.value == "-" else operand.value, token.offset)
            else:
                node = Unary(token.value, operand, token.offset)
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
            raise ExpressionError(f"unknown function '{name.value}'", name.offset)
        self.enter(self.tok.offset)
        self.advance()
        args, starts, end = self.items(")")
        self.depth -= 1
        arity = _FUNCTIONS[name.value][0]
        if len(args) != arity:
            plural = "" if arity == 1 else "s"
            raise ExpressionError(
                f"{name.value}() takes {arity} argument{plural}, got {len(args)}",
                starts[arity] if len(args) > arity else end,
            )
        self.functions.add(name.value)
        return Call(name.value, tuple(args), name.offset)


# -- values -------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if _is_number(value):
        return "number"
    if isinstance(value, str):
        return "text"
    if _is_list(value):
        return "list"
    return "record" if isinstance(value, Mapping) else type(value).__name__


def _decimal(value: int | float | Decimal) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _exact(value: Any) -> Any:
    return Decimal(str(value)) if isinstance(value, float) else value


def _lookup(value: Any, key: str) -> Any:
    if isinstance(value, Mapping):
        return value.get(key)
    if _is_list(value):
        return [_lookup(row, key) for row in value]
    return None


_SAME_TYPE_EQUAL = frozenset({int, str, float, Decimal, bool, type(None)})


def _equal(a: Any, b: Any) -> bool:
    if type(a) is type(b) and type(a) in _SAME_TYPE_EQUAL:
        return bool(a == b)
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return False  # their types differ, and true/false/null equal only themselves
    if _is_number(a) or _is_number(b):
        return _is_number(a) and _is_number(b) and _decimal(a) == _decimal(b)
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and str(a) == str(b)
    if _is_list(a) or _is_list(b):
        return _is_list(a) and _is_list(b) and len(a) == len(b) and all(map(_equal, a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_equal(a[key], b[key]) for key in a)
    return bool(a == b)


_SAME_TYPE_ORDERED = frozenset({int, str, float, Decimal})


def _ordering(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if type(a) is type(b) and type(a) in _SAME_TYPE_ORDERED:
            return op(a, b)
        if a is None or b is None:
            return False
        if _is_number(a) and _is_number(b):
            return op(_decimal(a), _decimal(b))
        if isinstance(a, str) and isinstance(b, str):
            return op(a, b)
        raise EvaluationError(f"cannot compare {_kind(a)} with {_kind(b)}")

    return compare


def _add(a: Any, b: Any) -> Any:
    if type(a) is type(b) and type(a) in (int, str, Decimal):
        return a + b
    if a is None or b is None:
        return None
    if _is_number(a) and _is_number(b):
        return _decimal(a) + _decimal(b)
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    if _is_list(a) and _is_list(b):
        return [*a, *b]
    raise EvaluationError(f"cannot add {_kind(a)} and {_kind(b)}")


def _numeric(verb: str, op: Callable[[Any, Any], Any], exact: bool = True) -> Callable[[Any, Any], Any]:
    def calculate(a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        if not (_is_number(a) and _is_number(b)):
            raise EvaluationError(f"cannot {verb} {_kind(a)} and {_kind(b)}")
        if verb == "divide" and b == 0:
            raise EvaluationError("division by zero")
        if exact and type(a) is int and type(b) is int:
            return op(a, b)
        return op(_decimal(a), _decimal(b))

    return calculate


def _floor_remainder(a: Any, b: Any) -> Any:
    # Decimal's % keeps the sign of the dividend; follow int's (the divisor's) instead.
    remainder = a % b
    return remainder + b if remainder and (remainder < 0) != (b < 0) else remainder


def _contains(item: Any, container: Any) -> bool:
    if container is None:
        return False
    if isinstance(container, str):
        if item is None or isinstance(item, str):
            return item is not None and item in container
        raise EvaluationError(f"cannot look for {_kind(item)} in text")
    if _is_list(container):
        if type(item) is str:
            return item in container
        return any(_equal(item, element) for element in container)
    raise EvaluationError(f"'in' needs a list or text on the right, got {_kind(container)}")


def _truth(value: Any, where: str) -> bool:
    if value is True or value is False:
        return value
    if value is None:
        return False
    raise EvaluationError(f"{where} needs true or false, got {_kind(value)}")


def _negate(value: Any) -> Any:
    if value is None or _is_number(value):
        return None if value is None else -_exact(value)
    raise EvaluationError(f"cannot negate {_kind(value)}")


def _positive(value: Any) -> Any:
    if value is None or _is_number(value):
        return value
    raise EvaluationError(f"cannot use '+' on {_kind(value)}")


def _not(value: Any) -> bool:
    if value is True or value is False:
        return not value
    raise EvaluationError(f"'not' needs true or false, got {_kind(value)}")


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "<": _ordering(operator.lt),
    "<=": _ordering(operator.le),
    ">": _ordering(operator.gt),
    ">=": _ordering(operator.ge),
    "in": _contains,
    "not in": lambda a, b: not _contains(a, b),
    "+": _add,
    "-": _numeric("subtract", operator.sub),
    "*": _numeric("multiply", operator.mul),
    "/": _numeric("divide", operator.truediv, exact=False),
    "%": _numeric("divide", _floor_remainder),
}


# -- functions ----------------------------------------------------------------


def _rows(function: str, value: Any) -> list[Any] | tuple[Any, ...]:
    if value is None:
        return []
    if _is_list(value):
        return value
    raise EvaluationError(f"{function}() needs a list, got {_kind(value)}")


def _len(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str | Mapping) or _is_list(value):
        return len(value)
    raise EvaluationError(f"len() needs text or a list, got {_kind(value)}")


def _sum(value: Any) -> Any:
    total: Any = 0
    for item in _rows("sum", value):
        if item is not None and not _is_number(item):
            raise EvaluationError(f"sum() needs numbers, got {_kind(item)}")
        total = total if item is None else _add(total, item)
    return total


def _extreme(function: str, better: Callable[[Any, Any], bool]) -> Callable[[Any], Any]:
    def pick(value: Any) -> Any:
        best = None
        for item in _rows(function, value):
            if item is not None and not (_is_number(item) or isinstance(item, str)):
                raise EvaluationError(f"{function}() needs numbers or text, got {_kind(item)}")
            if item is not None and (best is None or better(item, best)):
                best = item
        return best

    return pick


def _text(function: str, change: Callable[[str], str]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value is None or isinstance(value, str):
            return None if value is None else change(value)
        raise EvaluationError(f"{function}() needs text, got {_kind(value)}")

    return convert


def _abs(value: Any) -> Any:
    if value is None or _is_number(value):
        return None if value is None else abs(_exact(value))
    raise EvaluationError(f"abs() needs a number, got {_kind(value)}")


_FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "len": (1, _len),
    "sum": (1, _sum),
    "min": (1, _extreme("min", _BINARY["<"])),
    "max": (1, _extreme("max", _BINARY[">"])),
    "any": (1, lambda value: any(_truth(item, "any()") for item in _rows("any", value))),
    "all": (1, lambda value: all(_truth(item, "all()") for item in _rows("all", value))),
    "abs": (1, _abs),
    "lower": (1, _text("lower", str.lower)),
    "upper": (1, _text("upper", str.upper)),
    "count": (2, lambda value, wanted: sum(1 for item in _rows("count", value) if _equal(item, wanted))),
}


# -- compiling ----------------------------------------------------------------

_Run = Callable[[Mapping[str, Any]], Any]


def _compile(node: Node) -> _Run:
    match node:
        case Literal(value=value):
            return lambda context: value
        case Name(path=path):
            first, *rest = path.split(".")
            if not rest:
                return lambda context: context.get(first)

            def lookup(context: Mapping[str, Any]) -> Any:
                value = context.get(first)
                for key in rest:
                    value = _lookup(value, key)
                return value

            return lookup
        case ListOf(items=items):
            runs = tuple(map(_compile, items))
            return lambda context: [run(context) for run in runs]
        case Unary(op=op, operand=operand):
            unary = {"not": _not, "-": _negate, "+": _positive}[op]
            run = _compile(operand)
            return lambda context: unary(run(context))
        case Binary(op=op, left=left, right=right):
            binary, run_left = _BINARY[op], _compile(left)
            if isinstance(right, Literal):
                constant = right.value
                return lambda context: binary(run_left(context), constant)
            if isinstance(right, ListOf) and all(isinstance(item, Literal) for item in right.items):
                values = tuple(item.value for item in right.items if isinstance(item, Literal))
                return lambda context: binary(run_left(context), values)
            run_right = _compile(right)
            return lambda context: binary(run_left(context), run_right(context))
        case Logic(op=op, operands=operands):
            runs, where, stop = tuple(map(_compile, operands)), f"'{op}'", op == "or"

            def logic(context: Mapping[str, Any]) -> bool:
                for run in runs:
                    if _truth(run(context), where) is stop:
                        return stop
                return not stop

            return logic
        case Call(function=function, args=args):
            apply, runs = _FUNCTIONS[function][1], tuple(map(_compile, args))
            if len(runs) == 1:
                (only,) = runs
                return lambda context: apply(only(context))
            return lambda context: apply(*(run(context) for run in runs))
    raise AssertionError(f"unknown node {node!r}")  # pragma: no cover


class Expression:
    """A compiled condition. Immutable and safe to share between threads."""

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
            raise EvaluationError("these numbers cannot be calculated with") from exc

    def test(self, context: Mapping[str, Any]) -> bool:
        """Evaluate as a gateway condition: the result must be true or false."""
        result = self.evaluate(context)
        if result is True or result is False:
            return result
        raise EvaluationError("condition did not give true or false")


@functools.lru_cache(maxsize=1024)
def compile_expression(source: str) -> Expression:
    """Parse and compile ``source`` (cached); raises ExpressionError if it is not valid."""
    if not isinstance(source, str):
        raise TypeError(f"a condition must be text, not {type(source).__name__}")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the condition is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    if not source.strip(" \t\r\n"):
        raise ExpressionError("empty condition", 0)
    parser = _Parser(source)
    tree = parser.expression(1)
    if parser.tok.kind != "end":
        raise parser.unexpected()
    return Expression(source, frozenset(parser.names), frozenset(parser.functions), _compile(tree))
