"""Shared pieces of the BPMN import and export: namespaces, the safe XML
parser, ISO 8601 durations, identifiers and the error type.

Pure Python (lxml and the engine only); no Django import, like the engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from lxml import etree

from govflow.engine.problems import Message

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
# govflow's own constructs (countersign, forms, certificates ...) travel in
# extensionElements in this namespace; a URN, so nothing ever fetches it.
GOVFLOW = "urn:govflow:bpmn:1.0"
# The expression language of conditions written in govflow's own language.
GOVFLOW_EXPRESSION = "urn:govflow:expression:1.0"

MAX_BYTES = 5_000_000
MAX_ELEMENTS = 100_000
ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


@dataclass(frozen=True, slots=True, order=True)
class BpmnProblem:
    """Why a file cannot be imported: the line in the BPMN file (0 when the
    problem is the file as a whole) and the element id it concerns."""

    line: int
    element: str
    message: str

    def format(self, path: str = "") -> Message:
        """The problem as one line, in English; a Message, so that a page
        says it in the reader's language (govflow.messages.engine_text)."""
        subject = Message("element '{element}': ", element=self.element) if self.element else ""
        if self.line == 0:
            where = path or Message("file")
            return Message("{where}: {subject}{message}", where=where, subject=subject, message=self.message)
        if path:
            return Message(
                "{path}:{line}: {subject}{message}",
                path=path,
                line=self.line,
                subject=subject,
                message=self.message,
            )
        return Message(
            "line {line}: {subject}{message}", line=self.line, subject=subject, message=self.message
        )


