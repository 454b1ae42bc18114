"""Form schema types and server-side validation of submitted form data.

The definition loader builds these types from a process template; the
constructors reject specs that could not be validated against (unknown type,
non-numeric limits, a bad relative date). ``validate_form_data`` turns raw
HTML-form or JSON input into JSON-safe cleaned values and bilingual errors, and
never raises for any input data.
"""

from __future__ import annotations

import calendar
import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Context, Decimal, InvalidOperation
from typing import Any

from govflow.engine.identifiers import cn_id_problem, is_cn_mobile, mask, uscc_problem
from govflow.engine.text import forbidden_character, refusal_message

__all__ = [
    "FIELD_TYPES",
    "SENSITIVITIES",
    "AttachmentSpec",
    "Choice",
    "FieldError",
    "FieldSpec",
    "FormResult",
    "FormSpec",
    "mask_value",
    "resolve_date_limit",
    "validate_form_data",
]

FIELD_TYPES = (
    "text",
    "textarea",
    "number",
    "decimal",
    "date",
    "choice",
    "multichoice",
    "boolean",
    "cn_id_number",
    "uscc",
    "phone",
    "email",
    "address",
    "table",
)
SENSITIVITIES = ("public", "internal", "secret")

_DEFAULT_MAX_LENGTH = {"text": 200, "address": 200, "textarea": 2000, "email": 254}
_DEFAULT_DECIMALS = 2
_DEFAULT_MAX_ROWS = 200
# Bounds keep Decimal arithmetic exact and cheap whatever the input.
_MAX_DIGITS = 30
_MAX_DECIMALS = 10
_MAX_NUMBER_INPUT = 64
_DECIMAL_CONTEXT = Context(prec=100)

