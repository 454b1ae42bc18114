"""Business-setup cases run end to end on two web nodes and two worker nodes
(tests/distributed/conftest.py): every request goes through nginx, which
alternates between the web nodes; the web nodes reach PostgreSQL through
PgBouncer in transaction mode; files live in the S3 bucket only.

- attachments uploaded through one web node download through the other and
  are read back, checked, on both workers;
- certificates rendered on either worker download through either web node;
- one worker is killed while it renders a certificate and one web node is
  killed mid-run: the load balancer passes requests to the other node, the
  outbox sweeper hands the interrupted work to the remaining worker, and
  nothing is lost or done twice (`reconcile` and `verify_audit`, run as an
  operator would, are clean, and every row finds its file in the bucket:
  `check_stored_files --hashes`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import re
import time
import uuid
from datetime import timedelta

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from govflow.audit.models import AuditEvent
from govflow.cases.models import Attachment, Case
from govflow.certificates.models import Certificate
from govflow.demo_cases import DEMO_PDF, _data
from govflow.incidents.models import Incident
from govflow.outbox.models import OutboxMessage
from govflow.outbox.services import ATTEMPT_LEASE, outbox_resend_stale
from tests.servers.processes import WAIT_SLACK, publishing_to, wait_until

from .conftest import UPSTREAM_HEADER, WORKER_HOST, Cluster
from .worker_app import HOLD_RENDERS

pytestmark = [
    pytest.mark.distributed,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("distributed"),
]

REVIEWERS = (
    "market_regulation",
    "public_security",
    "tax",
    "human_resources",
    "medical_insurance",
    "housing_fund",
    "bank",
)
SLOTS = ("articles_of_association", "address_proof", "id_copies")
COMPANIES = {
    "A": "北京双节点一号科技有限公司",
    "B": "北京双节点二号科技有限公司",
    "C": "北京双节点三号科技有限公司",
    "D": "北京双节点四号科技有限公司",
}


# (method, path, status, web node) of every answer a client retried.
RETRIED: list[tuple[str, str, int, str]] = []


class Client:
    """One user's API client, through the load balancer. The web node
    (nginx's header) of every final answer is recorded in `served`, shared
    by all clients; POSTs carry an Idempotency-Key and are retried on a
    502/503/504 (recorded in RETRIED), as a client of a production service
    would: a request that was in flight on a web node when it died."""

    def __init__(self, cluster: Cluster, token: str, served: list[str], seconds: list[float]) -> None:
        import requests

        self.base = cluster.url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.served = served
        self.seconds = seconds

    def call(self, method: str, path: str, *, expect: int = 200, **kwargs):
        headers = {"Idempotency-Key": uuid.uuid4().hex} if method == "POST" else {}
        for _ in range(5):
            response = self.session.request(method, self.base + path, headers=headers, timeout=120, **kwargs)
            self.seconds.append(response.elapsed.total_seconds())
            if response.status_code not in (502, 503, 504):
                break
            RETRIED.append((method, path, response.status_code, response.headers.get(UPSTREAM_HEADER, "")))
            time.sleep(0.5)
        self.served.append(response.headers.get(UPSTREAM_HEADER, ""))
        assert response.status_code == expect, (method, path, response.status_code, response.text[:2000])
        return response

    def get(self, path: str, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.call("POST", path, **kwargs)


class Browser:
    """A person's web session through the load balancer. Production's
    cookies are Secure and the test speaks plain HTTP to nginx, so the
    cookie jar is kept by hand."""

    def __init__(self, cluster: Cluster, served: list[str]) -> None:
        self.base = cluster.url
        self.cookies: dict[str, str] = {}
        self.served = served

    def request(self, method: str, path: str, **kwargs):
        import requests

        response = requests.request(
            method, self.base + path, cookies=self.cookies, allow_redirects=False, timeout=120, **kwargs
        )
        self.cookies.update({cookie.name: cookie.value for cookie in response.cookies})
        self.served.append(response.headers.get(UPSTREAM_HEADER, ""))
        return response

    def log_in(self, username: str, password: str) -> None:
        page = self.request("GET", "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        form = {"username": username, "password": password, "csrfmiddlewaretoken": token}
        answer = self.request("POST", "/accounts/login/", data=form)
        assert answer.status_code == 302, answer.text[:2000]


def with_password(user, password: str) -> None:
    """Production's hasher (the test settings' MD5 is not one it accepts)."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    hasher = PBKDF2PasswordHasher()
    user.password = hasher.encode(password, hasher.salt())
    user.save(update_fields=["password"])


