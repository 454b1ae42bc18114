"""Where webhooks may go: never inside the network unless an admin of the
deployment says so (server-side request forgery).

A target is refused when its host is, or resolves to, an address that is not
globally routable: loopback, private ranges (10/8, 172.16/12, 192.168/16,
fc00::/7), link-local (169.254/16, fe80::/10: the cloud metadata services),
carrier-grade NAT (100.64/10, where Alibaba Cloud's metadata service
lives), unspecified, multicast, reserved and documentation ranges, and the
IPv4 address inside an IPv4-mapped, 6to4, Teredo or NAT64 IPv6 address.
Names such as `localhost` are refused without asking DNS.

GOVFLOW_WEBHOOK_ALLOWED_HOSTS names exceptions for deployments whose
receivers are internal: host names (exact, case-insensitive), addresses or
networks (CIDR). A listed name may resolve to internal addresses; a listed
address or network may be reached whatever name leads to it. The cloud
metadata addresses are refused even then.

The check runs when an endpoint is saved (on the address literal, and on
what the name resolves to now, when it resolves) and again at every
delivery, where the connection goes to the very address that was checked
(`PinnedAdapter`), so a DNS answer that changes between the check and the
connection (DNS rebinding) cannot move it inside. Redirects are never
followed, and proxies from the environment are not used.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Never a webhook receiver, allow-list or not.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, Azure, GCP, OpenStack, Tencent Cloud, Huawei Cloud
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "instance-data", "instance-data.ec2.internal"}
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class TargetRefused(Exception):
    """The target is inside the network; `address` says which address."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} is an internal address ({address})")
        self.host = host
        self.address = address


@dataclass(frozen=True)
class AllowList:
    names: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        names, networks = set(), []
        for entry in entries:
            entry = entry.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                names.add(entry)
        return cls(frozenset(names), tuple(networks))

    def allows_name(self, host: str) -> bool:
        return _normal_host(host) in self.names

    def allows_address(self, address: Address) -> bool:
        return any(address in network for network in self.networks if network.version == address.version)


def allow_list() -> AllowList:
    return AllowList.parse(getattr(settings, "GOVFLOW_WEBHOOK_ALLOWED_HOSTS", ()))


def _normal_host(host: str) -> str:
    return host.strip().lower().rstrip(".").strip("[]")


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_internal(address: Address) -> bool:
    """Whether `address` is anything but a globally routable unicast one."""
    inner = embedded_ipv4(address)
    if inner is not None and is_internal(inner):
        return True
    return (
        not address.is_global
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_private
    )


def check_address(host: str, address: Address, allowed: AllowList) -> None:
    """Raise TargetRefused unless a connection to `address` (reached by the
    name `host`) is permitted."""
    inner = embedded_ipv4(address)
    if address in METADATA_ADDRESSES or (inner is not None and inner in METADATA_ADDRESSES):
        raise TargetRefused(host, str(address))
    if not is_internal(address):
        return
    if allowed.allows_address(address) or (inner is not None and allowed.allows_address(inner)):
        return
    if allowed.allows_name(host):
        return
    raise TargetRefused(host, str(address))


def check_name(host: str, allowed: AllowList) -> None:
    """Refuse names that mean this machine or a metadata service, before DNS."""
    name = _normal_host(host)
    if allowed.allows_name(name):
        return
    if name in LOCAL_NAMES or name.endswith(".localhost") or name in METADATA_NAMES:
        raise TargetRefused(host, name)


def resolve(host: str, port: int) -> list[tuple[int, tuple]]:
    """(family, sockaddr) for every TCP address `host` resolves to; literal
    addresses in any form libc accepts (2130706433, 0x7f.1) included."""
    infos = socket.getaddrinfo(_normal_host(host), port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    seen, found = set(), []
    for family, _type, _proto, _name, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6) and sockaddr not in seen:
            seen.add(sockaddr)
            found.append((family, sockaddr))
    return found


def checked_addresses(host: str, port: int, allowed: AllowList | None = None) -> list[tuple[int, tuple]]:
    """Resolve `host` and check every address; raise TargetRefused if any is
    refused (a name that resolves both outside and inside is refused whole),
    socket.gaierror if it does not resolve."""
    allowed = allowed or allow_list()
    check_name(host, allowed)
    found = resolve(host, port)
    for _family, sockaddr in found:
        check_address(host, ipaddress.ip_address(sockaddr[0].split("%", 1)[0]), allowed)
    return found


def url_problem(url: str) -> str | None:
    """Why an endpoint may not be saved with this URL, or None. A name that
    does not resolve now is accepted: it is checked again at every delivery."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        checked_addresses(host, port)
    except TargetRefused as refused:
        return f"internal address: {refused.address}"
    except (OSError, UnicodeError, ValueError):
        return None
    return None


# -- connecting to the checked address ------------------------------------------


def _pinned_socket(connection) -> socket.socket:
    """Resolve, check, and connect to the checked address itself."""
    try:
        found = checked_addresses(connection.host, connection.port)
    except socket.gaierror as exc:
        raise NewConnectionError(connection, f"cannot resolve {connection.host}: {exc}") from exc
    last: OSError | None = None
    for family, sockaddr in found:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(connection.timeout if isinstance(connection.timeout, (int, float)) else None)
            for option in connection.socket_options or ():
                sock.setsockopt(*option)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    raise NewConnectionError(connection, f"connection to {connection.host} failed: {last}")


class PinnedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _pinned_socket(self)


class PinnedHTTPSConnection(HTTPSConnection):
    # TLS is set up on the returned socket with the URL's host name (SNI and
    # certificate check), so the certificate must still match the name.
    def _new_conn(self) -> socket.socket:
        return _pinned_socket(self)


class PinnedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = PinnedHTTPConnection


class PinnedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = PinnedHTTPSConnection


class PinnedAdapter(HTTPAdapter):
    """A requests adapter whose every connection goes through the check."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": PinnedHTTPConnectionPool,
            "https": PinnedHTTPSConnectionPool,
        }
