"""A few demo cases in different states, made through the real services (the
same path a browser takes), so the demo shows what users would see:

- a business-setup draft, half filled;
- a business-setup case in review, the licence granted and two of the six
  parallel departments done;
- a construction-permit case returned to the applicant for correction;
- a food business licence accepted, its documents reviewed, waiting for
  the on-site inspection;
- an approved business-setup case, whose company record (in the data
  catalogue) then fills a construction application that has passed stage 1,
  and a data request waiting for market regulation's head.

Created once: when the demo applicant already has cases, nothing is added.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q
from django.utils import timezone

from govflow.accounts.models import Membership
from govflow.cases.attachments import attachment_add
from govflow.cases.models import Case, Task, TaskKind, TaskStatus
from govflow.cases.services import case_create, case_submit, task_claim, task_complete
from govflow.catalog.services import case_prefill, data_request_create
from govflow.engine.identifiers import make_uscc
from govflow.engine.simulate import example_data
from govflow.outbox.services import outbox_drain
from govflow.processes.models import ProcessTemplate
from govflow.processes.services import version_definition

APPROVE = "approve"


def _data(template_code: str, now: datetime, **overrides: Any) -> dict[str, Any]:
    """Valid data for the template's form: what a real applicant would
    write for the shipped templates (no 示例 placeholders: the demo is shown
    to bureaus), the form's example values for anything else."""
    template = ProcessTemplate.objects.get(code=template_code)
    definition = version_definition(template.current_version)
    today = timezone.localdate(now)
    realistic = REALISTIC.get(template_code)
    known = {f.id for f in definition.form.fields}
    extra = {k: v for k, v in realistic(today).items() if k in known} if realistic else {}
    return {**example_data(definition.form, today=today), **extra, **overrides}


def _business_setup(today) -> dict[str, Any]:
    return {
        "company_name": "北京青禾农业科技有限公司",
        "entity_type": "llc",
        "business_scope": (
            "一般项目：技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广；"
            "农业科学研究和试验发展；软件开发。（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）"
        ),
        "address": "北京市朝阳区望京街道阜通东大街6号院3号楼8层801",
        "registered_capital": "100.00",
        "region_code": "110105",
        "operating_years": None,
        "legal_rep_name": "张伟",
        "legal_rep_id_number": "11010519491231002X",
        "liaison_name": "李娜",
        "liaison_email": "lina@qinghe-agritech.cn",
        "shareholders": [
            {
                "name": "张伟",
                "holder_type": "person",
                "id_number": "11010519491231002X",
                "subscribed_amount": "60.00",
                "contribution_form": "cash",
                "due_date": _years_later(today, 3).isoformat(),
            },
            {
                "name": "北京禾田投资管理有限公司",
                "holder_type": "company",
                "credit_code": make_uscc("91110105MA01QH7X1"),
                "subscribed_amount": "40.00",
                "contribution_form": "cash",
                "due_date": _years_later(today, 3).isoformat(),
            },
        ],
        "employees_count": 5,
        "bank": "icbc",
    }


def _construction_permit(today) -> dict[str, Any]:
    return {
        "project_code": "2603-110105-04-01-000002",
        "project_name": "朝阳区社区卫生服务中心改扩建工程",
        "builder_name": "北京朝建置业有限公司",
        "builder_credit_code": make_uscc("91110105MA02JW8K3"),
        "builder_legal_rep_id": "360426199101010071",
        "location": "北京市朝阳区望京东路8号",
        "region_code": "110105",
        "site_area": "6200.00",
        "floor_area": "8600.00",
        "total_investment": "12800.00",
        "land_use": "public_service",
        # A medical building: a special construction project (Order 51 art
        # 14), its fire design within the standards (no expert review).
        "project_type": "hospital",
        "is_special_project": True,
        "special_fire_design": False,
        "has_basement": True,
        "storeys": 5,
        "contractors": [
            {
                "name": "北京城建勘测设计研究院有限责任公司",
                "credit_code": make_uscc("91110000101100111"),
                "role": "survey",
                "project_lead": "赵磊",
            },
            {
                "name": "北京城建设计研究总院有限责任公司",
                "credit_code": make_uscc("91110000101100123"),
                "role": "design",
                "project_lead": "钱芳",
            },
            {
                "name": "北京建工集团有限责任公司",
                "credit_code": make_uscc("91110000101100456"),
                "role": "construction",
                "project_lead": "孙强",
            },
            {
                "name": "北京双圆工程咨询监理有限公司",
                "credit_code": make_uscc("91110000101100789"),
                "role": "supervision",
                "project_lead": "周敏",
            },
        ],
        "contract_price": "8650.00",
        "contract_days": 540,
    }


