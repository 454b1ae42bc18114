"""Settings shared by every run mode. Everything that differs between
deployments is read from the environment (see README.md, "Configuration")."""

import contextlib
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .mail import mail_from_environment
from .storage import storages_from_environment

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("GOVFLOW_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_fsm",
    # Login lockout; before govflow.audit so its failed-login handler runs
    # first and the audit event sees whether the attempt locked the account.
    "govflow.security.apps.AxesConfig",  # django-axes, named in the reader's language
    "govflow.accounts",
    "govflow.timers",
    "govflow.processes",
    "govflow.cases",
    "govflow.audit",
    "govflow.outbox",
    "django_htmx",
    "govflow.web",
    "govflow.incidents",
    "govflow.notifications",
    "govflow.certificates",
    "govflow.letters",
    "govflow.api",
    "govflow.webhooks",
    "govflow.insight",
    "govflow.bpmn",
    "govflow.catalog",
    "govflow.ratings",
    "govflow.collab",
    "govflow.credit",
    "govflow.commitments",
    "govflow.notices",
    "django_prometheus",
]

MIDDLEWARE = [
    # Request counts and latencies for /metrics (django-prometheus): first and last.
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    # HEAD answered wherever GET is (before CommonMiddleware sets Content-Length).
    "govflow.web.middleware.HeadAsGetMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # CSP, Permissions-Policy, no-store for logged-in pages, sandboxed downloads.
    "govflow.security.headers.SecurityHeadersMiddleware",
    # Serves /static/ from gunicorn in production (hashed, compressed files).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Chinese unless the user chose English (cookie); see govflow.web.middleware.
    "govflow.web.middleware.DefaultLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # NUL and invisible characters in the address, filters and posted fields:
    # 404/400, never a 500 (after CSRF, so a forged post is refused as such).
    "govflow.security.input.InputCharactersMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The source IP and acting user of audit events written in the request.
    "govflow.audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "govflow.web.middleware.GovflowErrorMiddleware",
    # Turns a locked-out login into the lockout page (django-axes: last but metrics).
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "govflow.urls"
WSGI_APPLICATION = "govflow.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "govflow.web.context.navigation",
                "govflow.notifications.context.unread",
                "govflow.audit.context_processors.auditor",
                "govflow.web.calendar_context.calendar_warnings",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'govflow.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
# DATABASE_URL names PgBouncer in transaction mode (docs/deploy.md, "PgBouncer"):
# consecutive transactions of one connection may run on different server
# connections, so nothing may outlive a transaction: no statement prepared
# on the server (unless PgBouncer 1.21+ tracks them, max_prepared_statements,
# and DATABASE_PREPARE_THRESHOLD says so), no cursor held open across
# transactions (Django's .iterator() outside atomic() declares WITH HOLD
# cursors), no session-level advisory lock (the outbox's attempt lock: Celery
# workers refuse to start with this set, govflow.celery).
DATABASE_TRANSACTION_POOLING = env_bool("DATABASE_TRANSACTION_POOLING", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # psycopg prepares a statement on the server after it has run this many
    # times on a connection. Django's own cursors bind on the client and are
    # never prepared; the hot path's fixed statements use server-binding
    # cursors (govflow.rawsql.cursor) and so are planned once per connection.
    # 0 turns it off: the default behind a transaction-mode pool.
    _threshold = int(
        os.environ.get("DATABASE_PREPARE_THRESHOLD") or ("0" if DATABASE_TRANSACTION_POOLING else "5")
    )
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = _threshold or None
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = DATABASE_TRANSACTION_POOLING
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and a busy timeout let the web process, the worker and beat share
    # one SQLite file in the embedded default.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # Refuses a locked-out account before its password is tried (django-axes).
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
MEDIA_ROOT = Path(os.environ.get("GOVFLOW_MEDIA_ROOT", VAR_DIR / "media"))
# Files: local folders (MEDIA_ROOT, GOVFLOW_CERTIFICATES_DIR) unless
# GOVFLOW_S3_BUCKET and its companions name an S3 bucket (govflow.settings.storage;
# docs/deploy.md, "Files: object storage").
STORAGES = storages_from_environment(os.environ)
# Stored files no row names are deleted by the daily sweep once this old.
GOVFLOW_ORPHAN_FILE_GRACE_HOURS = float(os.environ.get("GOVFLOW_ORPHAN_FILE_GRACE_HOURS", "24"))

# Celery. Production sets REDIS_URL (or CELERY_BROKER_URL); without either the
# embedded default uses kombu's filesystem transport, which needs no server.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = (
    os.environ.get("CELERY_BROKER_URL") or os.environ.get("REDIS_URL") or "filesystem://localhost//"
)
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
# visibility_timeout: a message a worker took but never acknowledged (the
# whole worker died; acks_late) is handed out again after this many seconds;
# keep it above the longest task. The outbox sweeper recovers such work
# sooner. max_retries/socket_connect_timeout: publishing fails fast while
# Redis is down (the outbox row waits for the sweeper) rather than holding a
# request for seconds.
REDIS_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
    "max_retries": 0,
    "socket_connect_timeout": 2,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):
        with contextlib.suppress(OSError):  # a read-only checkout: the worker reports it when it starts
            (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = REDIS_TRANSPORT_OPTIONS
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Bounded redelivery of outbox rows: after this many attempts (backing off
# base, 2 x base, 4 x base ... seconds between them) a row is given up and
# an incident opened for an admin (govflow.incidents).
GOVFLOW_OUTBOX_MAX_ATTEMPTS = int(os.environ.get("GOVFLOW_OUTBOX_MAX_ATTEMPTS", "5"))
GOVFLOW_OUTBOX_RETRY_BASE_SECONDS = float(os.environ.get("GOVFLOW_OUTBOX_RETRY_BASE_SECONDS", "2"))
# Who publishes committed outbox rows to the broker: "relay" (the outbox
# relay role, `manage.py outbox_relay`: no request waits on the broker) or
# "request" (the committing process, after commit; no relay to run).
GOVFLOW_OUTBOX_PUBLISH = os.environ.get("GOVFLOW_OUTBOX_PUBLISH", "relay").strip().lower()
if GOVFLOW_OUTBOX_PUBLISH not in ("relay", "request"):
    raise ImproperlyConfigured('GOVFLOW_OUTBOX_PUBLISH must be "relay" or "request"')

# Where the process templates, the calendar and the demo data live.
GOVFLOW_WORKFLOWS_DIR = BASE_DIR / "workflows"
GOVFLOW_FIXTURES_DIR = BASE_DIR / "fixtures"
GOVFLOW_DEFAULT_CALENDAR = "cn"
# Administrators are warned (console and admin banner, weekly e-mail,
# `check_calendar`, /metrics) when the loaded working-day calendar ends within
# this many days: next year's State Council notice must be loaded before then.
GOVFLOW_CALENDAR_WARNING_DAYS = int(os.environ.get("GOVFLOW_CALENDAR_WARNING_DAYS", "60"))
GOVFLOW_PUBLIC_BASE_URL = os.environ.get("GOVFLOW_PUBLIC_BASE_URL", "http://127.0.0.1:8000")
# /metrics: a bearer token, or a client address in these networks (not via a proxy).
GOVFLOW_METRICS_TOKEN = os.environ.get("GOVFLOW_METRICS_TOKEN", "")
GOVFLOW_METRICS_ALLOWED_NETWORKS = env_list("GOVFLOW_METRICS_ALLOWED_NETWORKS", ["127.0.0.1/32", "::1/128"])
# Certificates: the departments' signing keys (never committed; `manage.py
# certificate_keys` creates them) and the issued PDFs, kept outside
# MEDIA_ROOT so that no URL serves them without a permission check.
GOVFLOW_KEYS_DIR = Path(os.environ.get("GOVFLOW_KEYS_DIR", VAR_DIR / "keys"))
GOVFLOW_CERTIFICATES_DIR = Path(os.environ.get("GOVFLOW_CERTIFICATES_DIR", VAR_DIR / "certificates"))
GOVFLOW_CERTIFICATE_RENDER_TIMEOUT = float(os.environ.get("GOVFLOW_CERTIFICATE_RENDER_TIMEOUT", "30"))

# Mail: EMAIL_URL, or GOVFLOW_SMTP_HOST and its companions (govflow.settings.mail;
# docs/deploy.md, "Mail"). Without either, production sends to localhost:25 and
# `check --deploy` warns (govflow.W401); the embedded default prints mail.
_mail = mail_from_environment(os.environ)
EMAIL_BACKEND = _mail.backend
EMAIL_HOST = _mail.host
EMAIL_PORT = _mail.port
EMAIL_HOST_USER = _mail.user
EMAIL_HOST_PASSWORD = _mail.password
EMAIL_USE_TLS = _mail.starttls
EMAIL_USE_SSL = _mail.ssl
EMAIL_TIMEOUT = _mail.timeout
GOVFLOW_MAIL_CONFIGURED = _mail.configured
# SMS (govflow.notifications.sms; docs/deploy.md, "SMS"): without a URL each
# SMS is written to the log.
GOVFLOW_SMS_URL = os.environ.get("GOVFLOW_SMS_URL", "").strip()
GOVFLOW_SMS_TOKEN = (
    Path(os.environ["GOVFLOW_SMS_TOKEN_FILE"]).read_text(encoding="utf-8").strip()
    if os.environ.get("GOVFLOW_SMS_TOKEN_FILE")
    else os.environ.get("GOVFLOW_SMS_TOKEN", "")
)
GOVFLOW_SMS_SIGNATURE = os.environ.get("GOVFLOW_SMS_SIGNATURE", "【政务服务】")
GOVFLOW_SMS_TIMEOUT = float(os.environ.get("GOVFLOW_SMS_TIMEOUT", "5"))
DEFAULT_FROM_EMAIL = SERVER_EMAIL = os.environ.get("GOVFLOW_MAIL_FROM", "").strip() or "govflow@localhost"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
CSRF_FAILURE_VIEW = "govflow.web.views.errors.csrf_failure"
# Uploads larger than this go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The most attachments one case may hold across all its slots.
GOVFLOW_MAX_ATTACHMENTS_PER_CASE = 100
# 信用: a commitment found false keeps its applicant from 容缺 and 告知承诺
# for this many days (govflow.credit.selectors).
GOVFLOW_CREDIT_RECORD_DAYS = int(os.environ.get("GOVFLOW_CREDIT_RECORD_DAYS", "1095"))

# The REST API (govflow/api, docs/api.md). Token first: an unauthenticated
# call gets 401 with WWW-Authenticate; the browser's session works too, with
# CSRF on unsafe methods. Throttle rates are per user (per address when
# anonymous) and may be raised by the environment.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "govflow.api.authentication.TokenAuthentication",
        "govflow.api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": [
        "govflow.api.throttling.UserThrottle",
        "govflow.api.throttling.AnonymousThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": os.environ.get("GOVFLOW_API_RATE_USER", "600/minute"),
        "anon": os.environ.get("GOVFLOW_API_RATE_ANON", "60/minute"),
    },
    "DEFAULT_PAGINATION_CLASS": "govflow.api.pagination.PagePagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "govflow.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "govflow API",
    "DESCRIPTION": "See docs/api.md. Every error has the shape "
    '{"error": {"code": ..., "message": ..., "fields": {...}}}.',
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from our own static files (drf-spectacular-sidecar), never a
    # CDN: government networks are often closed, and the CSP allows 'self' only.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # <id:...> path segments (govflow.converters): a number up to 2**63 - 1.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}},
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "govflow.cases.models.CaseStatus",
        "TaskStatusEnum": "govflow.cases.models.TaskStatus",
        "TaskKindEnum": "govflow.cases.models.TaskKind",
        "OutcomeEnum": "govflow.api.serializers.DECISIONS",
        "NoticeItemKindEnum": "govflow.engine.notices.NOTICE_KINDS",
        "CalendarDayKindEnum": ["holiday", "workday"],
        "BundleItemStatusEnum": "govflow.cases.bundles.ITEM_STATUSES",
        "BundleOutcomeEnum": "govflow.cases.bundles.BUNDLE_OUTCOMES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "govflow.api.schema.document_errors",
        # The character rule of govflow.engine.text on every request string.
        "govflow.api.schema_text.document_text_rule",
        # Which response gives the identifier another operation takes.
        "govflow.api.schema_links.document_links",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            # Masks ID and mobile numbers in every line (govflow.security.reporting).
            "()": "govflow.security.reporting.RedactingFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("GOVFLOW_LOG_LEVEL", "INFO")},
}

# -- audit, personal data and hardening (docs/security.md) ---------------------
# Error reports (debug page, mails to ADMINS) show no POST value or local variable.
DEFAULT_EXCEPTION_REPORTER_FILTER = "govflow.security.reporting.PersonalDataReporterFilter"
# Reverse proxies in front of the app that append to X-Forwarded-For; the
# client address in the audit trail, the lockout and rate limits is the one
# the nearest of them saw. 0: use the connection's address.
GOVFLOW_TRUSTED_PROXY_COUNT = int(os.environ.get("GOVFLOW_TRUSTED_PROXY_COUNT", "0"))
# Refuse an audit event whose action is not in govflow.audit.actions.Action
# (a typo would start a kind of event nobody searches for). On in DEBUG and
# in the tests; off in production, where the event is worth more than the check.
GOVFLOW_AUDIT_KNOWN_ACTIONS_ONLY = env_bool("GOVFLOW_AUDIT_KNOWN_ACTIONS_ONLY", DEBUG)
# The audit trail's chains (partitions), each with its own head: an event
# about a case goes to chain case-id mod N, one without a case to chain 0.
# Appends to different chains commit in parallel. Changing N needs no
# migration: each event keeps the chain it was written to (docs/audit.md).
GOVFLOW_AUDIT_CHAINS = max(1, int(os.environ.get("GOVFLOW_AUDIT_CHAINS", "8")))
# Login lockout (django-axes, database handler): an account, and a client
# address, is locked after AXES_FAILURE_LIMIT failures. Logins are serialised
# per user name (govflow.security.login): parallel attempts cannot overrun it.
AXES_FAILURE_LIMIT = int(os.environ.get("GOVFLOW_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("GOVFLOW_LOGIN_LOCKOUT_MINUTES", "30")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "govflow.security.login.lockout_response"
AXES_CLIENT_IP_CALLABLE = "govflow.security.login.axes_client_ip"
AXES_VERBOSE = False
# Rate limits (govflow.security.ratelimit), per user or per client address,
# counted in the cache (Redis in production).
GOVFLOW_RATE_LIMITS_ENABLED = env_bool("GOVFLOW_RATE_LIMITS_ENABLED", True)
GOVFLOW_RATE_LIMITS = {
    "login": os.environ.get("GOVFLOW_RATE_LOGIN", "20/m"),
    "apply": os.environ.get("GOVFLOW_RATE_APPLY", "30/h"),
    "submit": os.environ.get("GOVFLOW_RATE_SUBMIT", "10/m"),
    "upload": os.environ.get("GOVFLOW_RATE_UPLOAD", "60/m"),
    "verify": os.environ.get("GOVFLOW_RATE_VERIFY", "30/m"),
}
# Retention of closed cases' attachments and secret field values, in days
# after the case closed (unset: kept); `manage.py purge_retention` applies it.
GOVFLOW_RETENTION_ATTACHMENTS_DAYS = int(os.environ.get("GOVFLOW_RETENTION_ATTACHMENTS_DAYS") or 0) or None
GOVFLOW_RETENTION_SECRETS_DAYS = int(os.environ.get("GOVFLOW_RETENTION_SECRETS_DAYS") or 0) or None
# Secret form values are encrypted in the database (govflow.security.crypto):
# the keys, current first, then old ones still read; and the lookup hash's key.
GOVFLOW_DATA_KEYS = env_list("GOVFLOW_DATA_KEYS", [])
GOVFLOW_DATA_HMAC_KEY = os.environ.get("GOVFLOW_DATA_HMAC_KEY", "")
# Uploaded archives (zip, docx, xlsx) and images: limits against bombs.
GOVFLOW_ARCHIVE_MAX_ENTRIES = 1000
GOVFLOW_ARCHIVE_MAX_UNPACKED_MB = 100
GOVFLOW_ARCHIVE_MAX_RATIO = 100
GOVFLOW_IMAGE_MAX_PIXELS = 100_000_000
# PDFs, images and doc/xls files are opened with real parsers (qpdf, Pillow,
# olefile) in a child process per file, forked by a resident inspection server,
# with these limits (govflow.security.inspector);
# a file that exceeds them is refused. Bytes allowed after a PDF's last %%EOF.
GOVFLOW_UPLOAD_CHECK_MEMORY_MB = int(os.environ.get("GOVFLOW_UPLOAD_CHECK_MEMORY_MB", "1024"))
GOVFLOW_UPLOAD_CHECK_SECONDS = int(os.environ.get("GOVFLOW_UPLOAD_CHECK_SECONDS", "30"))
GOVFLOW_PDF_MAX_TRAILING_BYTES = 1024
# Webhook targets inside the network (loopback, private, link-local, CGNAT...)
# are refused when saved and at every delivery (govflow.webhooks.targets),
# except these host names, addresses or CIDR networks, comma-separated.
# Cloud metadata addresses are refused even when listed.
GOVFLOW_WEBHOOK_ALLOWED_HOSTS = env_list("GOVFLOW_WEBHOOK_ALLOWED_HOSTS", [])
