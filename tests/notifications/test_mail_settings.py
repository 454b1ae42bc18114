"""The mail server comes from the environment (EMAIL_URL or GOVFLOW_SMTP_*),
and mail really reaches a local SMTP server (aiosmtpd): plain with a login,
STARTTLS and implicit TLS with a certificate the client checks, and the
production settings end to end (`manage.py sendtestemail`)."""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from django.core import mail
from django.core.exceptions import ImproperlyConfigured

from govflow.security.crypto import generate_key
from govflow.settings.mail import Mail, mail_from_environment

ROOT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "govflow@example.gov.cn", "p@ss:word/1%"
QUOTED = "govflow%40example.gov.cn:p%40ss%3Aword%2F1%25"


# -- parsing ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, Mail()),
        (
            {"EMAIL_URL": f"smtp://{QUOTED}@mail.example.gov.cn"},
            Mail(host="mail.example.gov.cn", port=25, user=USER, password=PASSWORD, configured=True),
        ),
        (
            {"EMAIL_URL": "smtp://mail.example.gov.cn:2525?tls=1&timeout=3"},
            Mail(host="mail.example.gov.cn", port=2525, starttls=True, timeout=3.0, configured=True),
        ),
        (
            {"EMAIL_URL": "submission://u:p@mail.example.gov.cn"},
            Mail(
                host="mail.example.gov.cn", port=587, user="u", password="p", starttls=True, configured=True
            ),
        ),
        (
            {"EMAIL_URL": "smtps://u:p@mail.example.gov.cn"},
            Mail(host="mail.example.gov.cn", port=465, user="u", password="p", ssl=True, configured=True),
        ),
        (
            {"EMAIL_URL": "console://"},
            Mail(backend="django.core.mail.backends.console.EmailBackend", configured=True),
        ),
        (
            {"GOVFLOW_SMTP_HOST": "mail.example.gov.cn", "GOVFLOW_SMTP_TLS": "ssl", "GOVFLOW_SMTP_USER": "u"},
            Mail(host="mail.example.gov.cn", port=465, user="u", ssl=True, configured=True),
        ),
        (
            {
                "GOVFLOW_SMTP_HOST": "mail.example.gov.cn",
                "GOVFLOW_SMTP_PORT": "2587",
                "GOVFLOW_SMTP_TLS": "starttls",
                "GOVFLOW_SMTP_USER": USER,
                "GOVFLOW_SMTP_PASSWORD": PASSWORD,
                "GOVFLOW_SMTP_TIMEOUT": "7.5",
            },
            Mail(
                host="mail.example.gov.cn",
                port=2587,
                user=USER,
                password=PASSWORD,
                starttls=True,
                timeout=7.5,
                configured=True,
            ),
        ),
    ],
)
def test_the_environment_names_the_mail_server(environ, expected):
    assert mail_from_environment(environ) == expected


def test_the_password_may_come_from_a_file(tmp_path):
    secret = tmp_path / "smtp-password"
    secret.write_text(PASSWORD + "\n", encoding="utf-8")
    found = mail_from_environment({"GOVFLOW_SMTP_HOST": "mail", "GOVFLOW_SMTP_PASSWORD_FILE": str(secret)})
    assert found.password == PASSWORD
    assert PASSWORD not in repr(found)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"EMAIL_URL": "smtp://m", "GOVFLOW_SMTP_HOST": "m"}, "not both"),
        ({"EMAIL_URL": "imap://u:secret@m"}, "unknown scheme"),
        ({"EMAIL_URL": "smtps://m?tls=1"}, "cannot both be on"),
        ({"EMAIL_URL": "smtp://u:secret@m:port"}, "port"),
        ({"EMAIL_URL": "smtp://"}, "no mail server host"),
        ({"GOVFLOW_SMTP_USER": "u"}, "GOVFLOW_SMTP_HOST must be set"),
        ({"GOVFLOW_SMTP_HOST": "m", "GOVFLOW_SMTP_TLS": "maybe"}, "starttls, ssl or none"),
        ({"GOVFLOW_SMTP_HOST": "m", "GOVFLOW_SMTP_PORT": "99999"}, "out of range"),
        ({"GOVFLOW_SMTP_HOST": "m", "GOVFLOW_SMTP_PASSWORD_FILE": "/nonexistent/x"}, "cannot be read"),
    ],
)
def test_a_wrong_setting_stops_the_start_with_a_message_but_no_password(environ, message):
    with pytest.raises(ImproperlyConfigured) as caught:
        mail_from_environment(environ)
    assert message in str(caught.value)
    assert "secret" not in str(caught.value)


# -- a real SMTP server -------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes, object]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content, session.auth_data))
        return "250 OK"