def tokens(base_data) -> dict[str, str]:
    from rest_framework.authtoken.models import Token

    names = ["applicant", *(f"{code}_reviewer" for code in REVIEWERS)]
    return {name: Token.objects.get_or_create(user=base_data[name])[0].key for name in names}


def database_now():
    """PostgreSQL's clock: the nodes run on the real clock even when pytest
    runs under faketime (`make test-dates`)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT now()")
        return cursor.fetchone()[0]


def pdf(case: str, slot: str) -> bytes:
    """A small PDF of its own per case and slot (a comment after %%EOF)."""
    return DEMO_PDF + f"\n% distributed test {case} {slot}\n".encode()


def open_tasks(client: Client, references: set[str]) -> list[dict]:
    rows = client.get("/api/v1/tasks/?service=business_setup").json()["results"]
    return [
        row for row in rows if row["case"]["reference"] in references and row["status"] in ("open", "claimed")
    ]


def decide_round(clients: dict[str, Client], references: set[str]) -> int:
    """Every reviewer decides every open task of these cases once: accept
    at acceptance (受理), approve elsewhere. Returns how many were decided."""
    decided = 0
    for code in REVIEWERS:
        client = clients[f"{code}_reviewer"]
        for row in open_tasks(client, references):
            outcome = "accept" if row["kind"] == "acceptance" else "approve"
            if row["status"] == "open":  # 签收, then decide
                client.post(f"/api/v1/tasks/{row['id']}/claim/")
            client.post(
                f"/api/v1/tasks/{row['id']}/decide/",
                json={"outcome": outcome, "opinion": "材料齐全，符合法定条件，同意。"},
            )
            decided += 1
    return decided


def drive(clients: dict[str, Client], references: set[str], *, until=None, timeout: float = 90) -> None:
    """Decide rounds until every case is closed (or `until()` holds); the
    workers run the automated steps in between."""
    deadline = time.monotonic() + timeout * WAIT_SLACK
    while True:
        if until is not None and until():
            return
        if not Case.objects.filter(reference__in=references).exclude(status="approved").exists():
            return
        if not decide_round(clients, references):
            assert time.monotonic() < deadline, f"cases {references} did not close: {case_states(references)}"
            time.sleep(0.3)


def all_delivered() -> bool:
    return not OutboxMessage.objects.filter(done_at__isnull=True).exists()


def case_states(references) -> dict[str, str]:
    return dict(Case.objects.filter(reference__in=references).values_list("reference", "status"))


def consume(cluster: Cluster, *, only: str | None) -> None:
    """Let only worker `only` (or every worker) consume govflow's queue."""
    from govflow.celery import app

    for name in cluster.workers:
        if not cluster.workers[name].running():
            continue
        destination = [f"{name}@{WORKER_HOST}"]
        if only is None or name == only:
            replies = app.control.add_consumer("celery", destination=destination, reply=True, timeout=30)
        else:
            replies = app.control.cancel_consumer("celery", destination=destination, reply=True, timeout=30)
        assert replies, f"worker {name} did not answer the control command"


def runs_of(cluster: Cluster, name: str) -> list[tuple[str, list]]:
    """(task, arguments) of every task worker `name` started, from its log."""
    found = re.findall(rf"node {name} runs (\S+) (.*)$", cluster.workers[name].log(), flags=re.MULTILINE)
    return [(task, json.loads(args)) for task, args in found]


def outbox_rows_run_by(cluster: Cluster, name: str) -> set[int]:
    rows = set()
    for task, args in runs_of(cluster, name):
        if task == "govflow.outbox.deliver_batch":
            rows.update(args[0])
        elif task == "govflow.outbox.deliver":
            rows.add(args[0])
    return rows


