"""好差评 over the API: GET the items, POST one rating per item; errors in
the API's shape (400 invalid, 404 for another applicant, 409 the second
time or while the case is open)."""

from __future__ import annotations

import pytest

from govflow.ratings.models import Rating, Remediation
from tests.api.conftest import api_client

pytestmark = pytest.mark.django_db


def test_rate_over_the_api(approved_case, applicant):
    client = api_client(applicant, language="en")
    url = f"/api/v1/cases/{approved_case.reference}/ratings/"
    listed = client.get(url).json()
    assert listed["rateable"] is True
    assert [i["department"] for i in listed["items"]] == [None, "market_regulation", "fire", "tax"]
    created = client.post(url, {"level": 4}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["items"][0]["rating"]["level"] == 4
    poor = client.post(url, {"department": "tax", "level": 1}, format="json")
    assert poor.status_code == 400
    assert poor.json()["error"]["fields"] == {"comment": ["This field is required."]}
    poor = client.post(url, {"department": "tax", "level": 1, "comment": "拖延"}, format="json")
    assert poor.status_code == 201
    tax = next(i for i in poor.json()["items"] if i["department"] == "tax")
    assert tax["rating"]["remediation_status"] == "open"
    again = client.post(url, {"department": "tax", "level": 5}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    assert Remediation.objects.count() == 1
    bad = client.post(url, {"level": 9}, format="json")
    assert bad.status_code == 400
    assert "level" in bad.json()["error"]["fields"]


def test_another_applicant_gets_a_404(approved_case, other_applicant):
    other = api_client(other_applicant)
    response = other.post(f"/api/v1/cases/{approved_case.reference}/ratings/", {"level": 5}, format="json")
    assert response.status_code == 404
    assert other.get(f"/api/v1/cases/{approved_case.reference}/ratings/").status_code == 404
    assert not Rating.objects.exists()


@pytest.mark.parametrize(
    ("body", "member"),
    [
        ({"level": "5"}, "level"),
        ({"level": 4.0}, "level"),
        ({"level": 6}, "level"),
        ({"level": 5, "comment": 5}, "comment"),
        ({"level": 5, "stars": 5}, "stars"),
    ],
)
def test_a_rating_takes_only_what_the_schema_says(approved_case, applicant, body, member):
    client = api_client(applicant, language="en")

    response = client.post(f"/api/v1/cases/{approved_case.reference}/ratings/", body, format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == [member]
    assert not Rating.objects.exists()
