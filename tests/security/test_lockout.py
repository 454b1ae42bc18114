"""The login lockout: parallel wrong passwords cannot get more tries than
the limit (PostgreSQL, real threads and connections), and a locked account
gets a clear page in Chinese, even with the right password."""

import threading

import pytest
from django.contrib.auth.backends import ModelBackend
from django.db import connection
from django.test import Client

from govflow.audit.models import AuditEvent

PASSWORD = "govflow-demo-2026"


def _attempt(barrier, results, index, password):
    client = Client(REMOTE_ADDR=f"198.51.100.{index % 250 + 1}")
    barrier.wait()
    try:
        response = client.post("/accounts/login/", {"username": "applicant", "password": password})
        results[index] = response.status_code
    finally:
        connection.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_wrong_passwords_lock_at_the_limit_not_beyond(base_data, settings, monkeypatch):
    limit = settings.AXES_FAILURE_LIMIT
    tried = []
    lock = threading.Lock()
    original = ModelBackend.authenticate

    def counting(self, request, username=None, password=None, **kwargs):
        with lock:
            tried.append(password)
        return original(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", counting)
    attempts = 30
    barrier = threading.Barrier(attempts)
    results = [None] * attempts
    threads = [
        threading.Thread(target=_attempt, args=(barrier, results, n, f"wrong-{n}")) for n in range(attempts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Exactly `limit` passwords were tried; every other attempt was refused
    # without trying one.
    assert len(tried) == limit
    assert results.count(429) == attempts - limit + 1  # the attempt reaching the limit locks too
    assert results.count(200) == limit - 1
    # The right password does not get in now.
    client = Client(REMOTE_ADDR="198.51.100.251")
    response = client.post("/accounts/login/", {"username": "applicant", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert len(tried) == limit
    failures = AuditEvent.objects.filter(action="LOGIN_FAILED", data__username="applicant")
    assert failures.count() == attempts + 1
    assert failures.filter(outcome="failed").count() == limit - 1


@pytest.mark.django_db
def test_the_lockout_page_is_clear_and_in_chinese(base_data, settings):
    client = Client(REMOTE_ADDR="198.51.100.77")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/accounts/login/", {"username": "applicant", "password": "nope"})
    assert response.status_code == 429
    page = response.content.decode()
    assert "账户已被暂时锁定" in page
    assert "30 分钟后再试" in page
    assert response["Retry-After"] == "1800"
    assert "nope" not in page


@pytest.mark.django_db
def test_the_admin_login_is_locked_out_too(base_data, settings):
    client = Client(REMOTE_ADDR="198.51.100.78")
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        response = client.post("/admin/login/", {"username": "admin", "password": "nope"})
    assert response.status_code == 429
    response = client.post("/admin/login/", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 429
