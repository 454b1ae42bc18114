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
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from govflow.cases.disclosure import FieldView, field_views
from govflow.cases.models import Case, Task, TaskStatus
from govflow.engine.definition import CertificateSpec, Definition
from govflow.regions import REGION_FIELD

from .artwork import rmb_capital
from .authorities import authority_name

PUBLIC_VIEWER = "public"
# The straight line under the star of each type's seal.
SEAL_LINES = {
    "business_licence": "登记专用章",
    "seal_filing": "印章备案专用章",
    "completion_filing": "竣工验收备案专用章",
}
DEFAULT_SEAL_LINE = "行政许可专用章"
# Certificates that print other departments' decisions (a joint acceptance
# lists every department's opinion): they carry those departments' silent
# consents too. Every other certificate carries only the silent consent of
# its own department: a housing-fund matter has no place on a licence of
# market regulation.
JOINT_TYPES = frozenset({"joint_acceptance_opinion"})
# The 2019 business licence: its labels change with the entity type.
REPRESENTATIVE_LABELS = {
    "llc": "法定代表人",
    "joint_stock": "法定代表人",
    "partnership": "执行事务合伙人",
    "sole_proprietorship": "投资人",
}
DEFAULT_REPRESENTATIVE_LABEL = "负责人"
COMPANY_TYPES = frozenset({"llc", "joint_stock"})
GSXT_URL = "http://www.gsxt.gov.cn"
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
    "food_business_licence",
)
# 食品经营许可证 (SAMR Order 78, 2023): valid five years; complaints to 12315.
FOOD_LICENCE_YEARS = 5
COMPLAINT_PHONE = "12315"


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
    # What /verify/ shows of it: (label, text) pairs, public facts only.
    facts: list[tuple[str, str]] = field(default_factory=list)

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
        department_name=authority_name(department, (case.data or {}).get(REGION_FIELD)),
        department_name_en=department.name_en,
        issued_at=issued_at,
        verify_url=verify_url,
        holder=certificate_holder(case),
        case_reference=case.reference,
        service_title=definition.title.get("zh") or definition.id,
        fields=by_id,
        public_fields=[f for f in public if not f.is_empty],
        credit_code=str(credit or _first_text(by_id, "credit_code", "builder_credit_code")),
        replaces_number=replaces_number,
        seal_line=SEAL_LINES.get(spec.type, DEFAULT_SEAL_LINE),
    )
    process = definition.nodes[node_id].process if node_id in definition.nodes else None
    tasks = list(
        Task.objects.filter(case=case, status=TaskStatus.COMPLETED, kind__in=["review", "signature"])
        .select_related("department", "decided_by")
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
        is_own = task.department_id == department.pk or spec.type in JOINT_TYPES
        if task.silent_consent and is_own:
            content.silent_consents.append(
                SilentConsent(node.label("zh"), department_name, " ".join(task.legal_basis.split()))
            )
    content.extra = _extra(content, case, tasks)
    content.facts = _facts(content)
    return content


def _first_text(by_id: dict[str, FieldView], *field_ids: str) -> str:
    for field_id in field_ids:
        found = by_id.get(field_id)
        if found is not None and found.text:
            return found.text
    return ""


def certificate_holder(case: Case) -> str:
    data = case.data or {}
    for key in ("company_name", "operator_name", "builder_name", "project_name"):
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
    established = registration.completed_at if registration else content.issued_at
    extra["established_cn"] = date_cn(established)
    entity_type = str(data.get("entity_type") or "")
    extra["representative_label"] = REPRESENTATIVE_LABELS.get(entity_type, DEFAULT_REPRESENTATIVE_LABEL)
    extra["capital_label"] = "注册资本" if entity_type in COMPANY_TYPES else "出资额"
    extra["address_label"] = "主要经营场所" if entity_type == "partnership" else "住所"
    extra["term_cn"] = _term_cn(established, data.get("operating_years"))
    extra["gsxt_url"] = GSXT_URL
    contractors = content.fields.get("contractors")
    if contractors is not None and contractors.rows:
        by_role: dict[str, list[str]] = {}
        for cells in contractors.rows:
            texts = [cell.text for cell in cells]
            if len(texts) >= 3:
                by_role.setdefault(texts[2], []).append(texts[0])
        extra["units"] = [(role, "、".join(names)) for role, names in by_role.items()]
    extra.update(_construction_units(data))
    price = data.get("contract_price")
    if price not in (None, ""):
        extra["contract_price_cn"] = f"{content.text('contract_price') or price} 万元"
    days = data.get("contract_days")
    if days not in (None, ""):
        extra["contract_days_cn"] = f"{days} 日历天"
    if content.type == "food_business_licence":
        extra.update(_food_licence(content, case, tasks))
    return extra


def _person(user) -> str:
    if user is None:
        return ""
    # Chinese order, surname first; the demo keeps the whole name in first_name.
    return f"{user.last_name}{user.first_name}".strip() or user.get_username()


def _food_licence(content: CertificateContent, case: Case, tasks: list[Task]) -> dict[str, Any]:
    """What a 食品经营许可证 prints besides the form's fields: 有效期至 (five
    years, to the day before the anniversary of issue), 日常监督管理机构 and
    人员 (the inspecting authority and the two inspectors who signed the
    on-site inspection, unless the decision names others), 签发人 (who
    approved the decision), 投诉举报电话."""
    issued = timezone.localtime(content.issued_at).date()
    try:
        end = issued.replace(year=issued.year + FOOD_LICENCE_YEARS)
    except ValueError:  # 29 February
        end = issued.replace(year=issued.year + FOOD_LICENCE_YEARS, day=28)
    end -= timedelta(days=1)
    results = (case.state or {}).get("results", {})
    decided = {}
    inspectors: list[str] = []
    signer = ""
    for task in tasks:
        if task.kind == "signature" and task.outcome == "approve":
            name = _person(task.decided_by)
            if name and name not in inspectors:
                inspectors.append(name)
        elif task.kind == "review" and task.outcome == "approve":
            signer = _person(task.decided_by) or signer
            found = results.get(task.node_id) if isinstance(results, dict) else None
            if isinstance(found, dict):
                decided = found
    return {
        "valid_until_cn": f"{end.year}年{end.month:02d}月{end.day:02d}日",
        "supervision_unit": str(decided.get("supervision_unit") or content.department_name),
        "supervisors": str(decided.get("supervisors") or "、".join(inspectors)),
        "signer": signer,
        "complaint_phone": COMPLAINT_PHONE,
    }


# The units a construction permit prints, in its order, each with the title
# of the person responsible for the project on that unit's side.
UNIT_ROLES = (
    ("survey", "勘察单位", "勘察单位项目负责人"),
    ("design", "设计单位", "设计单位项目负责人"),
    ("construction", "施工单位", "施工单位项目负责人"),
    ("supervision", "监理单位", "总监理工程师"),
)


def _construction_units(data: dict[str, Any]) -> dict[str, Any]:
    rows = data.get("contractors")
    if not isinstance(rows, list):
        return {}
    units = []
    for role, unit_label, lead_label in UNIT_ROLES:
        mine = [row for row in rows if isinstance(row, dict) and row.get("role") == role]
        names = "、".join(str(row.get("name") or "") for row in mine if row.get("name"))
        leads = "、".join(str(row.get("project_lead") or "") for row in mine if row.get("project_lead"))
        units.append({"label": unit_label, "names": names, "lead_label": lead_label, "leads": leads})
    return {"unit_rows": units}


def _term_cn(established: datetime, years: Any) -> str:
    """营业期限: from the founding date to long-term (长期), or to the day
    before the same date `years` later."""
    start = timezone.localtime(established).date()
    begin = f"{start.year}年{start.month:02d}月{start.day:02d}日"
    try:
        count = int(years) if years not in (None, "") else 0
    except (TypeError, ValueError):
        count = 0
    if count <= 0:
        return f"{begin} 至 长期"
    try:
        end = start.replace(year=start.year + count)
    except ValueError:  # 29 February
        end = start.replace(year=start.year + count, day=28)
    end = end - timedelta(days=1)
    return f"{begin} 至 {end.year}年{end.month:02d}月{end.day:02d}日"


def _facts(content: CertificateContent) -> list[tuple[str, str]]:
    """The public fields /verify/ shows, per type, as the certificate prints them."""
    extra = content.extra
    if content.type == "business_licence":
        rows = [
            ("统一社会信用代码", content.credit_code),
            ("名称", content.text("company_name")),
            ("类型", content.text("entity_type")),
            (extra.get("representative_label", ""), content.text("legal_rep_name")),
            (extra.get("capital_label", ""), extra.get("registered_capital_cn", "")),
            ("成立日期", extra.get("established_cn", "")),
            ("营业期限", extra.get("term_cn", "")),
            (extra.get("address_label", ""), content.text("address")),
            ("经营范围", content.text("business_scope")),
            ("登记机关", content.department_name),
        ]
    elif content.type == "food_business_licence":
        rows = [
            ("许可证编号", content.number),
            ("经营者名称", content.text("operator_name")),
            ("统一社会信用代码", content.credit_code),
            ("法定代表人（负责人）", content.text("legal_rep_name")),
            ("住所", content.text("address")),
            ("经营场所", content.text("premises")),
            ("主体业态", content.text("business_format")),
            ("经营项目", content.text("business_items")),
            ("有效期至", extra.get("valid_until_cn", "")),
            ("发证机关", content.department_name),
            ("签发日期", content.issued_date_cn),
        ]
    elif content.type in ("construction_permit",):
        rows = [
            ("建设单位", content.text("builder_name")),
            ("工程名称", content.text("project_name")),
            ("项目代码", content.text("project_code")),
            ("建设地址", content.text("location")),
            ("建设规模", f"{content.text('floor_area')} 平方米" if content.text("floor_area") else ""),
            ("合同价格", extra.get("contract_price_cn", "")),
            ("合同工期", extra.get("contract_days_cn", "")),
        ]
        for unit in extra.get("unit_rows", []):
            rows.append((unit["label"], unit["names"]))
            rows.append((unit["lead_label"], unit["leads"]))
        rows.append(("发证机关", content.department_name))
    else:
        rows = [(f.label, f.text) for f in content.public_fields if not f.is_table]
        if content.credit_code:
            rows.insert(0, ("统一社会信用代码", content.credit_code))
        rows.append(("发证机关", content.department_name))
    return [(label, text) for label, text in rows if label and text]
