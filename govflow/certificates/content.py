"""What a certificate says: its public fields, formatted the way the case
page formats them (choice labels, decimals, tables; govflow.cases.disclosure),
plus what each type prints of its own (the credit code of a business
licence, the registered capital in capitals, the units of a construction
project, the departments' decisions of a joint acceptance).

Only public fields are printed: a certificate is shown to banks and other
third parties, so internal fields and secret ones (ID numbers, phones) never
reach the PDF, not even masked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from govflow.cases.disclosure import FieldView, field_views
from govflow.cases.models import Case, Task, TaskStatus
from govflow.engine.definition import CertificateSpec, Definition

from .artwork import rmb_capital

PUBLIC_VIEWER = "public"
# The straight line under the star of each type's seal.
SEAL_LINES = {
    "business_licence": "登记专用章",
    "seal_filing": "印章备案专用章",
    "completion_filing": "竣工验收备案专用章",
}
DEFAULT_SEAL_LINE = "行政许可专用章"
# Types printed by a template of their own; anything else gets generic.html.
TEMPLATES = (
    "business_licence",
    "seal_filing",
    "land_use_planning_permit",
    "construction_planning_permit",
    "construction_permit",
    "joint_acceptance_opinion",
    "completion_filing",
    "test_licence",
)


@dataclass(frozen=True)
class DecisionLine:
    node_title: str
    department: str
    outcome: str
    opinion: str
    date: str


@dataclass(frozen=True)
class SilentConsent:
    node_title: str
    department: str
    legal_basis: str


@dataclass
class CertificateContent:
    type: str
    title: str
    title_en: str
    number: str
    department_name: str
    department_name_en: str
    issued_at: datetime
    verify_url: str
    holder: str
    case_reference: str
    service_title: str
    fields: dict[str, FieldView]
    public_fields: list[FieldView]
    credit_code: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    decisions: list[DecisionLine] = field(default_factory=list)
    silent_consents: list[SilentConsent] = field(default_factory=list)
    replaces_number: str = ""
    seal_line: str = DEFAULT_SEAL_LINE

    @property
    def issued_date_cn(self) -> str:
        day = timezone.localtime(self.issued_at).date()
        return f"{day.year}年{day.month:02d}月{day.day:02d}日"

    @property
    def template_name(self) -> str:
        return f"certificates/{self.type}.html" if self.type in TEMPLATES else "certificates/generic.html"

    def text(self, field_id: str) -> str:
        found = self.fields.get(field_id)
        return found.text if found is not None else ""


def date_cn(moment: datetime | None) -> str:
    if moment is None:
        return ""
    day = timezone.localtime(moment).date()
    return f"{day.year}年{day.month:02d}月{day.day:02d}日"


def spec_for(definition: Definition, node_id: str, cert_type: str) -> CertificateSpec | None:
    node = definition.nodes.get(node_id)
    if node is None:
        return None
    return next((spec for spec in node.certificates if spec.type == cert_type), None)


def certificate_content(
    *,
    case: Case,
    definition: Definition,
    spec: CertificateSpec,
    node_id: str,
    number: str,
    department,
    issued_at: datetime,
    verify_url: str,
    replaces_number: str = "",
) -> CertificateContent:
    disclosure = field_views(definition.form, case.data or {}, viewer=PUBLIC_VIEWER, language="zh")
    public = [f for f in disclosure.fields if f.sensitivity == "public"]
    by_id = {f.id: f for f in public}
    results = (case.state or {}).get("results", {})
    credit = results.get("assign_credit_code", {}).get("credit_code") if isinstance(results, dict) else None
    content = CertificateContent(
        type=spec.type,
        title=spec.title.get("zh") or spec.type,
        title_en=spec.title.get("en") or "",
        number=number,
        department_name=department.name_zh,
        department_name_en=department.name_en,
        issued_at=issued_at,
        verify_url=verify_url,
        holder=certificate_holder(case),
        case_reference=case.reference,
        service_title=definition.title.get("zh") or definition.id,
        fields=by_id,
        public_fields=[f for f in public if not f.is_empty],
        credit_code=str(credit or by_id.get("builder_credit_code", FieldView("", "", "", "")).text or ""),
        replaces_number=replaces_number,
        seal_line=SEAL_LINES.get(spec.type, DEFAULT_SEAL_LINE),
    )
    process = definition.nodes[node_id].process if node_id in definition.nodes else None
    tasks = list(
        Task.objects.filter(case=case, status=TaskStatus.COMPLETED, kind__in=["review", "signature"])
        .select_related("department")
        .order_by("completed_at", "id")
    )
    for task in tasks:
        node = definition.nodes.get(task.node_id)
        if node is None or (process is not None and node.process != process):
            continue
        department_name = task.department.name_zh if task.department else ""
        content.decisions.append(
            DecisionLine(
                node.label("zh"), department_name, task.outcome, task.opinion, date_cn(task.completed_at)
            )
        )
        if task.silent_consent:
            content.silent_consents.append(
                SilentConsent(node.label("zh"), department_name, " ".join(task.legal_basis.split()))
            )
    content.extra = _extra(content, case, tasks)
    return content


def certificate_holder(case: Case) -> str:
    data = case.data or {}
    for key in ("company_name", "builder_name", "project_name"):
        if data.get(key):
            return str(data[key])[:200]
    return (case.title or case.reference)[:200]


def _extra(content: CertificateContent, case: Case, tasks: list[Task]) -> dict[str, Any]:
    data = case.data or {}
    extra: dict[str, Any] = {}
    capital = data.get("registered_capital")
    if capital not in (None, ""):
        try:
            # The form asks for 万元 (10,000 yuan); a licence prints yuan in capitals.
            extra["registered_capital_cn"] = rmb_capital(Decimal(str(capital)) * 10000)
        except (InvalidOperation, ValueError):
            extra["registered_capital_cn"] = str(capital)
    registration = next((t for t in tasks if t.node_id == "registration" and t.outcome == "approve"), None)
    extra["established_cn"] = date_cn(registration.completed_at if registration else content.issued_at)
    contractors = content.fields.get("contractors")
    if contractors is not None and contractors.rows:
        by_role: dict[str, list[str]] = {}
        for cells in contractors.rows:
            texts = [cell.text for cell in cells]
            if len(texts) >= 3:
                by_role.setdefault(texts[2], []).append(texts[0])
        extra["units"] = [(role, "、".join(names)) for role, names in by_role.items()]
    return extra
