"""容缺受理 and 告知承诺制 over the API: the materials deferred at
acceptance (listed, supplied by the applicant, reviewed by a reviewer of
the case) and the verifications (核查) of the commitments after approval."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from govflow.commitments.selectors import materials_for_case, verifications_for_user
from govflow.commitments.services import material_review, material_supply, verification_decide

from .. import selectors
from ..fields import BodySerializer, IdField
from ..idempotency import run_once
from ..schema import idempotency_parameter
from .base import ActionView, ApiView, action

REFERENCE = OpenApiParameter("reference", str, OpenApiParameter.PATH, description="the case reference")
SLOT = OpenApiParameter("slot", str, OpenApiParameter.PATH, description="the deferred document slot")
ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="the id")


class MaterialSerializer(serializers.Serializer):
    id = IdField()
    slot = serializers.CharField()
    status = serializers.CharField(
        help_text="pending, supplied (awaiting review), accepted, rejected, lapsed or cancelled"
    )
    due_at = serializers.DateTimeField()
    due_provisional = serializers.BooleanField(
        help_text="counted over a calendar year not loaded yet: nothing happens on it until it is exact"
    )
    supplied_at = serializers.DateTimeField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    opinion = serializers.CharField()


class MaterialUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class ReviewSerializer(BodySerializer):
    outcome = serializers.ChoiceField(choices=["accept", "reject"])
    opinion = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class CommitmentVerificationSerializer(serializers.Serializer):
    id = IdField()
    case = serializers.CharField(source="case.reference")
    department = serializers.CharField(source="department.code")
    status = serializers.CharField(help_text="open, confirmed or false")
    opened_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    due_provisional = serializers.BooleanField()
    decided_at = serializers.DateTimeField(allow_null=True)
    opinion = serializers.CharField()


class VerificationDecisionSerializer(BodySerializer):
    outcome = serializers.ChoiceField(
        choices=["confirmed", "false"],
        help_text="false (the head only, with an opinion): the case's certificates are revoked and a "
        "credit record is written",
    )
    opinion = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class CaseMaterials(ApiView):
    @extend_schema(
        tags=["cases"],
        operation_id="case_materials_list",
        summary="The materials accepted as missing (容缺) and their deadlines",
        parameters=[REFERENCE],
        responses={200: MaterialSerializer(many=True)},
    )
    def get(self, request, reference):
        rows = materials_for_case(user=request.user, reference=reference)
        return Response(MaterialSerializer(rows, many=True).data)


class CaseMaterialSupply(ApiView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=["cases"],
        operation_id="case_material_supply",
        summary="Supply a material accepted as missing (容缺), before its deadline",
        description="multipart/form-data with `file`; the slot's type and size limits apply. The "
        "material then awaits a reviewer's acceptance; 409 once the deadline has passed.",
        parameters=[REFERENCE, SLOT, idempotency_parameter()],
        request={"multipart/form-data": MaterialUploadSerializer},
        responses={200: MaterialSerializer},
    )
    def post(self, request, reference, slot):
        case = selectors.case_owned(user=request.user, reference=reference)
        body = MaterialUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        def supply():
            material = material_supply(
                case_id=case.pk,
                actor=request.user,
                slot=slot,
                upload=body.validated_data["file"],
                language=self.lang,
            )
            return Response(MaterialSerializer(material).data)

        return run_once(request, endpoint="material-supply", action=supply)


@action(
    tags=["tasks"],
    operation_id="material_review",
    summary="Accept or reject a supplied material (容缺); a rejection terminates the case",
    parameters=[ID],
)
class MaterialReview(ActionView):
    body, out, endpoint = ReviewSerializer, MaterialSerializer, "material-review"

    def act(self, data, pk):
        return material_review(
            material_id=pk,
            actor=self.request.user,
            accept=data["outcome"] == "accept",
            opinion=data["opinion"],
        )


class VerificationList(ApiView):
    @extend_schema(
        tags=["tasks"],
        operation_id="verifications_list",
        summary="Your departments' open verifications of commitments (告知承诺核查)",
        responses={200: CommitmentVerificationSerializer(many=True)},
    )
    def get(self, request):
        rows = verifications_for_user(user=request.user)
        return Response(CommitmentVerificationSerializer(rows, many=True).data)


@action(
    tags=["tasks"],
    operation_id="verification_decide",
    summary="Record a verification's finding",
    parameters=[ID],
)
class VerificationDecide(ActionView):
    body, out, endpoint = (
        VerificationDecisionSerializer,
        CommitmentVerificationSerializer,
        "verification-decide",
    )

    def act(self, data, pk):
        return verification_decide(
            verification_id=pk,
            actor=self.request.user,
            truthful=data["outcome"] == "confirmed",
            opinion=data["opinion"],
        )
