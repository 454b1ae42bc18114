"""Read side of the webhook admin pages. The pages are for process admins
(govflow.accounts.permissions.user_roles); these queries add no permission rule."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from govflow.accounts.models import Department
from govflow.errors import NotFound

from .models import KIND_CODES, Delivery, DeliveryStatus, Endpoint

PAGE_SIZE = 50


def endpoints_for_admin() -> QuerySet[Endpoint]:
    return (
        Endpoint.objects.select_related("department", "created_by")
        .annotate(
            pending_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
            failed_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        )
        .order_by("-is_active", "name", "pk")
    )


def endpoint_get_for_admin(*, endpoint_id: int) -> Endpoint:
    endpoint = Endpoint.objects.select_related("department", "created_by").filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("webhook endpoint not found")
    return endpoint


def department_choices(*, language: str = "zh") -> list[tuple[str, str]]:
    return [
        (d.code, d.name(language))
        for d in Department.objects.filter(is_active=True).order_by("code").only("code", "name_zh", "name_en")
    ]


@dataclass(frozen=True)
class DeliveryPage:
    rows: list[Delivery]
    page: int
    has_next: bool


def deliveries_for_admin(
    *, status: str = "", endpoint_id: int | None = None, kind: str = "", page: int = 1
) -> DeliveryPage:
    qs = Delivery.objects.select_related("endpoint", "case").defer("body").order_by("-created_at", "-pk")
    if status in DeliveryStatus.values:
        qs = qs.filter(status=status)
    if endpoint_id is not None:
        qs = qs.filter(endpoint_id=endpoint_id)
    if kind in KIND_CODES:
        qs = qs.filter(kind=kind)
    page = max(1, page)
    start = (page - 1) * PAGE_SIZE
    rows = list(qs[start : start + PAGE_SIZE + 1])
    return DeliveryPage(rows=rows[:PAGE_SIZE], page=page, has_next=len(rows) > PAGE_SIZE)


def delivery_get_for_admin(*, delivery_id: int) -> Delivery:
    delivery = Delivery.objects.select_related("endpoint", "case").filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound("webhook delivery not found")
    return delivery