_RELATIVE_DATE = re.compile(r"today(?:([+-])([0-9]{1,4})([dmy]))?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_EMAIL = re.compile(r"([^\s@]+)@([^\s@.]+(?:\.[^\s@.]+)+)")
_TRUE_WORDS = frozenset({"true", "on", "1", "yes"})
_FALSE_WORDS = frozenset({"false", "off", "0", "no"})

_TYPE_NAMES = {
    "text": ("文本", "text"),
    "textarea": ("文本", "text"),
    "address": ("地址文本", "an address as text"),
    "number": ("整数", "a whole number"),
    "decimal": ("数字", "a number"),
    "date": ("日期", "a date"),
    "choice": ("一个选项", "one option"),
    "multichoice": ("选项列表", "a list of options"),
    "boolean": ("是或否", "yes or no"),
    "cn_id_number": ("身份证号码", "an ID number"),
    "uscc": ("统一社会信用代码", "a unified social credit code"),
    "phone": ("手机号码", "a mobile number"),
    "email": ("电子邮箱地址", "an email address"),
    "table": ("表格行列表", "a list of table rows"),
}


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One form field. Raises ValueError when the spec itself is inconsistent."""

    id: str
    type: str
    label: Mapping[str, str]
    required: bool = False
    sensitivity: str = "public"
    min: Any = None
    max: Any = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    decimals: int | None = None
    choices: tuple[Choice, ...] = ()
    columns: tuple[FieldSpec, ...] = ()
    min_rows: int | None = None
    max_rows: int | None = None
    help: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        where = f"field {self.id!r}"
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"a field id must be a non-empty string, got {self.id!r}")
        if self.type not in FIELD_TYPES:
            raise ValueError(f"{where}: unknown type {self.type!r}; expected one of {', '.join(FIELD_TYPES)}")
        if self.sensitivity not in SENSITIVITIES:
            raise ValueError(f"{where}: unknown sensitivity {self.sensitivity!r}")
        object.__setattr__(self, "choices", tuple(self.choices))
        object.__setattr__(self, "columns", tuple(self.columns))
        for name in ("min_length", "max_length", "min_rows", "max_rows", "decimals"):
            _check_count(where, name, getattr(self, name))
        if self.type in ("number", "decimal"):
            object.__setattr__(self, "min", _number_limit(where, "min", self.min))
            object.__setattr__(self, "max", _number_limit(where, "max", self.max))
        elif self.type == "date":
            _check_date_limit(where, "min", self.min)
            _check_date_limit(where, "max", self.max)
        elif self.min is not None or self.max is not None:
            raise ValueError(f"{where}: min/max apply only to number, decimal and date fields")
        if self.decimals is not None and self.decimals > _MAX_DECIMALS:
            raise ValueError(f"{where}: decimals must be at most {_MAX_DECIMALS}")
        if self.pattern is not None:
            if self.type not in ("text", "textarea"):
                raise ValueError(f"{where}: pattern applies only to text and textarea fields")
            try:
                _compiled(self.pattern)
            except re.error as exc:
                raise ValueError(f"{where}: pattern is not a valid regular expression: {exc}") from None
        # Empty choices or columns are the loader's to report; such a field
        # simply accepts no value, so it is not refused here.
        values = [choice.value for choice in self.choices]
        if len(set(values)) != len(values):
            raise ValueError(f"{where}: choice values must be unique")
        _check_unique_ids(where, [column.id for column in self.columns])


@dataclass(frozen=True, slots=True)
class AttachmentSpec:
    id: str
    label: Mapping[str, str]
    types: tuple[str, ...]
    max_size_mb: float = 10
    required: bool = False
    max_count: int = 1
    # 容缺受理: the material may be missing at acceptance against a signed
    # commitment, and supplied by `deadline` (a definition.Duration; None:
    # the template's time_limit).
    deferrable: bool = False
    deadline: Any = None
    # 告知承诺制: the condition the office tells the applicant (zh/en); the
    # signed commitment replaces the proof.
    commitment: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", tuple(self.types))
        if not self.types:
            raise ValueError(f"attachment {self.id!r}: list at least one MIME type")
        if not self.max_size_mb > 0:
            raise ValueError(f"attachment {self.id!r}: max_size_mb must be positive")
        if self.max_count < 1:
            raise ValueError(f"attachment {self.id!r}: max_count must be at least 1")


@dataclass(frozen=True, slots=True)
class FormSpec:
    fields: tuple[FieldSpec, ...] = ()
    attachments: tuple[AttachmentSpec, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(self.fields))
        object.__setattr__(self, "attachments", tuple(self.attachments))
        _check_unique_ids("form", [spec.id for spec in self.fields] + [spec.id for spec in self.attachments])

    def field(self, field_id: str) -> FieldSpec | None:
        # Forms hold tens of fields; a scan avoids an extra slot that would
        # show up in dataclasses.fields() and asdict().
        for spec in self.fields:
            if spec.id == field_id:
                return spec
        return None


@dataclass(frozen=True, slots=True)
class FieldError:
    path: str
    code: str
    message: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class FormResult:
    cleaned: dict
    errors: tuple[FieldError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def resolve_date_limit(limit: Any, today: date) -> date:
    """Resolve a date limit: a date, ``"today"`` or ``"today±N[dmy]"`` (e.g. ``"today-18y"``).

    Month and year steps keep the day of month, clamped to the month's end
    (2024-02-29 + 1y is 2025-02-28). Raises ValueError on bad syntax or a
    result outside the representable range.
    """
    if isinstance(limit, datetime):
        raise ValueError(f"a date limit must be a date, not a datetime: {limit!r}")
    if isinstance(limit, date):
        return limit
    match = _RELATIVE_DATE.fullmatch(limit) if isinstance(limit, str) else None
    if match is None:
        raise ValueError(f"a date limit must be a date or 'today', 'today+5y', 'today-30d', ...: {limit!r}")
    sign, amount, unit = match.groups()
    if sign is None:
        return today
    steps = int(amount) if sign == "+" else -int(amount)
    if unit == "d":
        try:
            return today + timedelta(days=steps)
        except OverflowError:
            raise ValueError(f"date limit {limit!r} is out of range from {today}") from None
    return _shift_months(today, steps * 12 if unit == "y" else steps, limit)


def validate_form_data(
    form: FormSpec, data: Mapping[str, Any], *, today: date, partial: bool = False
) -> FormResult:
    """Validate submitted data against ``form``.

    Strings are accepted for every type (as posted by HTML forms) alongside
    native JSON types. Empty values (None, blank strings, empty lists for
    multichoice and table) are omitted from ``cleaned``; they are errors for
    required fields unless ``partial`` (a draft save). A required boolean must
    be true. Table rows whose cells are all empty are dropped; error paths keep
    the submitted row index. Attachments are not part of ``data``.
    """
    if not isinstance(data, Mapping):
        error = FieldError(
            "",
            "type",
            _message(
                "提交的数据格式不正确，应为字段名到值的映射。",
                "The submitted data must be a mapping of field names to values.",
            ),
        )
        return FormResult(cleaned={}, errors=(error,))
    cleaned, errors = _validate_mapping(form.fields, data, "", today, partial)
    return FormResult(cleaned=cleaned, errors=tuple(errors))


def mask_value(field: FieldSpec, value: Any) -> str:
    """Display text for a cleaned value, masked with identifiers.mask when the field is secret.

    Internal fields are not masked here: who may see them is a permission
    question. Table cells are masked per column (all of them when the table
    itself is secret).
    """
    return _display(field, value, field.sensitivity == "secret")


# --- validation ---------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, code: str, zh: str, en: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = _message(zh, en)


def _message(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


def _validate_mapping(
    specs: tuple[FieldSpec, ...], data: Mapping[Any, Any], prefix: str, today: date, partial: bool
) -> tuple[dict, list[FieldError]]:
    cleaned: dict[str, Any] = {}
    errors: list[FieldError] = []
    known: set[Any] = set()
    for spec in specs:
        known.add(spec.id)
        path = prefix + spec.id
        if spec.type == "table":
            _validate_table(spec, data.get(spec.id), path, today, partial, cleaned, errors)
            continue
        try:
            value = _clean_field(spec, data.get(spec.id), today, partial)
        except _Invalid as invalid:
            errors.append(FieldError(path, invalid.code, invalid.message))
            continue
        if value is not None:
            cleaned[spec.id] = value
    for key in data:
        if key not in known:
            errors.append(
                FieldError(
                    prefix + str(key),
                    "unknown_field",
                    _message("表单中没有此字段。", "This field is not part of the form."),
                )
            )
    return cleaned, errors


def _prepare(spec: FieldSpec, raw: Any) -> Any:
    """Reject forbidden characters and return None for an empty value, else the (stripped) value."""
    if raw is None:
        return None
    if isinstance(raw, str):
        text = _checked_text(raw, multiline=spec.type == "textarea")
        return text or None
    if isinstance(raw, list | tuple) and not raw and spec.type in ("multichoice", "table"):
        return None
    return raw


def _clean_field(spec: FieldSpec, raw: Any, today: date, partial: bool) -> Any:
    value = _prepare(spec, raw)
    if value is None:
        if spec.required and not partial:
            raise _required(spec)
        return None
    cleaned = _CLEANERS[spec.type](spec, value, today)
    if cleaned is False and spec.required and not partial:
        raise _required(spec)
    return cleaned


def _required(spec: FieldSpec) -> _Invalid:
    if spec.type == "boolean":
        return _Invalid("required", "请勾选此项以确认。", "You must tick this box to continue.")
    return _Invalid("required", "此项为必填项。", "This field is required.")


def _validate_table(
    spec: FieldSpec, raw: Any, path: str, today: date, partial: bool, cleaned: dict, errors: list
) -> None:
    try:
        value = _prepare(spec, raw)
        if value is None:
            if spec.required and not partial:
                raise _required(spec)
            if spec.min_rows and not partial:
                raise _too_few_rows(spec.min_rows)
            return
        if not isinstance(value, list | tuple):
            raise _type_error(spec)
        max_rows = spec.max_rows if spec.max_rows is not None else _DEFAULT_MAX_ROWS
        if len(value) > max_rows:
            raise _Invalid(
                "too_many_rows", f"最多只能填写 {max_rows} 行。", f"At most {max_rows} rows are allowed."
            )
    except _Invalid as invalid:
        errors.append(FieldError(path, invalid.code, invalid.message))
        return
    rows: list[dict[str, Any]] = []
    row_errors: list[FieldError] = []
    for index, row in enumerate(value):
        row_path = f"{path}[{index}]"
        if not isinstance(row, Mapping):
            message = _message("表格行的数据格式不正确。", "Each table row must be a mapping.")
            row_errors.append(FieldError(row_path, "type", message))
            continue
        if _is_blank_row(spec, row):
            continue
        row_cleaned, errors_in_row = _validate_mapping(spec.columns, row, row_path + ".", today, partial)
        rows.append(row_cleaned)
        row_errors.extend(errors_in_row)
    if not partial:
        if not rows and not row_errors and spec.required:
            row_errors.append(FieldError(path, "required", _required(spec).message))
        elif spec.min_rows is not None and len(rows) < spec.min_rows:
            too_few = _too_few_rows(spec.min_rows)
            row_errors.append(FieldError(path, too_few.code, too_few.message))
    errors.extend(row_errors)
    if rows and not row_errors:
        cleaned[spec.id] = rows


def _too_few_rows(min_rows: int) -> _Invalid:
    return _Invalid(
        "too_few_rows", f"至少需要填写 {min_rows} 行。", f"At least {min_rows} rows are required."
    )


def _is_blank_row(spec: FieldSpec, row: Mapping) -> bool:
    column_ids = {column.id for column in spec.columns}
    return all(
        key in column_ids and (value is None or (isinstance(value, str) and not value.strip()) or value == [])
        for key, value in row.items()
    )


def _checked_text(raw: str, *, multiline: bool) -> str:
    if multiline:
        # Browsers submit textarea line breaks as CRLF.
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    # Controls, bidi and invisible formatting characters (govflow.engine.text).
    char = forbidden_character(raw, multiline=multiline)
    if char is not None:
        message = refusal_message(char)
        raise _Invalid("control_chars", message["zh"], message["en"])
    return raw.strip()


def _type_error(spec: FieldSpec) -> _Invalid:
    zh, en = _TYPE_NAMES[spec.type]
    return _Invalid("type", f"数据类型不正确，应为{zh}。", f"Wrong kind of value: expected {en}.")


def _clean_text(spec: FieldSpec, value: Any, today: date) -> str:
    if not isinstance(value, str):
        raise _type_error(spec)
    _check_length(spec, value)
    if spec.pattern is not None and _compiled(spec.pattern).fullmatch(value) is None:
        raise _Invalid("pattern", "格式不正确。", "The value is not in the required format.")
    return value


def _check_length(spec: FieldSpec, value: str) -> None:
    max_length = spec.max_length if spec.max_length is not None else _DEFAULT_MAX_LENGTH.get(spec.type)
    if max_length is not None and len(value) > max_length:
        raise _Invalid(
            "too_long", f"最多只能输入 {max_length} 个字符。", f"At most {max_length} characters are allowed."
        )
    if spec.min_length is not None and len(value) < spec.min_length:
        raise _Invalid(
            "too_short",
            f"至少需要输入 {spec.min_length} 个字符。",
            f"At least {spec.min_length} characters are required.",
        )


def _clean_email(spec: FieldSpec, value: Any, today: date) -> str:
    if not isinstance(value, str):
        raise _type_error(spec)
    _check_length(spec, value)
    match = _EMAIL.fullmatch(value)
    if match is None:
        raise _Invalid(
            "invalid", "请输入有效的电子邮箱地址。", "Enter a valid email address, such as name@example.com."
        )
    return f"{match.group(1)}@{match.group(2).lower()}"


def _clean_phone(spec: FieldSpec, value: Any, today: date) -> str:
    if not isinstance(value, str):
        raise _type_error(spec)
    digits = value.replace(" ", "").replace("-", "")
    if digits.startswith("+86"):
        digits = digits[3:]
    if not is_cn_mobile(digits):
        raise _Invalid(
            "invalid",
            "请输入 11 位中国大陆手机号码。",
            "Enter an 11-digit mobile number from mainland China.",
        )
    return digits


def _clean_cn_id(spec: FieldSpec, value: Any, today: date) -> str:
    if not isinstance(value, str):
        raise _type_error(spec)
    problem = cn_id_problem(value, today=today)
    if problem == "birth_date":
        raise _Invalid(
            "birth_date",
            "身份证号码中的出生日期无效。",
            "The birth date inside the ID number is not a real past date.",
        )
    if problem == "checksum":
        raise _Invalid("checksum", "身份证号码校验位不正确。", "The ID number's check digit is wrong.")
    if problem is not None:
        raise _Invalid(
            "invalid",
            "身份证号码应为 18 位：17 位数字加 1 位数字或 X。",
            "An ID number has 18 characters: 17 digits followed by a digit or X.",
        )
    return value.upper()


def _clean_uscc(spec: FieldSpec, value: Any, today: date) -> str:
    if not isinstance(value, str):
        raise _type_error(spec)
    problem = uscc_problem(value)
    if problem == "checksum":
        raise _Invalid(
            "checksum", "统一社会信用代码校验位不正确。", "The credit code's check character is wrong."
        )
    if problem is not None:
        raise _Invalid(
            "invalid",
            "统一社会信用代码应为 18 位数字或大写字母（不含 I、O、S、V、Z），并符合国家标准的编排。",
            "A unified social credit code has 18 digits or capital letters (never I, O, S, V or Z) "
            "laid out as the national standard requires.",
        )
    return value.upper()


def _to_decimal(spec: FieldSpec, value: Any) -> Decimal:
    """Parse a number from a string or a native number; finite, at most _MAX_DIGITS integer digits."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise _type_error(spec)
    whole = spec.type == "number"
    invalid = (
        _Invalid("invalid", "请输入整数，例如 12。", "Enter a whole number, such as 12.")
        if whole
        else _Invalid("invalid", "请输入数字，例如 3.50。", "Enter a number, such as 3.50.")
    )
    if isinstance(value, str):
        shape = _INTEGER if whole else _DECIMAL
        if len(value) > _MAX_NUMBER_INPUT or shape.fullmatch(value) is None:
            raise invalid
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise invalid
        number = Decimal(repr(value))
    else:
        number = Decimal(value)
    if not number.is_finite():
        raise invalid
    if number and number.adjusted() >= _MAX_DIGITS:
        raise _Invalid(
            "invalid",
            f"数字最多只能有 {_MAX_DIGITS} 位整数。",
            f"A number can have at most {_MAX_DIGITS} digits before the decimal point.",
        )
    return number


def _check_range(spec: FieldSpec, number: Decimal | int) -> None:
    if spec.min is not None and number < spec.min:
        limit = _format_limit(spec.min)
        raise _Invalid("too_small", f"不能小于 {limit}。", f"The value must be at least {limit}.")
    if spec.max is not None and number > spec.max:
        limit = _format_limit(spec.max)
        raise _Invalid("too_large", f"不能大于 {limit}。", f"The value must be at most {limit}.")


def _format_limit(limit: int | Decimal) -> str:
    return format(limit, "f") if isinstance(limit, Decimal) else str(limit)


def _clean_number(spec: FieldSpec, value: Any, today: date) -> int:
    number = _to_decimal(spec, value)
    if number != number.to_integral_value(context=_DECIMAL_CONTEXT):
        raise _Invalid("invalid", "请输入整数，不能有小数。", "Enter a whole number without decimals.")
    result = int(number)
    _check_range(spec, result)
    return result


def _clean_decimal(spec: FieldSpec, value: Any, today: date) -> str:
    number = _to_decimal(spec, value)
    places = spec.decimals if spec.decimals is not None else _DEFAULT_DECIMALS
    rounded = number.quantize(Decimal(1).scaleb(-places), context=_DECIMAL_CONTEXT)
    if rounded != number:
        if places == 0:
            raise _Invalid("decimals", "请输入整数，不能有小数。", "Enter a whole number without decimals.")
        raise _Invalid(
            "decimals", f"最多保留 {places} 位小数。", f"At most {places} decimal places are allowed."
        )
    _check_range(spec, number)
    if not rounded:
        rounded = abs(rounded)  # no "-0.00"
    return format(rounded, "f")


def _clean_date(spec: FieldSpec, value: Any, today: date) -> str:
    if isinstance(value, datetime) or not isinstance(value, date | str):
        raise _type_error(spec)
    if isinstance(value, str):
        parsed = None
        if _ISO_DATE.fullmatch(value):
            try:
                parsed = date.fromisoformat(value)
            except ValueError:
                parsed = None
        if parsed is None:
            raise _Invalid(
                "invalid", "请输入有效日期，格式为 YYYY-MM-DD。", "Enter a real date in the form YYYY-MM-DD."
            )
        value = parsed
    earliest = _resolve_or_unbounded(spec.min, today)
    latest = _resolve_or_unbounded(spec.max, today)
    if earliest is not None and value < earliest:
        raise _Invalid("too_small", f"日期不能早于 {earliest}。", f"The date must be on or after {earliest}.")
    if latest is not None and value > latest:
        raise _Invalid("too_large", f"日期不能晚于 {latest}。", f"The date must be on or before {latest}.")
    return value.isoformat()


def _resolve_or_unbounded(limit: Any, today: date) -> date | None:
    if limit is None:
        return None
    try:
        return resolve_date_limit(limit, today)
    except ValueError:
        # The syntax was checked when the spec was built, so this is a limit
        # beyond the calendar's range: no real date can cross it.
        return None


def _choice_error() -> _Invalid:
    return _Invalid("choice", "请从给定选项中选择。", "Choose from the listed options.")


def _clean_choice(spec: FieldSpec, value: Any, today: date) -> str:
    if not isinstance(value, str):
        raise _type_error(spec)
    if value not in {choice.value for choice in spec.choices}:
        raise _choice_error()
    return value


def _clean_multichoice(spec: FieldSpec, value: Any, today: date) -> list[str]:
    # An HTML form with a single selection may arrive as a bare string.
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise _type_error(spec)
    chosen: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise _type_error(spec)
        chosen.add(_checked_text(item, multiline=False))
    chosen.discard("")
    allowed = [choice.value for choice in spec.choices]
    if not chosen.issubset(allowed):
        raise _choice_error()
    # Choice order, not submission order, so equal selections compare equal.
    return [option for option in allowed if option in chosen]


def _clean_boolean(spec: FieldSpec, value: Any, today: date) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise _Invalid("invalid", "请选择“是”或“否”。", "Answer yes or no.")
    raise _type_error(spec)


_CLEANERS: dict[str, Callable[[FieldSpec, Any, date], Any]] = {
    "text": _clean_text,
    "textarea": _clean_text,
    "address": _clean_text,
    "number": _clean_number,
    "decimal": _clean_decimal,
    "date": _clean_date,
    "choice": _clean_choice,
    "multichoice": _clean_multichoice,
    "boolean": _clean_boolean,
    "cn_id_number": _clean_cn_id,
    "uscc": _clean_uscc,
    "phone": _clean_phone,
    "email": _clean_email,
}


# --- spec checks ----------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _check_count(where: str, name: str, value: Any) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"{where}: {name} must be a non-negative integer, got {value!r}")


def _check_unique_ids(where: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{where}: id {item!r} is used twice")
        seen.add(item)


def _number_limit(where: str, name: str, limit: Any) -> int | Decimal | None:
    if limit is None or (isinstance(limit, int) and not isinstance(limit, bool)):
        return limit
    try:
        if isinstance(limit, float):
            number = Decimal(repr(limit))
        elif isinstance(limit, Decimal | str):
            number = Decimal(limit)
        else:
            raise InvalidOperation
    except InvalidOperation:
        raise ValueError(f"{where}: {name} must be a number, got {limit!r}") from None
    if not number.is_finite():
        raise ValueError(f"{where}: {name} must be finite, got {limit!r}")
    return number


def _check_date_limit(where: str, name: str, limit: Any) -> None:
    if limit is None:
        return
    try:
        resolve_date_limit(limit, date(2000, 1, 1))
    except ValueError as exc:
        raise ValueError(f"{where}: {name}: {exc}") from None


def _shift_months(today: date, months: int, limit: str) -> date:
    year, month_index = divmod(today.year * 12 + today.month - 1 + months, 12)
    if not 1 <= year <= 9999:
        raise ValueError(f"date limit {limit!r} is out of range from {today}")
    month = month_index + 1
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


# --- display ----------------------------------------------------------------------


def _display(spec: FieldSpec, value: Any, secret: bool) -> str:
    if value is None or value == "":
        return ""
    if spec.type == "table":
        if not isinstance(value, list | tuple):
            return mask(spec.type, str(value)) if secret else str(value)
        rows: list[str] = []
        for row in value:
            if isinstance(row, Mapping):
                cells = (
                    _display(column, row.get(column.id), secret or column.sensitivity == "secret")
                    for column in spec.columns
                )
                rows.append(", ".join(cells))
        return "; ".join(rows)
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, list | tuple):
        text = ", ".join(str(item) for item in value)
    elif isinstance(value, Decimal):
        text = format(value, "f")
    else:
        text = str(value)
    return mask(spec.type, text) if secret else text
