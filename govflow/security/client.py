"""The client's address, the one definition every caller uses: the audit
trail's source IP, the login lockout, rate limits."""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's address. Behind GOVFLOW_TRUSTED_PROXY_COUNT reverse
    proxies (each appending to X-Forwarded-For) it is the address the nearest
    trusted proxy saw; a client cannot choose it by sending the header
    itself. With no proxy configured it is REMOTE_ADDR."""
    remote = _valid_ip(request.META.get("REMOTE_ADDR") or "")
    hops = int(getattr(settings, "GOVFLOW_TRUSTED_PROXY_COUNT", 0) or 0)
    if hops <= 0:
        return remote
    forwarded = [part for part in (request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",") if part.strip()]
    if len(forwarded) < hops:
        return remote
    return _valid_ip(forwarded[-hops]) or remote
