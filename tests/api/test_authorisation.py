"""Two users' tokens against each other's objects across every endpoint of
the schema: an outsider reads nothing and changes nothing (404, the same
answer as for an object that does not exist), and lists never leak."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from govflow.audit.models import AuditEvent
from govflow.cases.models import Attachment, Case, Task

from .conftest import PDF_BYTES, api_client, live_task, submitted

pytestmark = pytest.mark.django_db

BODIES = {
    ("post", "/api/v1/cases/{reference}/withdraw/"): {"reason": "x"},
    ("post", "/api/v1/cases/{reference}/correction/"): {"data": {"business_scope": "软件开发"}},
    ("patch", "/api/v1/cases/{reference}/"): {"data": {"company_name": "北京越权科技有限公司"}},
    ("post", "/api/v1/tasks/{id}/decide/"): {"outcome": "approve", "opinion": "同意"},
}


# Objects other than a case or a task, whose outsiders are checked beside
# their own tests: the caller's delegations, consultations, copies, acting
# officers and saved opinions (tests/collab/test_api.py), notifications
# (tests/notifications/test_pages.py), extension requests
# (tests/collab/test_extensions.py), deferred materials and verifications
# (tests/commitments/test_api.py).
COLLAB_OWN = tuple(
    f"/api/v1/{name}/"
    for name in (
        "delegations",
        "consultations",
        "copies",
        "proxies",
        "opinions",
        "notifications",
        "extensions",
        "materials",
        "verifications",
    )
)


def _object_operations():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in schema["paths"].items():
        if "{reference}" not in path and not path.startswith("/api/v1/tasks/{"):
            continue
        for method in item:
            if method in ("get", "post", "patch", "put", "delete"):
                yield method, path


def _snapshot(case, task):
    case = Case.objects.get(pk=case.pk)
    task = Task.objects.get(pk=task.pk)
    return (
        case.status,
        case.row_version,
        case.data,
        task.status,
        task.assignee_id,
        Attachment.objects.filter(case=case).count(),
        AuditEvent.objects.exclude(action__in=("SECRET_FIELD_READ", "ACCESS_DENIED")).count(),
    )


def _call(client, method, path, case, task, attachment, colleague):
    url = path.format(
        reference=case.reference,
        id=task.pk if "/tasks/" in path else attachment.pk,
        name="fee_paid",
        slot="address_proof",
        task=task.pk,
    )
    body = BODIES.get((method, path))
    if path.endswith("/attachments/") and method == "post":
        upload = SimpleUploadedFile("a.pdf", PDF_BYTES, content_type="application/pdf")
        return client.post(url, {"slot": "address_proof", "file": upload}, format="multipart")
    if path.endswith("/handover/"):
        body = {"to_user": colleague.pk}
    return getattr(client, method)(url, body, format="json") if body else getattr(client, method)(url)


def test_outsiders_get_404_on_every_object_endpoint_and_change_nothing(base_data, applicant, other_applicant):
    case = submitted(applicant, "business_setup")
    task = live_task(case, "registration")
    attachment = Attachment.objects.filter(case=case).first()
    colleague = base_data["market_regulation_head"]
    outsiders = {
        "other applicant": other_applicant,
        "reviewer of another department": base_data["fire_reviewer"],
    }
    operations = sorted(set(_object_operations()))
    # ratings: GET and POST; a signal; the task operations (govflow.collab):
    # operations, delegate, consult, cc and the case's urge; the task flow
    # (govflow.api.views.task_flow): return (GET and POST), take-back,
    # transfer, add-signer, remove-signer; the applicant's steps and fees
    # (GET and POST /cases/{reference}/steps/)
    # Every one of them is here: the next test fails for an object endpoint
    # this list misses.
    assert len(operations) >= 31
    before = _snapshot(case, task)

    leaks = []
    for who, user in outsiders.items():
        client = api_client(user)
        for method, path in operations:
            response = _call(client, method, path, case, task, attachment, colleague)
            if response.status_code != 404:
                leaks.append((who, method, path, response.status_code))
            elif method == "get" and "content" not in path:
                assert response.json()["error"]["code"] == "not_found"
    # The applicant is an outsider to the reviewers' task endpoints.
    owner = api_client(applicant)
    for method, path in operations:
        if path.startswith("/api/v1/tasks/"):
            response = _call(owner, method, path, case, task, attachment, colleague)
            if response.status_code != 404:
                leaks.append(("applicant", method, path, response.status_code))

    assert leaks == []
    assert _snapshot(case, task) == before


def test_a_reviewer_on_the_case_reads_it_but_cannot_change_it(market_reviewer, business_case):
    client = api_client(market_reviewer)
    reference = business_case.reference
    attachment = Attachment.objects.filter(case=business_case).first()

    assert client.get(f"/api/v1/cases/{reference}/").status_code == 200
    assert client.get(f"/api/v1/cases/{reference}/attachments/{attachment.pk}/content/").status_code == 200
    writes = [
        client.patch(f"/api/v1/cases/{reference}/", {"data": {}}, format="json"),
        client.post(f"/api/v1/cases/{reference}/submit/"),
        client.post(f"/api/v1/cases/{reference}/withdraw/", {}, format="json"),
        client.post(f"/api/v1/cases/{reference}/correction/", {"data": {}}, format="json"),
        client.delete(f"/api/v1/cases/{reference}/attachments/{attachment.pk}/"),
    ]
    assert [w.status_code for w in writes] == [403] * 5
    assert Case.objects.get(pk=business_case.pk).status == business_case.status


def test_lists_show_only_the_callers_objects(base_data, applicant, other_applicant, business_case):
    mine = api_client(other_applicant).post("/api/v1/cases/", {"service": "business_setup"}, format="json")
    task = live_task(business_case, "registration")

    other_cases = api_client(other_applicant).get("/api/v1/cases/?page_size=100").json()["results"]
    other_tasks = api_client(other_applicant).get("/api/v1/tasks/?status=live").json()["results"]
    fire_tasks = api_client(base_data["fire_reviewer"]).get("/api/v1/tasks/?page_size=100").json()["results"]
    owner_cases = api_client(applicant).get("/api/v1/cases/?page_size=100").json()["results"]

    assert [c["reference"] for c in other_cases] == [mine.json()["reference"]]
    assert other_tasks == []
    assert task.pk not in [t["id"] for t in fire_tasks]
    assert mine.json()["reference"] not in [c["reference"] for c in owner_cases]
    for done in ("done", "open", "mine", "claimed"):
        listed = api_client(base_data["fire_reviewer"]).get(f"/api/v1/tasks/?status={done}").json()["results"]
        assert task.pk not in [t["id"] for t in listed]


def test_the_schema_has_no_object_endpoint_this_matrix_misses():
    covered = {path for _method, path in _object_operations()}
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    parametrised = {
        p
        for p in schema["paths"]
        if re.search(r"\{(reference|id)\}", p) and "/services/" not in p and not p.startswith(COLLAB_OWN)
    }
    assert parametrised == covered
