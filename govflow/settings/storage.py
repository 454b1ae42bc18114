"""Where files live, from the environment (docs/deploy.md, "Files: object storage").

With GOVFLOW_S3_BUCKET set, attachments, certificate PDFs and every other
stored file go to that bucket of an S3-compatible server (SeaweedFS, MinIO,
a cloud's object storage) through django-storages:

    GOVFLOW_S3_BUCKET              the bucket (created beforehand)
    GOVFLOW_S3_ENDPOINT_URL        e.g. http://seaweedfs:8333 (empty: AWS itself)
    GOVFLOW_S3_ACCESS_KEY          the access key id
    GOVFLOW_S3_SECRET_KEY          the secret (or GOVFLOW_S3_SECRET_KEY_FILE, a file holding it)
    GOVFLOW_S3_REGION              e.g. us-east-1 (default)
    GOVFLOW_S3_PREFIX              a folder inside the bucket for this installation (optional)
    GOVFLOW_S3_ADDRESSING_STYLE    path (default; what SeaweedFS and MinIO expect) or virtual

Objects are private (no ACL, no public URL): every download is streamed
through govflow after its permission check. Without GOVFLOW_S3_BUCKET, files
are local: attachments under MEDIA_ROOT, certificates under
GOVFLOW_CERTIFICATES_DIR (the embedded default, one machine).

Two storages: "default" (attachments and anything else) and
"certificates" (the issued PDFs, under `certificates/` in the bucket).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

S3_BACKEND = "storages.backends.s3.S3Storage"
FILE_BACKEND = "django.core.files.storage.FileSystemStorage"
LOCAL_CERTIFICATES_BACKEND = "govflow.storage.LocalCertificateStorage"
STATICFILES_BACKEND = "django.contrib.staticfiles.storage.StaticFilesStorage"


def _secret(env: Mapping[str, str]) -> str:
    path = env.get("GOVFLOW_S3_SECRET_KEY_FILE", "")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"GOVFLOW_S3_SECRET_KEY_FILE: cannot read {path}: {exc}") from None
    return env.get("GOVFLOW_S3_SECRET_KEY", "")


def s3_options(env: Mapping[str, str], *, location: str = "") -> dict | None:
    """django-storages' S3Storage options, or None when no bucket is set."""
    bucket = env.get("GOVFLOW_S3_BUCKET", "").strip()
    if not bucket:
        return None
    access_key, secret_key = env.get("GOVFLOW_S3_ACCESS_KEY", ""), _secret(env)
    if bool(access_key) != bool(secret_key):
        raise ImproperlyConfigured("GOVFLOW_S3_ACCESS_KEY and GOVFLOW_S3_SECRET_KEY go together")
    style = env.get("GOVFLOW_S3_ADDRESSING_STYLE", "path") or "path"
    if style not in {"path", "virtual"}:
        raise ImproperlyConfigured("GOVFLOW_S3_ADDRESSING_STYLE must be path or virtual")
    prefix = env.get("GOVFLOW_S3_PREFIX", "").strip("/")
    return {
        "bucket_name": bucket,
        "endpoint_url": env.get("GOVFLOW_S3_ENDPOINT_URL") or None,
        "access_key": access_key or None,
        "secret_key": secret_key or None,
        "region_name": env.get("GOVFLOW_S3_REGION") or "us-east-1",
        "addressing_style": style,
        "signature_version": "s3v4",
        "location": "/".join(part for part in (prefix, location) if part),
        # Private objects, never a public or presigned URL from govflow.
        "default_acl": None,
        "querystring_auth": True,
        # Names are unique (uuid, or number and digest): never silently renamed.
        "file_overwrite": False,
    }


def storages_from_environment(
    env: Mapping[str, str], *, staticfiles_backend: str = STATICFILES_BACKEND
) -> dict:
    """The STORAGES setting: "default", "certificates" and "staticfiles".
    The local folders follow MEDIA_ROOT and GOVFLOW_CERTIFICATES_DIR as they
    are when first used (test settings change them)."""
    default = s3_options(env)
    staticfiles = {"BACKEND": staticfiles_backend}
    if default is None:
        return {
            "default": {"BACKEND": FILE_BACKEND},
            "certificates": {"BACKEND": LOCAL_CERTIFICATES_BACKEND},
            "staticfiles": staticfiles,
        }
    return {
        "default": {"BACKEND": S3_BACKEND, "OPTIONS": default},
        "certificates": {"BACKEND": S3_BACKEND, "OPTIONS": s3_options(env, location="certificates")},
        "staticfiles": staticfiles,
    }


def storage_deploy_check(app_configs=None, **kwargs):
    """govflow.W402 (`check --deploy`): files are on this machine's disk."""
    from django.conf import settings  # noqa: PLC0415 - settings module: Django is imported only when the check runs
    from django.core.checks import Warning  # noqa: PLC0415 - settings module: Django is imported only when the check runs

    if settings.STORAGES.get("default", {}).get("BACKEND") == S3_BACKEND:
        return []
    return [
        Warning(
            "attachments and certificates are stored on this machine's disk (MEDIA_ROOT, "
            "GOVFLOW_CERTIFICATES_DIR): other web and worker machines cannot read them",
            hint="Set GOVFLOW_S3_BUCKET and its companions (docs/deploy.md, 'Files: object storage'); "
            "a single machine with backed-up folders may ignore this.",
            id="govflow.W402",
        )
    ]
