"""The parsed, validated form of a process template.

A `Definition` is built by `govflow.engine.loader` from YAML and is immutable
once built. The runtime (`govflow.engine.runtime`) only reads it, so one
instance can be shared by every case on the same template version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .expressions import Expression
from .forms import FormSpec

# 审批人去重 (`repeat_signer`): the rules a template may give, and the
# default (govflow.engine.repeat_signers applies them).
ALLOW = "allow"
AUTO_APPROVE = "auto_approve"
AUTO_APPROVE_CONSECUTIVE = "auto_approve_consecutive"
REFUSE = "refuse"
REPEAT_SIGNER_RULES = (AUTO_APPROVE, AUTO_APPROVE_CONSECUTIVE, REFUSE, ALLOW)
DEFAULT_REPEAT_SIGNER = REFUSE

MAIN = "main"

# The node types and what each means: govflow.engine.kinds (KINDS).
TASK_OUTCOMES = ("approve", "reject", "return")
CASE_OUTCOMES = ("approved", "rejected", "withdrawn")
# What a bundle (一件事) ends with: every applicable item approved, some of
# them, none (or, when every item was withdrawn, withdrawn).
BUNDLE_OUTCOMES = ("approved", "partially_approved", "rejected", "withdrawn")
BREACH_ACTIONS = ("escalate", "approve", "reject")
CLOCK_SCOPES = ("branch", "case")
COUNTERSIGN_MODES = ("all", "any", "sequential", "vote")
TRANSFER_VIA = ("queue", "head")


# A period in calendar days counted as working days, for the abstract clock
# of a dry run (simulate): five working days in a week of seven.
WORKING_DAYS_PER_CALENDAR_DAY = 5 / 7


@dataclass(frozen=True, slots=True)
class Duration:
    """A span of time: whole working days (statutory counting, 行政许可法 art
    82), office hours (same-day promises) or whole calendar days (laws that
    count 日, such as the EIA law's 60 days). Exactly one is set."""

    days: int | None = None
    hours: float | None = None
    calendar_days: int | None = None

    @property
    def working_days(self) -> float:
        """The span in working days: exact for days and hours, an average
        (5 working days a week) for calendar days."""
        if self.days is not None:
            return float(self.days)
        if self.calendar_days is not None:
            return self.calendar_days * WORKING_DAYS_PER_CALENDAR_DAY
        return (self.hours or 0.0) / 8.0

    def as_dict(self) -> dict[str, Any]:
        if self.days is not None:
            return {"days": self.days}
        if self.calendar_days is not None:
            return {"calendar_days": self.calendar_days}
        return {"hours": self.hours}


@dataclass(frozen=True, slots=True)
class Sla:
    limit: Duration
    remind_at: float | None = None
    on_breach: str = "escalate"
    legal_basis: str | None = None


@dataclass(frozen=True, slots=True)
class Countersign:
    """Several signature tasks instead of one review. `signers` names a
    department per task. `distinct_people` (审批人去重, the default) says
    that no person may sign twice on the node in one round, so N signers
    are N different people (two reviewers of one department must both
    sign); a template opts out with `distinct_people: false`, and may then
    name a department only once."""

    mode: str
    signers: tuple[str, ...]
    distinct_people: bool = True
    # mode "vote" (票签): the share of the weight that carries the node
    # (exact, e.g. Fraction(2, 3)) and each signer's weight (1 each unless
    # `weights` says otherwise).
    pass_ratio: Fraction | None = None
    weights: tuple[int, ...] = ()

    def weight(self, signer: int) -> int:
        return self.weights[signer] if self.weights else 1


@dataclass(frozen=True, slots=True)
class Transfer:
    """转办: where a task of the node may be passed (`to`: department codes,
    None for any department) and how it arrives there (`via`: "queue", the
    department's open tasks, or "head", claimed by its head to dispatch)."""

    to: tuple[str, ...] | None = None
    via: str = "queue"


ANY_TRANSFER = Transfer()


@dataclass(frozen=True, slots=True)
class Extension:
    """延期 (行政许可法 art 42): how much later a task's time limit may be
    moved with the department head's approval, and how many times per node
    and case."""

    limit: Duration
    max: int = 1


#: a user task's extension unless its template says otherwise: 10 working days, once
DEFAULT_EXTENSION = Extension(Duration(days=10), 1)
MAX_EXTENSIONS = 10


@dataclass(frozen=True, slots=True)
class Branch:
    target: str
    condition: Expression | None = None
    default: bool = False


@dataclass(frozen=True, slots=True)
class BundleItem:
    """One item (事项) of a bundle: the sub-process `id` that handles it, the
    department answering for it, the items that must be approved before it
    starts (`after`), and a condition on the form (`when`) without which it
    does not apply to the case."""

    id: str
    department: str
    after: tuple[str, ...] = ()
    when: Expression | None = None


@dataclass(frozen=True, slots=True)
class CertificateSpec:
    type: str
    department: str
    title: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class CatalogSource:
    """Where a published value comes from: a form field (`company_name`), a
    result (`result.assign_credit_code.credit_code`), the case
    (`case.reference`, `case.date`), the certificate being published
    (`certificate.type`, `certificate.department`), or a fixed `value`."""

    path: str | None = None
    value: str | None = None


@dataclass(frozen=True, slots=True)
class CatalogPublish:
    """What reaching `at` publishes into the data catalogue's `dataset`.
    `at` holds "approved" (the case's approval) or ends that issue
    certificates; with `per_certificate` one record per certificate there."""

    dataset: str
    at: tuple[str, ...]
    key: tuple[CatalogSource, ...]
    fields: Mapping[str, CatalogSource]
    per_certificate: bool = False


@dataclass(frozen=True, slots=True)
class CatalogReuse:
    """A form field (`key`) whose value names a record of `dataset`; its
    `fields` (form field -> dataset field) are offered prefilled, `expect`
    says which values a reviewer should see (company status), and `related`
    lists (dataset, field) pairs whose records matching the key are shown
    beside the case (earlier permits)."""

    dataset: str
    key: str
    fields: Mapping[str, str]
    expect: Mapping[str, str] = field(default_factory=dict)
    related: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class CatalogSpec:
    publishes: tuple[CatalogPublish, ...] = ()
    reuses: tuple[CatalogReuse, ...] = ()


@dataclass(slots=True, eq=False)
class Node:
    id: str
    type: str
    process: str = MAIN
    title: Mapping[str, str] | None = None
    description: Mapping[str, str] | None = None
    line: int = 0
    col: int = 0
    # flows
    next: tuple[str, ...] = ()
    outcomes: dict[str, str] = field(default_factory=dict)
    branches: tuple[Branch, ...] = ()
    # user task
    department: str | None = None
    countersign: Countersign | None = None
    sla: Sla | None = None
    clearance: tuple[str, ...] = ()
    clock_excluded: bool = False
    # What an excluded step stops (docs/process-language.md section 8):
    # "branch" (its own branch: the case's statutory clock stops only when
    # every live branch is stopped) or "case" (every SLA of the case). The
    # written notice tells the applicant the expected length and legal basis.
    clock_scope: str = "case"
    clock_expected: Duration | None = None
    clock_legal_basis: str | None = None
    # 退回: the earlier steps a reviewer may send the case back to (None:
    # any step the case has passed; (): none), and 转办 (a user task's is
    # ANY_TRANSFER unless its template says otherwise; None: not allowed)
    return_to: tuple[str, ...] | None = None
    transfer: Transfer | None = None
    # 延期: a user task's is DEFAULT_EXTENSION unless its template says
    # otherwise (None: `extension: none`, or a node without an SLA)
    extension: Extension | None = None
    # service task
    handler: str | None = None
    # wait / correction
    duration: Duration | None = None
    on_timeout: str | None = None
    # end
    outcome: str | None = None
    terminate: bool = True
    certificates: tuple[CertificateSpec, ...] = ()
    # call
    calls: str | None = None
    # bundle (一件事): its items and lead department (牵头部门)
    items: tuple[BundleItem, ...] = ()
    lead: str | None = None
    # what a kind without fields of its own reads from its YAML (see
    # docs/extending.md); the built-in kinds use the fields above
    settings: dict[str, Any] = field(default_factory=dict)
    # computed by the loader
    successors: tuple[str, ...] = ()
    in_degree: int = 0
    is_split: bool = False
    is_join: bool = False
    join: str | None = None
    block: frozenset[str] = frozenset()

    def label(self, language: str = "zh") -> str:
        if self.title:
            return self.title.get(language) or self.title.get("zh") or self.id
        return self.id


@dataclass(frozen=True, slots=True)
class Verification:
    """告知承诺制: after an approval resting on commitments, `department`
    verifies them (核查) within `days` working days."""

    department: str
    days: int


@dataclass(frozen=True, slots=True)
class Process:
    id: str
    title: Mapping[str, str] | None
    start: str


@dataclass(slots=True, eq=False)
class Definition:
    id: str
    title: Mapping[str, str]
    description: Mapping[str, str] | None
    calendar: str
    time_limit: Duration | None
    legal_basis: str | None
    form: FormSpec
    nodes: dict[str, Node]
    processes: dict[str, Process]
    departments: frozenset[str] = frozenset()
    # The form field that names a case in lists (e.g. the company's name).
    title_field: str | None = None
    # Decimal fields are stored as exact text ("1000000.00"); conditions
    # compare them as numbers. Top-level ids, and table id -> column ids.
    decimal_fields: tuple[str, ...] = ()
    decimal_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # What the template publishes into and reuses from the data catalogue.
    catalog: CatalogSpec = field(default_factory=CatalogSpec)
    # 审批人去重: what happens when a person who decided a step of a case is
    # to sign another (govflow.engine.repeat_signers): refuse (the default),
    # auto_approve, auto_approve_consecutive or allow.
    repeat_signer: str = DEFAULT_REPEAT_SIGNER
    # 签收: a reviewer claims a task before deciding it (a step may say
    # otherwise with its own `claim_required`).
    claim_required: bool = True
    verification: Verification | None = None
    # 法定时限: the limit the law sets (the template's time_limit is the
    # office's promise, 承诺时限, usually shorter). Counted on the same clock.
    statutory_limit: Duration | None = None

    @property
    def distinct_signers(self) -> bool:
        """The older spelling of `repeat_signer: refuse`."""
        return self.repeat_signer == "refuse"

    @property
    def start(self) -> str:
        return self.processes[MAIN].start

    def deferrable_slots(self) -> tuple[str, ...]:
        """容缺: the attachment slots that may be missing at acceptance."""
        return tuple(spec.id for spec in self.form.attachments if spec.deferrable)

    def commitment_slots(self) -> tuple[str, ...]:
        """告知承诺: the attachment slots a signed commitment may replace."""
        return tuple(spec.id for spec in self.form.attachments if spec.commitment)

    def needs_claim(self, node_id: str) -> bool:
        """Must a reviewer claim (签收) the node's task before deciding it?
        The node's own `claim_required`, else the process's (true by default)."""
        node = self.nodes.get(node_id)
        if node is not None and "claim_required" in node.settings:
            return bool(node.settings["claim_required"])
        return self.claim_required

    def user_tasks(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.type == "user_task"]

    def clearance_for(self, department: str) -> frozenset[str]:
        """Secret fields the department may read unmasked, by the template."""
        cleared: set[str] = set()
        for node in self.nodes.values():
            if node.type == "user_task" and department in _node_departments(node):
                cleared.update(node.clearance)
        return frozenset(cleared)

    def bundle(self) -> Node | None:
        """The template's bundle node (一件事), if it has one (at most one)."""
        return next((n for n in self.nodes.values() if n.type == "bundle"), None)

    def certificates(self) -> list[CertificateSpec]:
        return [c for n in self.nodes.values() for c in n.certificates]


def _node_departments(node: Node) -> tuple[str, ...]:
    if node.countersign is not None:
        return node.countersign.signers
    return (node.department,) if node.department else ()


def node_departments(node: Node) -> tuple[str, ...]:
    """Every department that gets a task when a token reaches `node`."""
    return _node_departments(node)