def _years_later(today, years: int):
    return today.replace(year=today.year + years, day=min(today.day, 28))


def _food_business_licence(today) -> dict[str, Any]:
    return {
        "operator_name": "北京青禾餐饮管理有限公司",
        "credit_code": make_uscc("91110105MA03CY5T2"),
        "legal_rep_name": "陈晓华",
        "legal_rep_id_number": "11010519491231002X",
        "address": "北京市朝阳区朝阳门外大街18号1层101",
        "premises": "北京市朝阳区朝阳门外大街18号1层101",
        "region_code": "110105",
        "business_format": "catering",
        "business_items": ["prepackaged_sales", "hot_food", "cold_food", "drinks"],
        "safety_manager": "刘洋",
        "contact_phone": "13800138000",
    }


REALISTIC = {
    "business_setup": _business_setup,
    "construction_permit": _construction_permit,
    "food_business_licence": _food_business_licence,
}


# A minimal, well-formed PDF (one blank page; the cross-reference table's
# offsets are right, so qpdf reads it without repair): what the demo
# attaches for each required document.
DEMO_PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    b"1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n"
    b"2 0 obj\n<</Type/Pages/Kids[3 0 R]/Count 1>>\nendobj\n"
    b"3 0 obj\n<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>\nendobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000015 00000 n \n0000000060 00000 n \n0000000111 00000 n \n"
    b"trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n176\n%%EOF\n"
)


def attach_required_documents(case: Case, actor, *, now: datetime) -> None:
    """Upload a small PDF into every required slot that accepts PDF, through
    the attachment service (type sniffing and limits included)."""
    for spec in version_definition(case.version).form.attachments:
        if spec.required and "application/pdf" in spec.types:
            upload = SimpleUploadedFile(f"{spec.id}.pdf", DEMO_PDF, content_type="application/pdf")
            attachment_add(case_id=case.pk, actor=actor, slot=spec.id, upload=upload, now=now)


def _submit(case: Case, applicant, now: datetime) -> None:
    attach_required_documents(case, applicant, now=now)
    case_submit(case_id=case.pk, actor=applicant, now=now)


def accept_open_applications(case: Case, users: dict[str, Any], now: datetime) -> None:
    """受理: accept the case's open acceptance tasks (by a reviewer of the
    accepting department)."""
    for task in Task.objects.filter(
        case=case, status=TaskStatus.OPEN, kind=TaskKind.ACCEPTANCE
    ).select_related("department"):
        _claim_and_decide(
            task_id=task.pk,
            actor=users[f"{task.department.code}_reviewer"],
            outcome="accept",
            opinion="申请材料齐全、符合法定形式，予以受理。",
            now=now,
        )


def accept_pending(case: Case, *, now: datetime) -> None:
    """受理: the accepting department's demo reviewer (`<department>_reviewer`,
    else another member, never the applicant) accepts every acceptance task
    open on the case."""
    tasks = Task.objects.filter(case=case, status=TaskStatus.OPEN, kind=TaskKind.ACCEPTANCE)
    for task in tasks.select_related("department"):
        members = (
            Membership.objects.filter(department=task.department)
            .exclude(user_id=case.applicant_id)
            .select_related("user")
        )
        chosen = min(members, key=lambda m: (m.user.username != f"{task.department.code}_reviewer", m.pk))
        _claim_and_decide(task_id=task.pk, actor=chosen.user, outcome="accept", opinion=ACCEPTED, now=now)


ACCEPTED = "申请材料齐全，符合法定形式，予以受理。"


def _claim_and_decide(*, task_id: int, actor, now: datetime, **decision: Any) -> None:
    """A reviewer claims (签收) the task, then decides it, as on the web."""
    task_claim(task_id=task_id, actor=actor, now=now)
    task_complete(task_id=task_id, actor=actor, now=now, **decision)


