"""/api/v1/cases/{reference}/ratings/: the applicant's 好差评 over the API
(one rating per item: the whole service, and each department that handled
the case; see docs/ratings.md)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from govflow.api.fields import BodySerializer, TextField, WholeNumberField
from govflow.api.idempotency import run_once
from govflow.api.schema import idempotency_parameter
from govflow.api.views.base import ApiView
from govflow.cases.selectors import case_get_for_applicant

from .models import Level
from .selectors import case_rateable, rating_items
from .services import MAX_COMMENT, rating_submit

REFERENCE = OpenApiParameter("reference", str, OpenApiParameter.PATH, description="the case reference")


class RatingSerializer(serializers.Serializer):
    level = serializers.IntegerField(help_text="5 very satisfied ... 1 very dissatisfied; 1 and 2 are 差评")
    level_label = serializers.CharField()
    comment = serializers.CharField()
    rated_at = serializers.DateTimeField()
    remediation_status = serializers.CharField(
        allow_null=True, help_text="for a 差评: its remediation's status"
    )


class RatingItemSerializer(serializers.Serializer):
    department = serializers.CharField(
        allow_null=True, help_text="a department code; null: the whole service"
    )
    rating = RatingSerializer(allow_null=True)


class RatingsSerializer(serializers.Serializer):
    rateable = serializers.BooleanField(help_text="true once the case has ended")
    items = RatingItemSerializer(many=True)


class RatingSubmitSerializer(BodySerializer):
    department = TextField(required=False, allow_null=True, allow_blank=True, default=None, max_length=64)
    level = WholeNumberField(
        min_value=min(Level).value,
        max_value=max(Level).value,
        help_text="5 very satisfied ... 1 very dissatisfied; 1 and 2 are 差评",
    )
    comment = TextField(required=False, allow_blank=True, default="", max_length=MAX_COMMENT)


def _rating(rating) -> dict | None:
    if rating is None:
        return None
    remediation = getattr(rating, "remediation", None) if rating.is_poor else None
    return {
        "level": rating.level,
        "level_label": str(rating.get_level_display()),
        "comment": rating.comment,
        "rated_at": rating.rated_at,
        "remediation_status": remediation.status if remediation else None,
    }


def _ratings(case) -> dict:
    return {
        "rateable": case_rateable(case),
        "items": [
            {"department": item.department.code if item.department else None, "rating": _rating(item.rating)}
            for item in rating_items(case)
        ],
    }


class CaseRatings(ApiView):
    @extend_schema(
        tags=["cases"],
        operation_id="case_ratings",
        summary="Your ratings of an ended case (好差评)",
        parameters=[REFERENCE],
        responses={200: RatingsSerializer},
    )
    def get(self, request, reference):
        case = case_get_for_applicant(user=request.user, reference=reference)
        return Response(RatingsSerializer(_ratings(case)).data)

    @extend_schema(
        tags=["cases"],
        operation_id="case_ratings_create",
        summary="Rate the service or one department's item, once each",
        description="Allowed once the case has ended. Levels 1 and 2 are a poor rating (差评): the comment "
        "is required, and the department must remedy it within 15 working days and call the applicant "
        "back. A rating cannot be changed (409 conflict on a second one).",
        parameters=[REFERENCE, idempotency_parameter()],
        request=RatingSubmitSerializer,
        responses={201: RatingsSerializer},
    )
    def post(self, request, reference):
        # Whose case it is first: an outsider learns nothing, not even what a body must hold.
        case = case_get_for_applicant(user=request.user, reference=reference)
        body = RatingSubmitSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        def rate():
            rating_submit(
                case_id=case.pk,
                actor=request.user,
                level=body.validated_data["level"],
                comment=body.validated_data["comment"],
                department=body.validated_data["department"] or None,
            )
            return Response(RatingsSerializer(_ratings(case)).data, status=201)

        return run_once(request, endpoint="case-ratings", action=rate)
