"""Rendering the real templates' certificates: the Chinese text, the
embedded CJK font, the QR code, the seal, silent-consent legal basis, and
field values that try to be markup."""

from __future__ import annotations

import pytest
import zxingcpp
from PIL import Image

from govflow.certificates.models import Certificate, CertificateStatus
from govflow.certificates.pdfworker import RenderTimeout
from govflow.certificates.rendering import html_to_pdf
from govflow.certificates.services import certificate_issue

from .conftest import (
    ARTIFACTS,
    approve_business_setup,
    certificate_path,
    construction_case,
    pdffonts,
    pdftotext,
    save_artifact,
    to_png,
)

pytestmark = [pytest.mark.certificates, pytest.mark.django_db]


def test_an_approved_business_setup_gets_its_licence_and_seal_filing(business_case, licence):
    # Given the approved case, when the consumer has run, then both certificates exist, valid
    certificates = Certificate.objects.filter(case=business_case).order_by("type")
    assert [(c.type, c.status) for c in certificates] == [
        ("business_licence", CertificateStatus.VALID),
        ("seal_filing", CertificateStatus.VALID),
    ]
    assert licence.number.startswith("MR-")
    assert licence.department.code == "market_regulation"
    assert certificates[1].number.startswith("PS-")
    assert len(licence.sha256) == 64
    assert licence.render_ms is not None
    assert licence.sign_ms is not None
    assert licence.holder == "北京远航物流有限公司"


def test_the_licence_prints_its_chinese_fields_in_an_embedded_cjk_font(business_case, licence):
    pdf = save_artifact(licence, "business_licence")
    text = pdftotext(pdf)
    credit_code = business_case.state["results"]["assign_credit_code"]["credit_code"]
    for expected in (
        "营业执照",
        "统一社会信用代码",
        credit_code,
        "北京远航物流有限公司",
        "有限责任公司",
        "王小明",
        "壹佰万元整",  # 100.00 万元 in capitals
        "北京市朝阳区建国路88号",
        "国内货物运输代理",
        "市场监督管理局",
        licence.number,
    ):
        assert expected in text, expected
    # Secret fields never reach a certificate, not even masked.
    assert business_case.data["legal_rep_id_number"] not in text
    fonts = [line for line in pdffonts(pdf).splitlines()[2:] if "CJK" in line]
    assert fonts, pdffonts(pdf)
    assert all(line.split()[-5] == "yes" for line in fonts)  # the "emb" column


def test_the_qr_code_decodes_to_the_public_verification_url(licence, settings):
    png = to_png(save_artifact(licence, "business_licence"), ARTIFACTS / "business_licence", dpi=150)
    decoded = zxingcpp.read_barcodes(Image.open(png))
    urls = [barcode.text for barcode in decoded if barcode.format == zxingcpp.BarcodeFormat.QRCode]
    assert urls == [f"{settings.GOVFLOW_PUBLIC_BASE_URL}/verify/{licence.number}/"]


def test_the_seal_filing_receipt_names_the_company_and_the_public_security_bureau(business_case):
    receipt = Certificate.objects.get(case=business_case, type="seal_filing")
    text = pdftotext(save_artifact(receipt, "seal_filing"))
    assert "印章备案回执" in text
    assert "北京远航物流有限公司" in text
    assert "公安局" in text


