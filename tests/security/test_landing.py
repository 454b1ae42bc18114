"""Landing by role after logging in, a safe `next` first."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "govflow-demo-2026"


def _log_in(username: str, next_url: str | None = None):
    data = {"username": username, "password": PASSWORD}
    if next_url is not None:
        data["next"] = next_url
    return Client().post("/accounts/login/", data)


@pytest.mark.parametrize(
    ("username", "landing"),
    [
        ("applicant", "/"),
        ("market_regulation_reviewer", "/inbox/"),
        ("admin", "/console/"),
        ("leader", "/insight/"),
        ("auditor", "/audit/"),
    ],
)
def test_each_role_lands_on_its_own_page(base_data, username, landing):
    response = _log_in(username)

    assert response.status_code == 302
    assert response["Location"] == landing


def test_a_safe_next_wins_and_an_unsafe_one_is_ignored(base_data):
    assert _log_in("market_regulation_reviewer", "/cases/")["Location"] == "/cases/"
    assert _log_in("market_regulation_reviewer", "https://evil.example/")["Location"] == "/inbox/"
    assert _log_in("market_regulation_reviewer", "//evil.example/x")["Location"] == "/inbox/"


def test_a_logged_in_user_opening_the_login_page_goes_to_their_landing(base_data):
    client = Client()
    client.force_login(base_data["leader"])

    assert client.get("/accounts/login/")["Location"] == "/insight/"
