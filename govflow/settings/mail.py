"""The mail server, from the environment (docs/deploy.md, "Mail").

Either one URL:

    EMAIL_URL=smtp://user:password@mail.example.gov.cn:25          plain SMTP (add ?tls=1 for STARTTLS)
    EMAIL_URL=submission://user:password@mail.example.gov.cn       STARTTLS, port 587 unless given
    EMAIL_URL=smtps://user:password@mail.example.gov.cn            TLS from the start, port 465 unless given
    EMAIL_URL=console://                                           print mail (no server)
    EMAIL_URL=dummy://                                             send nothing

(user and password percent-encoded; `?timeout=SECONDS`, default 10), or
the same in parts: GOVFLOW_SMTP_HOST, GOVFLOW_SMTP_PORT, GOVFLOW_SMTP_USER,
GOVFLOW_SMTP_PASSWORD (or GOVFLOW_SMTP_PASSWORD_FILE, a file holding it, as
container secrets are mounted), GOVFLOW_SMTP_TLS (`starttls`, `ssl` or
`none`; `true` means starttls) and GOVFLOW_SMTP_TIMEOUT. Setting both ways
at once is an error, as is anything that does not parse; the messages never
repeat a password. Without either, mail goes to localhost:25 with no TLS
(`configured` is False: production's `check --deploy` warns, govflow.W401).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
# scheme: (STARTTLS, implicit TLS, default port)
SCHEMES = {
    "smtp": (False, False, 25),
    "submission": (True, False, 587),
    "smtp+tls": (True, False, 587),
    "smtp+starttls": (True, False, 587),
    "smtps": (False, True, 465),
    "smtp+ssl": (False, True, 465),
}
TLS_MODES = {
    "starttls": (True, False),
    "true": (True, False),
    "yes": (True, False),
    "1": (True, False),
    "ssl": (False, True),
    "tls": (False, True),
    "none": (False, False),
    "false": (False, False),
    "no": (False, False),
    "0": (False, False),
}
DEFAULT_TIMEOUT = 10.0
TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Mail:
    backend: str = SMTP_BACKEND
    host: str = "localhost"
    port: int = 25
    user: str = ""
    password: str = ""
    starttls: bool = False
    ssl: bool = False
    timeout: float = DEFAULT_TIMEOUT
    configured: bool = False

    def __repr__(self) -> str:  # never the password
        return (
            f"Mail(backend={self.backend!r}, host={self.host!r}, port={self.port}, user={self.user!r}, "
            f"starttls={self.starttls}, ssl={self.ssl}, timeout={self.timeout}, configured={self.configured})"
        )


def _number(name: str, value: str, kind=int):
    try:
        number = kind(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None
    if number <= 0 or (kind is int and number > 65535):
        raise ImproperlyConfigured(f"{name} is out of range: {value!r}")
    return number


def from_url(url: str) -> Mail:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme in BACKENDS:
        return Mail(backend=BACKENDS[scheme], configured=True)
    if scheme not in SCHEMES:
        known = ", ".join([*SCHEMES, *BACKENDS])
        raise ImproperlyConfigured(f"EMAIL_URL: unknown scheme {scheme!r}; use one of {known}")
    starttls, ssl, default_port = SCHEMES[scheme]
    query = {key.lower(): values[-1] for key, values in parse_qs(parts.query).items()}
    if query.get("tls", "").lower() in TRUE or query.get("starttls", "").lower() in TRUE:
        starttls = True
    if query.get("ssl", "").lower() in TRUE:
        ssl = True
    if starttls and ssl:
        raise ImproperlyConfigured("EMAIL_URL: STARTTLS and implicit TLS (ssl) cannot both be on")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("EMAIL_URL: the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL names no mail server host")
    timeout = query.get("timeout")
    return Mail(
        host=parts.hostname,
        port=port or default_port,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        starttls=starttls,
        ssl=ssl,
        timeout=_number("EMAIL_URL timeout", timeout, float) if timeout else DEFAULT_TIMEOUT,
        configured=True,
    )


def from_parts(environ: Mapping[str, str]) -> Mail:
    host = environ.get("GOVFLOW_SMTP_HOST", "").strip()
    tls = environ.get("GOVFLOW_SMTP_TLS", "none").strip().lower() or "none"
    if tls not in TLS_MODES:
        raise ImproperlyConfigured(f"GOVFLOW_SMTP_TLS must be starttls, ssl or none, not {tls!r}")
    starttls, ssl = TLS_MODES[tls]
    password = environ.get("GOVFLOW_SMTP_PASSWORD", "")
    password_file = environ.get("GOVFLOW_SMTP_PASSWORD_FILE", "").strip()
    if password and password_file:
        raise ImproperlyConfigured("set GOVFLOW_SMTP_PASSWORD or GOVFLOW_SMTP_PASSWORD_FILE, not both")
    if password_file:
        try:
            password = Path(password_file).read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise ImproperlyConfigured(f"GOVFLOW_SMTP_PASSWORD_FILE cannot be read: {exc.strerror}") from None
    port = environ.get("GOVFLOW_SMTP_PORT", "").strip()
    timeout = environ.get("GOVFLOW_SMTP_TIMEOUT", "").strip()
    return Mail(
        host=host,
        port=_number("GOVFLOW_SMTP_PORT", port) if port else 465 if ssl else 587 if starttls else 25,
        user=environ.get("GOVFLOW_SMTP_USER", ""),
        password=password,
        starttls=starttls,
        ssl=ssl,
        timeout=_number("GOVFLOW_SMTP_TIMEOUT", timeout, float) if timeout else DEFAULT_TIMEOUT,
        configured=True,
    )


def mail_from_environment(environ: Mapping[str, str]) -> Mail:
    """The mail settings `environ` asks for (see the module's docstring)."""
    url = environ.get("EMAIL_URL", "").strip()
    parts = sorted(name for name in environ if name.startswith("GOVFLOW_SMTP_") and environ[name].strip())
    if url and parts:
        raise ImproperlyConfigured(f"set EMAIL_URL or GOVFLOW_SMTP_*, not both (found {', '.join(parts)})")
    if url:
        return from_url(url)
    if parts:
        if not environ.get("GOVFLOW_SMTP_HOST", "").strip():
            raise ImproperlyConfigured(f"GOVFLOW_SMTP_HOST must be set with {', '.join(parts)}")
        return from_parts(environ)
    return Mail()


def mail_deploy_check(app_configs=None, **kwargs):
    """govflow.W401 (`check --deploy`): no mail server was configured."""
    from django.conf import settings  # noqa: PLC0415 - settings module: Django is imported only when the check runs
    from django.core.checks import Warning  # noqa: PLC0415 - settings module: Django is imported only when the check runs

    if getattr(settings, "GOVFLOW_MAIL_CONFIGURED", True):
        return []
    return [
        Warning(
            "no mail server is configured: notifications go to an SMTP server on localhost:25",
            hint="Set EMAIL_URL (smtps://user:password@host) or GOVFLOW_SMTP_HOST and its companions "
            "(docs/deploy.md, 'Mail'), or EMAIL_URL=smtp://localhost:25 if a local relay is intended.",
            id="govflow.W401",
        )
    ]
