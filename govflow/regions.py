"""The administrative regions (districts) cases are filed in, from
fixtures/regions.yaml: each one's code (a case's `region_code`), full name,
other names an address may use, and the full names of its authorities by
department (certificates and letters print them: govflow.certificates
.authorities). Reference data, read by the service-task checks of an
address (govflow.processes.handlers) as by the certificates; it imports
nothing of the apps. An unknown region code is an error, never a guess.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from ruamel.yaml import YAML

from govflow.errors import InvalidInput

REGION_FIELD = "region_code"


class UnknownRegion(InvalidInput):
    code = "unknown_region"


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    authorities: dict[str, str]
    aliases: tuple[str, ...] = ()

    @property
    def city(self) -> str:
        """北京市朝阳区 -> 北京市 (the part up to the first 市)."""
        index = self.name.find("市")
        return self.name[: index + 1] if index >= 0 else ""

    @property
    def district(self) -> str:
        return self.name[len(self.city) :]

    def contains(self, address: str) -> bool:
        """Does `address` lie in this district, by its words? It must name
        the district (or an alias) and no other city before it."""
        text = "".join(address.split())
        for name in (self.district, *self.aliases):
            index = text.find(name) if name else -1
            if index < 0:
                continue
            before = text[:index]
            # Another city named before the district: not this one.
            return not (self.city and "市" in before and self.city not in before)
        return False


def regions_path() -> Path:
    return Path(settings.GOVFLOW_FIXTURES_DIR) / "regions.yaml"


@functools.cache
def _load(path: str) -> dict[str, Region]:
    data = YAML(typ="safe", pure=True).load(Path(path).read_text(encoding="utf-8")) or {}
    return {
        str(code): Region(
            str(code),
            str(entry["name"]),
            dict(entry.get("authorities") or {}),
            tuple(str(a) for a in entry.get("aliases") or ()),
        )
        for code, entry in (data.get("regions") or {}).items()
    }


def regions() -> dict[str, Region]:
    return _load(str(regions_path()))


def region_get(code: str) -> Region:
    found = regions().get(str(code))
    if found is None:
        raise UnknownRegion(
            f"unknown region code {code!r}: add it with its name to {regions_path().name}",
            fields={REGION_FIELD: [f"unknown region code {code!r}"]},
        )
    return found