def _login(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False, auth_data=auth_data.login.decode() if ok else None)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "smtp.pem", tmp_path / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def smtp_server(tmp_path, monkeypatch):
    """Start an aiosmtpd server: mode 'plain', 'starttls' or 'ssl'. The
    client trusts its self-signed certificate (SSL_CERT_FILE) and nothing else."""
    started: list[Controller] = []
    cert, key = _certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))

    def start(mode: str) -> tuple[Inbox, int]:
        inbox, port = Inbox(), _free_port()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        options = {"plain": {}, "starttls": {"tls_context": context, "require_starttls": True}}.get(
            mode, {"ssl_context": context}
        )
        controller = Controller(
            inbox,
            hostname="127.0.0.1",
            port=port,
            authenticator=_login,
            # aiosmtpd does not see implicit TLS (smtps) as TLS; STARTTLS is required before AUTH.
            auth_require_tls=mode == "starttls",
            **options,
        )
        controller.start()
        started.append(controller)
        return inbox, port

    yield start
    for controller in started:
        controller.stop()


def _use(settings, found: Mail) -> None:
    settings.EMAIL_BACKEND = found.backend
    settings.EMAIL_HOST = found.host
    settings.EMAIL_PORT = found.port
    settings.EMAIL_HOST_USER = found.user
    settings.EMAIL_HOST_PASSWORD = found.password
    settings.EMAIL_USE_TLS = found.starttls
    settings.EMAIL_USE_SSL = found.ssl
    settings.EMAIL_TIMEOUT = found.timeout


@pytest.mark.parametrize(
    ("mode", "environ"),
    [
        ("plain", lambda port: {"EMAIL_URL": f"smtp://{QUOTED}@127.0.0.1:{port}"}),
        ("starttls", lambda port: {"EMAIL_URL": f"submission://{QUOTED}@127.0.0.1:{port}"}),
        ("ssl", lambda port: {"EMAIL_URL": f"smtps://{QUOTED}@127.0.0.1:{port}"}),
        (
            "starttls",
            lambda port: {
                "GOVFLOW_SMTP_HOST": "127.0.0.1",
                "GOVFLOW_SMTP_PORT": str(port),
                "GOVFLOW_SMTP_TLS": "starttls",
                "GOVFLOW_SMTP_USER": USER,
                "GOVFLOW_SMTP_PASSWORD": PASSWORD,
            },
        ),
    ],
    ids=["smtp", "submission", "smtps", "parts-starttls"],
)
def test_mail_reaches_the_configured_server(smtp_server, settings, mode, environ):
    inbox, port = smtp_server(mode)
    _use(settings, mail_from_environment(environ(port)))

    sent = mail.send_mail("受理通知", "您的申请已受理。", "govflow@example.gov.cn", ["applicant@example.cn"])

    assert sent == 1
    ((sender, recipients, content, login),) = inbox.messages
    assert (sender, recipients, login) == ("govflow@example.gov.cn", ["applicant@example.cn"], USER)
    assert b"Subject: =?utf-8?" in content


def test_a_wrong_password_or_an_untrusted_certificate_fails(smtp_server, settings, monkeypatch, tmp_path):
    inbox, port = smtp_server("starttls")
    _use(settings, mail_from_environment({"EMAIL_URL": f"submission://{USER}:wrong@127.0.0.1:{port}"}))
    with pytest.raises(Exception, match=r"535|uthentication"):
        mail.send_mail("s", "b", "govflow@example.gov.cn", ["a@example.cn"])
    (tmp_path / "other").mkdir()
    monkeypatch.setenv("SSL_CERT_FILE", str(_certificate(tmp_path / "other")[0]))
    _use(settings, mail_from_environment({"EMAIL_URL": f"submission://{QUOTED}@127.0.0.1:{port}"}))
    with pytest.raises(ssl.SSLError):
        mail.send_mail("s", "b", "govflow@example.gov.cn", ["a@example.cn"])
    assert inbox.messages == []


@pytest.fixture
def production_environment(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "GOVFLOW_", "DATABASE_URL", "REDIS_URL", "EMAIL_URL"))
    }
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        DJANGO_ALLOWED_HOSTS="example.gov.cn",
        GOVFLOW_VAR_DIR=str(tmp_path),
        GOVFLOW_DATA_KEYS=generate_key(),
        GOVFLOW_DATA_HMAC_KEY=generate_key(),
        GOVFLOW_MAIL_FROM="政务服务平台 <noreply@example.gov.cn>",
    )
    return env


def _manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args, "--settings=govflow.settings.production"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_production_sends_through_the_server_its_environment_names(smtp_server, production_environment):
    inbox, port = smtp_server("plain")
    production_environment["EMAIL_URL"] = f"smtp://{QUOTED}@127.0.0.1:{port}"

    result = _manage(production_environment, "sendtestemail", "admin@example.gov.cn")

    assert result.returncode == 0, result.stderr
    ((sender, recipients, _content, login),) = inbox.messages
    assert (sender, recipients, login) == ("noreply@example.gov.cn", ["admin@example.gov.cn"], USER)


@pytest.mark.slow
def test_check_deploy_warns_when_no_mail_server_is_configured(production_environment):
    result = _manage(production_environment, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "govflow.W401" in result.stderr + result.stdout
    production_environment["GOVFLOW_SMTP_HOST"] = "mail.example.gov.cn"
    result = _manage(production_environment, "check", "--deploy", "--fail-level", "WARNING")
    assert "govflow.W401" not in result.stderr + result.stdout
