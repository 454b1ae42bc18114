"""The start-up message of `make run` (run_embedded) names each page as the
README does, and every address it prints exists."""

from __future__ import annotations

import pytest
from django.test import Client

from govflow.cases.management.commands.run_embedded import PAGES, startup_banner


def test_the_banner_names_each_page_and_the_address_variables():
    text = "\n".join(startup_banner("127.0.0.1:8080", "https://gov.example"))

    assert "Process console (administrators)  http://127.0.0.1:8080/console/" in text
    assert "Django admin (data, users)        http://127.0.0.1:8080/admin/" in text
    assert "admin console" not in text
    assert "GOVFLOW_ADDR" in text
    assert "GOVFLOW_PUBLIC_BASE_URL (now https://gov.example)" in text


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "path"), PAGES)
def test_every_page_in_the_banner_exists(base_data, name, path):
    client = Client()
    if path == "/audit/":  # hidden (404) from anyone but an auditor
        client.force_login(base_data["auditor"])
    response = client.get(path)

    assert response.status_code in (200, 302, 403), (name, response.status_code)


@pytest.mark.django_db
def test_the_favicon_is_linked_and_favicon_ico_finds_it(base_data):
    page = Client().get("/").content.decode()
    ico = Client().get("/favicon.ico")

    assert 'rel="icon"' in page
    assert "favicon.svg" in page
    assert ico.status_code == 301
    assert ico["Location"].endswith("govflow/favicon.svg")