def _drive(case: Case, plan: dict[str, str], users: dict[str, Any], now: datetime) -> None:
    """Run service tasks, accept the case at each acceptance (受理), and
    decide open reviews by `plan` (node -> outcome) until no planned review
    is open."""
    for _ in range(50):
        outbox_drain()
        open_reviews = (
            Task.objects.filter(case=case, status=TaskStatus.OPEN)
            .filter(
                Q(kind__in=[TaskKind.REVIEW, TaskKind.SIGNATURE], node_id__in=list(plan))
                | Q(kind=TaskKind.ACCEPTANCE)
            )
            .select_related("department")
            .order_by("id")
        )
        task = open_reviews.first()
        if task is None:
            return
        outcome = plan.get(task.node_id, "accept")
        opinion = {
            "approve": "材料齐全，符合法定条件，同意。",
            "accept": ACCEPTED,
            "return": "请补正：土地权属证明材料不清晰，请重新上传。",
            "reject": "不符合法定条件。",
        }[outcome]
        _claim_and_decide(
            task_id=task.pk,
            actor=users[f"{task.department.code}_reviewer"],
            outcome=outcome,
            opinion=opinion,
            now=now,
        )


def load_demo_cases(users: dict[str, Any], *, now: datetime) -> list[Case]:
    applicant = users["applicant"]
    if Case.objects.filter(applicant=applicant).exists():
        return []
    cases = []

    draft = case_create(
        applicant=applicant,
        template_code="business_setup",
        data={"company_name": "北京晨曦文化传媒有限公司"},
        now=now,
    )
    cases.append(draft)

    in_review = case_create(
        applicant=applicant,
        template_code="business_setup",
        data=_data("business_setup", now, company_name="北京青禾农业科技有限公司"),
        now=now,
    )
    _submit(in_review, applicant, now)
    _drive(in_review, {"registration": APPROVE, "seal": APPROVE, "tax": APPROVE}, users, now)
    cases.append(in_review)

    permit = case_create(
        applicant=applicant,
        template_code="construction_permit",
        data=_data("construction_permit", now, project_name="朝阳区社区卫生服务中心改扩建工程"),
        now=now,
    )
    _submit(permit, applicant, now)
    _drive(permit, {"s1_project_filing": APPROVE, "s1_land_review": "return"}, users, now)
    cases.append(permit)

    food = case_create(
        applicant=applicant,
        template_code="food_business_licence",
        data=_data("food_business_licence", now),
        now=now,
    )
    _submit(food, applicant, now)
    accept_open_applications(food, users, now)
    _drive(food, {"review": APPROVE}, users, now)
    cases.append(food)

    # 企业开办一件事: the licence issued with the registration, the bank
    # declined the account (that item alone ends refused), the seal filed,
    # tax, insurance and housing fund still with their departments
    bundle = case_create(
        applicant=applicant,
        template_code="business_setup",
        data=_data("business_setup", now, company_name="北京星河数字科技有限公司"),
        now=now,
    )
    _submit(bundle, applicant, now)
    _drive(
        bundle,
        {"registration": APPROVE, "seal": APPROVE, "bank_account": "reject"},
        users,
        now,
    )
    cases.append(bundle)

    approved = case_create(
        applicant=applicant,
        template_code="business_setup",
        data=_data("business_setup", now, company_name="北京远航物流有限公司"),
        now=now,
    )
    _submit(approved, applicant, now)
    definition = version_definition(approved.version)
    _drive(approved, {n.id: APPROVE for n in definition.user_tasks()}, users, now)
    cases.append(approved)
    cases.append(_catalogue_reuse(approved, users, now))
    return cases


def _catalogue_reuse(company: Case, users: dict[str, Any], now: datetime) -> Case:
    """The data catalogue at work: the approved company's record (published
    when its business setup was approved) fills a construction application,
    whose first stage then registers the project and its first permit; and
    natural resources asks market regulation for a field it is not cleared for."""
    applicant = users["applicant"]
    company.refresh_from_db()
    credit_code = company.state["results"]["assign_credit_code"]["credit_code"]
    data = _data(
        "construction_permit",
        now,
        project_name="远航物流朝阳仓储中心",
        project_code="2603-110105-04-01-000001",
    )
    for name in ("builder_name", "builder_credit_code", "builder_legal_rep_id"):
        data.pop(name, None)
    reused = case_create(applicant=applicant, template_code="construction_permit", data=data, now=now)
    case_prefill(
        actor=applicant, reference=reused.reference, dataset="company_register", key=credit_code, now=now
    )
    reused.refresh_from_db()
    _submit(reused, applicant, now)
    _drive(
        reused,
        {"s1_project_filing": APPROVE, "s1_land_review": APPROVE, "s1_planning_permit": APPROVE},
        users,
        now,
    )
    data_request_create(
        actor=users["natural_resources_reviewer"],
        dataset="company_register",
        department="natural_resources",
        fields=["legal_rep_id_number"],
        purpose="用地预审时核验建设单位法定代表人身份（《土地管理法》第五十二条）",
        days=30,
        now=now,
    )
    return reused