def certificate_rows(reference: str) -> set[int]:
    case = Case.objects.get(reference=reference)
    return set(
        OutboxMessage.objects.filter(topic="certificate", payload__case=case.pk).values_list("pk", flat=True)
    )


def start_case(applicant: Client, name: str, now, uploads: dict[int, tuple[bytes, str]]) -> str:
    data = json.loads(
        json.dumps(_data("business_setup", now, company_name=COMPANIES[name]), cls=DjangoJSONEncoder)
    )
    reference = applicant.post(
        "/api/v1/cases/", json={"service": "business_setup", "data": data}, expect=201
    ).json()["reference"]
    for slot in SLOTS:
        body = pdf(name, slot)
        uploaded = applicant.post(
            f"/api/v1/cases/{reference}/attachments/",
            data={"slot": slot},
            files={"file": (f"{slot}.pdf", body, "application/pdf")},
            expect=201,
        )
        uploads[uploaded.json()["id"]] = (body, applicant.served[-1])
    applicant.post(f"/api/v1/cases/{reference}/submit/")
    return reference


def test_a_business_setup_runs_across_two_web_and_two_worker_nodes(cluster, base_data):
    served: list[str] = []
    RETRIED.clear()
    seconds: list[float] = []
    clients = {name: Client(cluster, token, served, seconds) for name, token in tokens(base_data).items()}
    started = time.monotonic()
    sizes: list[int] = []
    applicant = clients["applicant"]
    web1, web2 = (web.address for web in cluster.webs.values())
    now = database_now()
    uploads: dict[int, tuple[bytes, str]] = {}

    with publishing_to(cluster.redis.url):
        # Case A with only w1 consuming, case B with only w2: each worker renders certificates.
        consume(cluster, only="w1")
        a = start_case(applicant, "A", now, uploads)
        drive(clients, {a})
        wait_until(all_delivered, timeout=60, what="A's certificates")
        consume(cluster, only="w2")
        b = start_case(applicant, "B", now, uploads)
        drive(clients, {b})
        wait_until(all_delivered, timeout=60, what="B's certificates")
        consume(cluster, only=None)

        # Attachments uploaded through one web node download through the other...
        for attachment_id, (body, uploaded_through) in uploads.items():
            reference = Attachment.objects.select_related("case").get(pk=attachment_id).case.reference
            content = applicant.get(f"/api/v1/cases/{reference}/attachments/{attachment_id}/content/")
            assert content.content == body
            assert served[-1] != uploaded_through
        # ...and are read back from the bucket, checked, on each worker.
        from govflow.celery import app

        for name in cluster.workers:
            app.send_task("tests.distributed.read_attachments", args=[sorted(uploads)], queue=name)
        for name in cluster.workers:
            wait_until(
                lambda name=name: cluster.redis_hash(f"distributed:reads:{name}"),
                timeout=30,
                what=f"worker {name} to read the attachments",
            )
        expected = {str(pk): hashlib.sha256(body).hexdigest() for pk, (body, _) in uploads.items()}
        for name in cluster.workers:
            assert cluster.redis_hash(f"distributed:reads:{name}") == expected

        # Certificates rendered on either worker download through either web node.
        assert certificate_rows(a) <= outbox_rows_run_by(cluster, "w1")
        assert certificate_rows(b) <= outbox_rows_run_by(cluster, "w2")
        for reference in (a, b):
            for certificate in applicant.get(f"/api/v1/cases/{reference}/certificates/").json():
                number = certificate["number"]
                stored = Certificate.objects.get(number=number)
                through = set()
                for _ in range(2):
                    content = applicant.get(f"/api/v1/certificates/{number}/content/")
                    assert content.content.startswith(b"%PDF")
                    assert hashlib.sha256(content.content).hexdigest() == stored.sha256
                    through.add(served[-1])
                    sizes.append(len(content.content))
                assert through == {web1, web2}

        # A web session opened on one node goes on on the other (sessions are rows);
        # the auditor's CSV export streams the trail through PgBouncer (no cursor
        # may outlive its transaction there).
        with_password(base_data["auditor"], "distributed-Audit-2026")
        auditor = Browser(cluster, served)
        auditor.log_in("auditor", "distributed-Audit-2026")
        logged_in_through = served[-1]
        export = auditor.request("GET", "/audit/export.csv")
        assert export.status_code == 200, export.text[:2000]
        assert served[-1] != logged_in_through
        rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
        assert len(rows) - 1 == AuditEvent.objects.count()

        # Until now every request went to the other web node than the one before.
        before_kill = list(served)
        assert RETRIED == []
        assert set(before_kill) == {web1, web2}
        assert all(one != other for one, other in itertools.pairwise(before_kill))

        # Cases C and D under way; C runs to its end with only w2 consuming, and
        # w2 is killed while it issues C's certificates (one rendered, held before
        # it is stored); then web2 is killed.
        c = start_case(applicant, "C", now, uploads)
        d = start_case(applicant, "D", now, uploads)
        consume(cluster, only="w2")
        cluster.redis_client().set(HOLD_RENDERS, "1")
        drive(clients, {c}, until=lambda: certificate_rows(c))
        wait_until(
            lambda: "holds a rendered certificate" in cluster.workers["w2"].log(),
            timeout=60,
            what="w2 to render one of C's certificates",
        )
        cluster.workers["w2"].kill()
        cluster.redis_client().delete(HOLD_RENDERS)
        assert not Certificate.objects.filter(case__reference=c).exclude(sha256="").exists()
        cluster.webs["web2"].kill()
        consume(cluster, only="w1")

        # The beat's outbox sweep, once the killed worker's lease ran out, hands
        # what w2 held (C's certificates, messages it had reserved) to w1.
        later = database_now() + ATTEMPT_LEASE + timedelta(seconds=1)
        assert outbox_resend_stale(older_than=timedelta(0), now=later) >= 2

        # The load balancer passes every request to web1 now; D goes on.
        after_kill = len(served)
        drive(clients, {d})
        # (nginx's header names web2 first when it tried web2 and passed the request on.)
        assert {address.split(", ")[-1] for address in served[after_kill:]} == {web1}
        wait_until(all_delivered, timeout=60, what="every outbox row to be delivered")

    # Nothing lost, nothing twice.
    references = {a, b, c, d}
    assert case_states(references) == dict.fromkeys(references, "approved")
    for reference in references:
        certificates = Certificate.objects.filter(case__reference=reference, replaces__isnull=True)
        assert sorted(certificates.values_list("type", flat=True)) == ["business_licence", "seal_filing"]
        assert all(certificate.sha256 for certificate in certificates)
        content = applicant.get(f"/api/v1/certificates/{certificates[0].number}/content/")
        assert hashlib.sha256(content.content).hexdigest() == certificates[0].sha256
        completed = AuditEvent.objects.filter(case__reference=reference, action="TASK_COMPLETED")
        assert completed.count() == len(set(completed.values_list("object_id", flat=True)))
    assert not Incident.objects.exists()
    assert cluster.local_files() == []
    reconciled = cluster.manage("reconcile")
    assert (reconciled.returncode, reconciled.stdout, reconciled.stderr) == (0, "", "")
    verified = cluster.manage("verify_audit")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    stored = cluster.manage("check_stored_files", "--hashes")
    assert (stored.returncode, stored.stdout) == (0, ""), stored.stderr
    # What the run measured (the test asserts no timing: the machine is shared).
    seconds.sort()
    print(
        f"\n4 cases, {len(served)} requests in {time.monotonic() - started:.0f} s; request through nginx: "
        f"median {seconds[len(seconds) // 2] * 1000:.0f} ms, "
        f"p95 {seconds[int(len(seconds) * 0.95)] * 1000:.0f} ms; "
        f"certificate PDF {min(sizes) // 1024}-{max(sizes) // 1024} KiB; "
        f"answers retried by the client: {RETRIED}"
    )