def test_construction_certificates_print_the_project(keys, users, now):
    # Given a construction project through stage 1 (which issues its permit on the way)
    from govflow.engine.identifiers import make_uscc

    case = construction_case(
        users,
        now,
        project_name="朝阳区社区卫生服务中心改扩建工程",
        builder_name="北京朝建置业有限公司",
        contractors=[
            {
                "name": "北京城建设计研究总院有限责任公司",
                "credit_code": make_uscc("91110000101100123"),
                "role": "design",
            },
            {
                "name": "北京建工集团有限责任公司",
                "credit_code": make_uscc("91110000101100456"),
                "role": "construction",
            },
        ],
    )
    land = Certificate.objects.get(case=case, type="land_use_planning_permit")
    assert land.status == CertificateStatus.VALID
    assert land.number.startswith("NR-")
    # When the later stages' certificates are issued for it directly
    issued = [land]
    for node, cert_type in (
        ("s2_approved", "construction_planning_permit"),
        ("s3_approved", "construction_permit"),
        ("s4_approved", "joint_acceptance_opinion"),
        ("s4_approved", "completion_filing"),
    ):
        issued.append(
            certificate_issue(
                case_id=case.pk, node_id=node, cert_type=cert_type, key=f"test:{case.pk}:{cert_type}"
            )
        )
    # Then each prints its title, the project and the builder, in Chinese
    titles = {
        "land_use_planning_permit": "建设用地规划许可证",
        "construction_planning_permit": "建设工程规划许可证",
        "construction_permit": "建筑工程施工许可证",
        "joint_acceptance_opinion": "联合验收意见书",
        "completion_filing": "竣工验收备案证明",
    }
    for certificate in issued:
        text = pdftotext(save_artifact(certificate, certificate.type))
        assert titles[certificate.type] in text
        assert "朝阳区社区卫生服务中心改扩建工程" in text
        assert "北京朝建置业有限公司" in text
        assert certificate.number in text
    permit_text = pdftotext(certificate_path(issued[2]))
    assert "施工单位北京建工集团有限责任公司" in permit_text  # the units of the contractors table, by role
    assert "设计单位北京城建设计研究总院有限责任公司" in permit_text
    # 发证机关 and the seal: the district authority's full name (the case's region_code)
    assert "发证机关北京市朝阳区住房和城乡建设局" in permit_text
    assert permit_text.count("北京市朝阳区住房和城乡建设局") >= 2, "the seal carries the full name too"
    for label in ("合同价格", "合同工期", "勘察单位", "监理单位", "施工单位项目负责人", "总监理工程师"):
        assert label in permit_text, label
    facts = dict(issued[2].facts)  # what /verify/ shows of the permit
    assert facts["合同价格"] == "8650.00 万元"
    assert facts["施工单位"] == "北京建工集团有限责任公司"
    assert facts["发证机关"] == "北京市朝阳区住房和城乡建设局"


def test_another_departments_silent_consent_stays_off_the_certificate(review_case):
    # tax was silent; the licence is market regulation's (test_licence.py has the tax side)
    certificate = Certificate.objects.get(case=review_case, type="test_licence")
    text = pdftotext(save_artifact(certificate, "test_licence"))
    assert "测试许可证" in text
    assert "视为准予" not in text
    assert "测试地方规定第5条" not in text


def test_a_field_value_with_markup_prints_as_text_and_fetches_nothing(keys, users, now):
    injected = "<imgsrc=file:///etc/passwd>"  # as pdftotext gives it back, spaces removed
    case = approve_business_setup(
        users, now, company_name="<img src=file:///etc/passwd>公司", legal_rep_name="<b>李四</b>"
    )
    licence = Certificate.objects.get(case=case, type="business_licence")
    text = pdftotext(certificate_path(licence))
    assert injected in text
    assert "<b>李四</b>" in text
    assert "root:x:0:0" not in text


def test_the_url_fetcher_refuses_everything_but_the_certificate_assets():
    html = (
        '<link rel="stylesheet" href="certificate.css">'
        '<link rel="stylesheet" href="http://127.0.0.1:9/evil.css">'
        '<img src="file:///etc/passwd"><img src="../govflow/site.css">'
        "<p>内容</p>"
    )
    result = html_to_pdf(html)
    assert result.pdf.startswith(b"%PDF-")
    refused = set(result.refused)
    assert "http://127.0.0.1:9/evil.css" in refused
    assert "file:///etc/passwd" in refused
    assert any(url.endswith("/static/govflow/site.css") for url in refused)
    assert not any(url.endswith("/certificates/certificate.css") for url in refused)


def test_a_render_that_takes_too_long_is_stopped_and_the_next_one_works():
    with pytest.raises(RenderTimeout):
        html_to_pdf("<p>" + "长文本" * 20000 + "</p>", timeout=0.001)
    assert html_to_pdf("<p>之后</p>").pdf.startswith(b"%PDF-")


def test_an_unknown_certificate_type_uses_the_generic_layout(keys, users, now):
    from govflow.certificates.content import certificate_content, spec_for
    from govflow.certificates.rendering import certificate_html
    from govflow.engine.definition import CertificateSpec
    from govflow.processes.services import version_definition

    case = construction_case(users, now)
    definition = version_definition(case.version)
    known = spec_for(definition, "s1_approved", "land_use_planning_permit")
    spec = CertificateSpec(type="pollutant_permit", department=known.department, title={"zh": "排污许可证"})
    content = certificate_content(
        case=case,
        definition=definition,
        spec=spec,
        node_id="s1_approved",
        number="NR-2026-999999",
        department=Certificate.objects.filter(case=case).first().department,
        issued_at=now,
        verify_url="http://x/verify/NR-2026-999999/",
    )
    html = certificate_html(content)
    assert "排污许可证" in html
    assert case.data["project_name"] in html  # every public field, in a table
    assert case.data["builder_legal_rep_id"] not in html  # never a secret one
