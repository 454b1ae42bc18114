"""Webhook targets cannot reach inside the network (SSRF): refused when the
endpoint is saved (the admin page and the service) and again at every
delivery, after DNS, on the very address the connection then uses; an
allow-list setting opens named internal hosts; metadata addresses never."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from govflow.errors import InvalidInput
from govflow.webhooks import targets
from govflow.webhooks.models import Delivery, DeliveryStatus, Endpoint
from govflow.webhooks.services import endpoint_register, publish_event
from tests.web.conftest import login
from tests.webhooks.conftest import Receiver, drain

pytestmark = pytest.mark.django_db

INSIDE = [
    "http://169.254.169.254/latest/meta-data/",
    "http://127.0.0.1:6379/",
    "http://localhost:8000/hooks",
    "http://api.localhost/hooks",
    "http://[::1]/hooks",
    "http://[::ffff:127.0.0.1]/hooks",
    "http://[::ffff:a9fe:a9fe]/latest/",  # 169.254.169.254, IPv4-mapped
    "http://[64:ff9b::7f00:1]/hooks",  # NAT64 of 127.0.0.1
    "http://[2002:7f00:1::]/hooks",  # 6to4 of 127.0.0.1
    "http://2130706433/hooks",  # 127.0.0.1 as one number
    "http://0x7f.1/hooks",
    "http://0177.0.0.1/hooks",
    "http://0.0.0.0:8000/hooks",
    "http://10.0.0.5/hooks",
    "http://172.16.3.4/hooks",
    "http://192.168.1.1/hooks",
    "http://100.100.100.200/latest/meta-data/",  # Alibaba Cloud metadata (CGNAT range)
    "http://[fe80::1]/hooks",
    "http://[fd00:ec2::254]/latest/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://224.0.0.1/hooks",
]


@pytest.fixture(autouse=True)
def _no_exceptions(settings):
    settings.GOVFLOW_WEBHOOK_ALLOWED_HOSTS = []


@pytest.fixture
def fake_dns(monkeypatch):
    """Names of the .test domain resolve to what the test says, when it says."""
    answers: dict[str, list[str]] = {}
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        name = str(host).lower()
        if not name.endswith(".test"):
            return real(host, port, *args, **kwargs)
        asked.append(name)
        found = answers[name]
        address = found.pop(0) if len(found) > 1 else found[0]
        version = ipaddress.ip_address(address).version
        family = socket.AF_INET if version == 4 else socket.AF_INET6
        sockaddr = (address, port) if version == 4 else (address, port, 0, 0)
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, asked


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


def register(process_admin, url):
    return endpoint_register(
        actor=process_admin, name="exchange", url=url, kinds=["case.submitted"], system="data exchange"
    )


def publish() -> None:
    publish_event("case.submitted", case_id=None, subject="GF-TEST", data={"note": "test"})
    drain()


@pytest.mark.parametrize("url", INSIDE)
def test_an_internal_target_is_refused_when_saved(process_admin, url):
    with pytest.raises(InvalidInput) as caught:
        register(process_admin, url)
    assert caught.value.fields["url"][0].startswith("internal address: ")
    assert not Endpoint.objects.exists()


def test_the_admin_page_says_why(process_admin):
    response = login(process_admin).post(
        "/webhooks/new/",
        {
            "name": "meta",
            "url": "http://169.254.169.254/latest/meta-data/",
            "system": "x",
            "kinds": ["case.submitted"],
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code in (200, 400)
    assert "169.254.169.254" in response.content.decode()
    assert "GOVFLOW_WEBHOOK_ALLOWED_HOSTS" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_a_public_address_and_an_unresolvable_name_are_accepted(process_admin, fake_dns):
    answers, _asked = fake_dns
    answers["hooks.example.test"] = ["203.0.113.0"]  # documentation range: not global
    answers["receiver.partner.test"] = ["8.8.8.8"]
    register(process_admin, "https://receiver.partner.test/hooks")
    # a name that does not resolve now is checked at each delivery instead
    register(process_admin, "https://not-yet-registered.invalid/hooks")
    with pytest.raises(InvalidInput):
        register(process_admin, "https://hooks.example.test/hooks")
    assert Endpoint.objects.count() == 2


def test_the_allow_list_opens_names_and_networks_but_never_metadata(process_admin, settings, fake_dns):
    answers, _asked = fake_dns
    answers["hooks.internal.test"] = ["10.20.30.40"]
    settings.GOVFLOW_WEBHOOK_ALLOWED_HOSTS = ["hooks.internal.test", "192.168.0.0/16", "169.254.0.0/16"]
    register(process_admin, "http://hooks.internal.test/hooks")
    register(process_admin, "http://192.168.10.20:8080/hooks")
    for url in ("http://10.20.30.41/hooks", "http://169.254.169.254/latest/", "http://100.100.100.200/"):
        with pytest.raises(InvalidInput):
            register(process_admin, url)
    assert Endpoint.objects.count() == 2


def test_dns_rebinding_after_saving_is_refused_at_delivery(process_admin, receiver, fake_dns):
    # Given a name that resolved outside when it was saved, and now points at this machine
    answers, _asked = fake_dns
    answers["rebind.test"] = ["8.8.8.8", "127.0.0.1"]
    register(process_admin, f"http://rebind.test:{receiver.port}/hooks")

    # When an event is delivered
    publish()

    # Then nothing reached the internal receiver, and the delivery failed for good, saying why
    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert "internal address (127.0.0.1)" in delivery.last_error
    assert "GOVFLOW_WEBHOOK_ALLOWED_HOSTS" in delivery.last_error


def test_an_endpoint_saved_before_the_check_is_refused_at_delivery(process_admin, receiver):
    endpoint, _secret = register(process_admin, "https://partner.invalid/hooks")
    Endpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url)  # as an old row could hold

    publish()

    assert receiver.requests == []
    assert Delivery.objects.get().status == DeliveryStatus.FAILED


def test_the_connection_goes_to_the_address_that_was_checked(process_admin, receiver, settings, fake_dns):
    """One lookup per attempt, and the socket connects to its answer: there
    is no second lookup for DNS rebinding to answer differently."""
    answers, asked = fake_dns
    answers["hooks.local.test"] = ["127.0.0.1", "10.9.9.9"]  # a second lookup would get 10.9.9.9
    settings.GOVFLOW_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    register(process_admin, f"http://hooks.local.test:{receiver.port}/hooks")
    asked.clear()
    answers["hooks.local.test"] = ["127.0.0.1", "10.9.9.9"]

    publish()

    assert asked == ["hooks.local.test"]
    assert len(receiver.requests) == 1
    headers, _body = receiver.requests[0]
    assert headers["host"] == f"hooks.local.test:{receiver.port}"
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED


def test_a_name_resolving_both_outside_and_inside_is_refused(settings):
    allowed = targets.AllowList.parse([])
    with pytest.raises(targets.TargetRefused):
        targets.check_address("mixed.test", ipaddress.ip_address("10.0.0.1"), allowed)
    targets.check_address("mixed.test", ipaddress.ip_address("8.8.8.8"), allowed)


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        ("8.8.8.8", False),
        ("2400:3200::1", False),  # a public IPv6 resolver
        ("127.0.0.2", True),
        ("100.64.0.1", True),
        ("198.18.0.1", True),  # benchmarking
        ("255.255.255.255", True),
        ("::", True),
        ("fc00::1", True),
        ("ff02::1", True),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", True),  # Teredo of 127.0.0.1
    ],
)
def test_what_counts_as_inside(address, inside):
    assert targets.is_internal(ipaddress.ip_address(address)) is inside
