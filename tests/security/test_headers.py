"""Security headers on pages and downloads; uploads never served from a
path that could execute them; CSRF on every form; no view exempt from CSRF
outside the API (which enforces it itself for session clients)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import get_resolver

from govflow.cases.models import Attachment

pytestmark = pytest.mark.django_db


def test_pages_carry_a_strict_csp_and_the_usual_headers(base_data, applicant):
    client = Client()
    client.force_login(applicant)
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert response["Cache-Control"] == "private, no-store"
    anonymous = Client().get("/")
    assert "Content-Security-Policy" in anonymous
    assert anonymous.get("Cache-Control") != "private, no-store"


def test_no_template_needs_inline_script_or_style():
    offenders = []
    for path in _template_files():
        text = path.read_text(encoding="utf-8")
        if re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text) or re.search(r"<style\b", text):
            offenders.append(f"{path}: inline <script> or <style>")
        if re.search(r"\sstyle=", text) or re.search(r"\son[a-z]+=", text) or "javascript:" in text:
            offenders.append(f"{path}: inline style or event handler")
    assert not offenders, "\n".join(offenders)


def test_downloads_are_attachments_with_nosniff_and_a_sandbox(business_case_with_file):
    case, attachment, owner = business_case_with_file
    client = Client()
    client.force_login(owner)
    response = client.get(f"/cases/{case.reference}/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]


def test_uploaded_files_are_not_served_from_their_storage_path(business_case_with_file):
    _case, attachment, owner = business_case_with_file
    client = Client()
    client.force_login(owner)
    for prefix in ("/media/", "/", "/static/"):
        assert client.get(prefix + attachment.file.name).status_code == 404
    assert not getattr(settings, "MEDIA_URL", "").strip("/") or not any(
        "media" in str(p.pattern) for p in get_resolver().url_patterns
    )


def test_every_post_form_has_a_csrf_token():
    missing = []
    forms = 0
    for path in _template_files():
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<form\b[^>]*>(.*?)</form>", text, re.S | re.I):
            if re.search(r"method\s*=\s*[\"']?post", match.group(0)[:300], re.I):
                forms += 1
                if "{% csrf_token %}" not in match.group(1):
                    missing.append(f"{path}: {match.group(0)[:80]}")
    assert forms >= 10  # the walk found the forms
    assert not missing, "\n".join(missing)


def test_no_view_is_exempt_from_csrf_outside_the_api():
    exempt = [
        path
        for path, callback in _urls(get_resolver().url_patterns)
        if getattr(callback, "csrf_exempt", False)
    ]
    assert all(path.startswith("api/") for path in exempt), exempt


def _urls(patterns, prefix=""):
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            yield from _urls(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern.callback


def _template_files():
    roots = [Path(settings.BASE_DIR) / "templates", *Path(settings.BASE_DIR, "govflow").glob("*/templates")]
    for root in roots:
        yield from sorted(root.rglob("*.html"))


@pytest.fixture
def business_case_with_file(base_data, applicant, settings, tmp_path):
    from tests.web.conftest import submitted

    settings.MEDIA_ROOT = tmp_path / "media"
    case = submitted(applicant, "business_setup", company_name="北京下载测试有限公司")
    return case, Attachment.objects.filter(case=case).first(), applicant
