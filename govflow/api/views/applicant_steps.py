"""The applicant's own steps (`applicant_task` nodes) and the case's fees
(`fee` nodes): read by the applicant and the case's reviewers, a step's
documents uploaded and the step completed by the applicant."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from govflow.cases.applicant_steps import (
    applicant_step_document_add,
    applicant_steps_open,
    applicant_task_complete,
    fee_states,
)
from govflow.cases.disclosure import OWNER
from govflow.cases.selectors import case_access
from govflow.notices.selectors import objections_for_case

from .. import selectors
from ..fields import BodySerializer, IdField, TextField
from ..idempotency import run_once
from ..schema import idempotency_parameter
from .base import ApiView

REFERENCE = OpenApiParameter("reference", str, OpenApiParameter.PATH, description="the case reference")
TASK = OpenApiParameter("task", str, OpenApiParameter.PATH, description="the open step's task id")
SLOT = OpenApiParameter("slot", str, OpenApiParameter.PATH, description="a document slot the step asks for")


class StepFieldSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    label = serializers.DictField(child=serializers.CharField())
    value = serializers.JSONField(allow_null=True)


class StepFileSerializer(serializers.Serializer):
    id = IdField(help_text="the attachment id (download: /cases/{reference}/attachments/{id}/content/)")
    name = serializers.CharField(source="original_name")
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    uploaded_at = serializers.DateTimeField()


class StepDocumentSerializer(serializers.Serializer):
    slot = serializers.CharField(source="spec.id")
    label = serializers.DictField(source="spec.label", child=serializers.CharField())
    types = serializers.ListField(source="spec.types", child=serializers.CharField())
    max_size_mb = serializers.FloatField(source="spec.max_size_mb")
    max_count = serializers.IntegerField(source="spec.max_count")
    files = StepFileSerializer(many=True, help_text="uploaded since the step opened; at least one is needed")


class ApplicantStepSerializer(serializers.Serializer):
    task = serializers.CharField(source="task_id", help_text="send it back to complete the step")
    node = serializers.CharField(source="node_id")
    title = serializers.CharField()
    form_fields = serializers.SerializerMethodField(help_text="the form fields the step asks for")
    documents = StepDocumentSerializer(
        many=True, help_text="the document slots the step asks for: upload into each before completing"
    )
    confirm = serializers.CharField(help_text="the statement to confirm; empty when none")
    deadline = serializers.DateTimeField(allow_null=True)
    deadline_provisional = serializers.BooleanField(source="provisional")

    def get_form_fields(self, step) -> list[dict]:
        return [
            {"id": spec.id, "type": spec.type, "label": dict(spec.label), "value": step.values.get(spec.id)}
            for spec in step.fields
        ]


class FeeSerializer(serializers.Serializer):
    node = serializers.CharField(source="node_id")
    title = serializers.CharField()
    amount = serializers.CharField(help_text="in yuan, exact (e.g. 300.00)")
    paid = serializers.BooleanField(help_text="false: 待缴费, awaiting payment")
    deadline = serializers.DateTimeField(allow_null=True, help_text="pay by; null when paid or none")
    deadline_provisional = serializers.BooleanField(source="provisional")


class ObjectionSerializer(serializers.Serializer):
    node = serializers.CharField(source="node_id", help_text="the public notice it was filed in")
    filed_at = serializers.DateTimeField()
    name = serializers.CharField()
    contact = serializers.CharField()
    reasons = serializers.CharField()


class StepsSerializer(serializers.Serializer):
    steps = ApplicantStepSerializer(many=True)
    fees = FeeSerializer(many=True)
    objections = ObjectionSerializer(
        many=True,
        help_text="objections filed during the case's public notices (公示): to the case's reviewers "
        "only; always empty for the applicant, who never sees the objectors",
    )


class StepCompleteSerializer(BodySerializer):
    task = TextField(max_length=32, help_text="the open step's task id (from GET)")
    data = serializers.DictField(required=False, default=dict, help_text="the fields the step asks for")
    confirmed = serializers.BooleanField(required=False, default=False)


class StepUploadSerializer(serializers.Serializer):
    file = serializers.FileField()


class _StepsView(ApiView):
    def answer(self, case, *, reviewer: bool = False):
        body = {
            "steps": applicant_steps_open(case=case, language=self.lang) if case.is_open else [],
            "fees": fee_states(case=case, language=self.lang),
            "objections": objections_for_case(case=case) if reviewer else [],
        }
        return Response(StepsSerializer(body).data)


class CaseSteps(_StepsView):
    checks_own_text = ("data",)

    @extend_schema(
        tags=["cases"],
        operation_id="case_steps",
        summary="The applicant's open steps, the case's fees (待缴费 or paid) and, for reviewers, objections",
        parameters=[REFERENCE],
        responses={200: StepsSerializer},
    )
    def get(self, request, reference):
        access = case_access(user=request.user, reference=reference)
        return self.answer(access.case, reviewer=access.role != OWNER)

    @extend_schema(
        tags=["cases"],
        operation_id="case_step_complete",
        summary="Complete an open applicant step",
        description="The applicant sends the fields the step asks for (no others) and confirms its "
        "statement when it has one; the statutory clock, paused while the step was open, runs again.",
        parameters=[REFERENCE, idempotency_parameter()],
        request=StepCompleteSerializer,
        responses={200: StepsSerializer},
    )
    def post(self, request, reference):
        case = selectors.case_owned(user=request.user, reference=reference)
        body = StepCompleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        def complete():
            done = applicant_task_complete(
                case_id=case.pk,
                actor=request.user,
                task_id=body.validated_data["task"],
                data=body.validated_data["data"],
                confirmed=body.validated_data["confirmed"],
                language=self.lang,
            )
            return self.answer(done)

        return run_once(request, endpoint="case-steps", action=complete)


class CaseStepDocument(_StepsView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=["cases"],
        operation_id="case_step_document_add",
        summary="Upload a document an open applicant step asks for",
        description="multipart/form-data with `file`, into a document slot the step names; the "
        "slot's types, size and count limits apply (400 form_invalid keyed by the slot). The step "
        "completes only once each of its slots holds a file uploaded while it is open.",
        parameters=[REFERENCE, TASK, SLOT, idempotency_parameter()],
        request={"multipart/form-data": StepUploadSerializer},
        responses={200: StepsSerializer},
    )
    def post(self, request, reference, task, slot):
        case = selectors.case_owned(user=request.user, reference=reference)
        body = StepUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        def upload():
            applicant_step_document_add(
                case_id=case.pk,
                actor=request.user,
                task_id=task,
                slot=slot,
                upload=body.validated_data["file"],
                language=self.lang,
            )
            case.refresh_from_db()
            return self.answer(case)

        return run_once(request, endpoint="case-step-document", action=upload)
