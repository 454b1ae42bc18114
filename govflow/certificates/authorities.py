"""Who issues a certificate, by full name: the department of the case's
district (北京市朝阳区市场监督管理局), from the regions of fixtures/regions.yaml
(govflow.regions).

A business licence's 登记机关 and seal must carry the registering
authority's full name with its district; a bare 市场监督管理局 names no
authority at all. An unknown region code is an error, never a guess.
"""

from __future__ import annotations

from typing import Any

from govflow.regions import region_get


def authority_name(department: Any, region_code: str | None) -> str:
    """The issuing authority's full name: the region's own name for this
    department if the table gives one, else district + department; the
    department's bare name only when the case has no region at all."""
    if not region_code:
        return department.name_zh
    region = region_get(region_code)
    return region.authorities.get(department.code) or f"{region.name}{department.name_zh}"