class BpmnError(Exception):
    """The file is refused; `problems` lists every reason found."""

    def __init__(self, problems: list[BpmnProblem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__("; ".join(p.format() for p in self.problems[:3]))

    def lines(self, path: str = "") -> list[str]:
        return [p.format(path) for p in self.problems]


def joined(messages: Iterable[Message]) -> Message | str:
    """Messages one after the other, separated by semicolons; each keeps its template."""
    text: Message | str = ""
    for message in messages:
        text = Message("{first}; {then}", first=text, then=message) if text else message
    return text


_NO_DOCTYPE = Message("a DOCTYPE is not allowed in a BPMN file (entities are never expanded)")


def refuse(message: Message, *, line: int = 0, element: str = "") -> BpmnError:
    return BpmnError([BpmnProblem(line, element, message)])


def parse_xml(source: bytes) -> etree._Element:
    """Parse untrusted XML: no DTD, no entities, no network, bounded size.

    A DOCTYPE is refused outright (it is where entity bombs and external
    entities live; BPMN files never need one)."""
    if not isinstance(source, bytes | bytearray):
        raise refuse(Message("the file must be given as bytes"))
    if len(source) > MAX_BYTES:
        raise refuse(
            Message(
                "the file is too large ({size} bytes; the limit is {limit})",
                size=len(source),
                limit=MAX_BYTES,
            )
        )
    if not source.strip():
        raise refuse(Message("the file is empty"))
    head = bytes(source[:4096]).lstrip(b"\xef\xbb\xbf")
    if b"\x00" in head[:200] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise refuse(Message("the file is binary, not XML"))
    first_element = re.search(rb"<[A-Za-z_]", source)
    prolog = bytes(source[: first_element.start() if first_element else len(source)])
    if re.search(rb"<!\s*DOCTYPE", prolog, re.I):
        raise refuse(_NO_DOCTYPE, line=1)
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(bytes(source), parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 0
        message = str(exc.msg or exc).split(", line ")[0]
        raise refuse(Message("not well-formed XML: {problem}", problem=message), line=line) from None
    except (ValueError, MemoryError) as exc:  # e.g. an unsupported encoding declaration
        raise refuse(Message("not readable XML: {problem}", problem=str(exc))) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise refuse(_NO_DOCTYPE, line=1)
    for count, element in enumerate(root.iter(), start=1):
        if isinstance(element, etree._Entity):
            raise refuse(Message("XML entities are not allowed"), line=element.sourceline or 0)
        if count > MAX_ELEMENTS:
            raise refuse(Message("the file has more than {limit} XML elements", limit=MAX_ELEMENTS))
    return root


def local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def namespace(tag: object) -> str:
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].split("}", 1)[0]
    return ""


# -- ISO 8601 durations ---------------------------------------------------------

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+(?:[.,]\d+)?)Y)?(?:(?P<months>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<weeks>\d+(?:[.,]\d+)?)W)?(?:(?P<days>\d+(?:[.,]\d+)?)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+(?:[.,]\d+)?)H)?(?:(?P<minutes>\d+(?:[.,]\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?$"
)
HOURS_PER_DAY = 8  # an office day
DAYS_PER_WEEK = 5  # a working week


class DurationError(ValueError):
    """A duration govflow cannot take; its one argument is a Message."""

    @property
    def message(self) -> Message:
        return self.args[0]


def parse_duration(text: str) -> dict[str, int | float]:
    """An ISO 8601 duration as govflow's {days: N} or {hours: N}.

    Days (and weeks, as five working days) become working days; hours,
    minutes and seconds become office hours; a mix becomes office hours at
    eight per day. Months and years are refused: their length in working
    days is not defined."""
    value = (text or "").strip()
    match = _DURATION.match(value)
    if match is None:
        raise DurationError(
            Message("'{value}' is not an ISO 8601 duration such as P10D or PT4H", value=value[:60])
        )
    parts = {k: Decimal(v.replace(",", ".")) for k, v in match.groupdict().items() if v is not None}
    if "years" in parts or "months" in parts:
        raise DurationError(
            Message(
                "'{value}' counts months or years; give working days (P20D) or office hours (PT4H)",
                value=value,
            )
        )
    days = parts.get("days", Decimal(0)) + parts.get("weeks", Decimal(0)) * DAYS_PER_WEEK
    hours = parts.get("hours", Decimal(0)) + parts.get("minutes", Decimal(0)) / 60
    hours += parts.get("seconds", Decimal(0)) / 3600
    try:
        if not hours and days == days.to_integral_value():
            if not 1 <= days <= 3650:
                raise DurationError(Message("'{value}' must be between 1 and 3650 working days", value=value))
            return {"days": int(days)}
        total = days * HOURS_PER_DAY + hours
    except InvalidOperation:  # pragma: no cover - the pattern only lets digits through
        raise DurationError(Message("'{value}' is not a duration", value=value)) from None
    rounded = float(round(total, 6))
    if rounded <= 0:
        raise DurationError(
            Message(
                "'{value}' is shorter than govflow can count (a millionth of an office hour)", value=value
            )
        )
    if rounded > 2000:
        raise DurationError(
            Message(
                "'{value}' is longer than 2000 office hours; give whole working days (P300D)", value=value
            )
        )
    return {"hours": int(rounded) if rounded == int(rounded) else rounded}


def format_duration(duration: dict) -> str:
    """govflow's {days: N} / {hours: N} / {calendar_days: N} as an ISO 8601
    duration (the exporter marks calendar days with govflow:unit)."""
    if duration.get("days") is not None:
        return f"P{int(duration['days'])}D"
    if duration.get("calendar_days") is not None:
        return f"P{int(duration['calendar_days'])}D"
    hours = float(duration["hours"])
    text = f"{hours:.6f}".rstrip("0").rstrip(".")
    return f"PT{text}H"


# -- identifiers ------------------------------------------------------------------


def to_identifier(raw: str, taken: set[str], *, prefix: str = "n") -> str:
    """A govflow identifier (lowercase letters, digits, _) for a BPMN id or
    name, unique among `taken`; camelCase becomes snake_case."""
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", raw or "")
    text = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    text = re.sub(r"_+", "_", text)
    if not text or not text[0].isalpha():
        text = f"{prefix}_{text}" if text else prefix
    text = text[:60].rstrip("_")
    candidate, n = text, 2
    while candidate in taken:
        candidate = f"{text[:56]}_{n}"
        n += 1
    taken.add(candidate)
    return candidate


# -- lanes and departments ----------------------------------------------------------

# The lane-map value that makes a lane the applicant's (its tasks become corrections).
APPLICANT = "applicant"


def normalise(name: str) -> str:
    """A lane, pool or department name as compared: trimmed, inner spaces
    collapsed, case-insensitive."""
    return " ".join((name or "").split()).casefold()


def department_named(name: str, departments: Mapping[str, Iterable[str]]) -> str | None:
    """The code of the department `name` names, by its code (spaces and
    hyphens read as `_`: "Market regulation" is market_regulation), its
    Chinese name or its English name; None when none matches exactly."""
    key = normalise(name)
    if not key:
        return None
    as_code = re.sub(r"[\s-]+", "_", key)
    for code, names in departments.items():
        if as_code == code.casefold() or key in {normalise(n) for n in names}:
            return code
    return None


def lane_entry(text: str) -> tuple[str, str]:
    """One `LANE=CODE` entry of a lane map (the last `=` separates: a lane
    name may contain one). ValueError says what is wrong with it."""
    lane, sep, code = text.rpartition("=")
    if not sep or not lane.strip() or not code.strip():
        raise ValueError(
            Message(
                "'{entry}': expected LANE=CODE, e.g. '{example}'",
                entry=text.strip(),
                example="市场监管=market_regulation",
            )
        )
    return lane.strip(), code.strip()


def lane_map_problem(lane: str, code: str, departments: Mapping[str, Iterable[str]]) -> Message | None:
    """Why one `--lane-map LANE=CODE` entry is unusable, or None."""
    if not normalise(lane):
        return Message("the lane name is empty")
    value = (code or "").strip()
    if value == APPLICANT or value in departments:
        return None
    known = sorted(departments)
    listed = ", ".join(known[:30]) + (" ..." if len(known) > 30 else "")
    return Message(
        "'{code}' is not a department code govflow knows (known: {known}; or '{applicant}')",
        code=value,
        known=listed,
        applicant=APPLICANT,
    )
