"""The dashboard, its CSV exports and the public page: who may see what,
and what the CSV files hold."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client

from govflow.insight.exports import csv_bytes, safe_cell

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _client(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _rows(response) -> list[list[str]]:
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 byte-order mark for Excel"
    return list(csv.reader(io.StringIO(body[3:].decode("utf-8"))))


@pytest.mark.parametrize("path", ["/insight/", "/insight/export/services.csv"])
def test_anonymous_visitors_are_sent_to_log_in(path, base_data):
    response = _client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("username", ["applicant", "market_regulation_reviewer", "fire_head", "auditor"])
@pytest.mark.parametrize("path", ["/insight/", "/insight/export/departments.csv"])
def test_other_roles_are_refused(username, path, base_data):
    assert _client(base_data[username]).get(path).status_code == 403


@pytest.mark.parametrize("username", ["leader", "admin"])
def test_leaders_and_admins_see_the_dashboard_in_chinese(username, base_data, known_cases):
    response = _client(base_data[username]).get("/insight/?from=2026-02-01&to=2026-03-31")
    assert response.status_code == 200
    page = response.content.decode()
    assert "办件效能" in page
    assert "<svg" in page
    assert "统计探针" in page
    assert "消防救援支队" in page  # department names in the tables and bar charts


def test_navigation_offers_the_dashboard_only_to_leaders(base_data):
    assert "/insight/" in _client(base_data["leader"]).get("/").content.decode()
    assert "/insight/" not in _client(base_data["applicant"]).get("/").content.decode()


def test_bad_filters_get_a_clear_message(base_data):
    client = _client(base_data["leader"])
    response = client.get("/insight/?from=2026-13-45&service=nope")
    assert response.status_code == 400
    page = response.content.decode()
    assert "日期格式应为 YYYY-MM-DD" in page
    assert "没有这个事项" in page
    export = client.get("/insight/export/services.csv?from=2026-03-10&to=2026-03-01")
    assert export.status_code == 400
    assert "起始日期晚于截止日期" in export.content.decode()
    assert client.get("/insight/export/secrets.csv").status_code == 404


def test_csv_exports_hold_the_dashboard_tables(base_data, known_cases):
    client = _client(base_data["leader"])
    response = client.get("/insight/export/departments.csv?from=2026-02-01&to=2026-03-31")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _rows(response)
    assert rows[0][0] == "部门"
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["消防救援支队"][1:6] == ["3", "1.75", "1.85", "66.7", "1"]
    services = _rows(client.get("/insight/export/services.csv?from=2026-02-01&to=2026-03-31"))
    assert services[1][:4] == ["统计探针", "3", "2.25", "2.95"]
    for table in ("weekly", "trend", "bottlenecks", "overdue"):
        assert client.get(f"/insight/export/{table}.csv").status_code == 200


def test_csv_cells_cannot_become_formulas(base_data, known_cases):
    from govflow.accounts.models import Department

    Department.objects.filter(code="fire").update(name_zh='=HYPERLINK("http://evil.example","x")')
    rows = _rows(
        _client(base_data["leader"]).get("/insight/export/departments.csv?from=2026-02-01&to=2026-03-31")
    )
    names = [row[0] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil.example","x")' in names
    assert not any(name.startswith(("=", "+", "-", "@")) for name in names)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+86", "'+86"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("企业开办", "企业开办"),
        (-2, -2),
        (1.5, 1.5),
        (None, ""),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_csv_bytes_quote_commas_and_newlines():
    body = csv_bytes(["名称"], [["甲,乙\n丙"]])
    assert list(csv.reader(io.StringIO(body[3:].decode()))) == [["名称"], ["甲,乙\n丙"]]


@time_machine.travel(datetime(2026, 3, 20, 4, 0, tzinfo=UTC), tick=False)
def test_public_page_needs_no_login(known_cases, probe):
    response = _client().get("/insight/services/insight_probe/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "办理时长公示" in page
    figures = page.replace(" ", "").replace("\n", "")
    assert "<li><strong>2.2</strong>" in figures  # median 2.25 working days, to one decimal
    assert "<li><strong>100%</strong>" in figures  # all three decided within the 3-day limit
    assert "<li><strong>3</strong>" in figures  # cases decided
    assert "北京测试" not in page  # no case data on a public page
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<" not in title  # the 好差评 figures are on the page, not in its title
    assert "好差评" not in title
    assert page.count('id="h-ratings"') == 1


@time_machine.travel(datetime(2026, 9, 1, 4, 0, tzinfo=UTC), tick=False)
def test_public_page_counts_only_the_last_90_days(known_cases, probe):
    page = _client().get("/insight/services/insight_probe/").content.decode()
    assert "最近 90 天内该事项没有办结的办件" in page


def test_public_page_of_an_unknown_service_is_404(base_data):
    assert _client().get("/insight/services/no_such_service/").status_code == 404


def test_service_page_links_to_its_statistics(base_data):
    page = _client().get("/services/business_setup/").content.decode()
    assert "/insight/services/business_setup/" in page
