"""/api/v1/cases/{reference}/letters/ and /api/v1/letters/{number}/content/:
a case's written letters and their PDFs, for whoever may see the case
(docs/letters.md)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from govflow.api.views.base import ApiView
from govflow.cases.selectors import case_access
from govflow.errors import NotFound
from govflow.storage import StoredFileMissing

from . import selectors
from .kinds import KINDS
from .views import letter_response

REFERENCE = OpenApiParameter("reference", str, OpenApiParameter.PATH, description="the case reference")
NUMBER = OpenApiParameter("number", str, OpenApiParameter.PATH, description="the letter number")


class LetterSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="e.g. MR-YQ-2026-000001")
    kind = serializers.ChoiceField(choices=sorted(KINDS), help_text="extension, excluded_time, ...")
    title = serializers.CharField()
    addressee = serializers.CharField()
    body = serializers.ListField(child=serializers.CharField(), source="paragraphs")
    legal_basis = serializers.CharField()
    department = serializers.CharField(source="department.code")
    issuer = serializers.CharField(source="issuer_name")
    issued_at = serializers.DateTimeField()
    task = serializers.SerializerMethodField()
    signed = serializers.BooleanField(source="is_signed")
    sha256 = serializers.CharField()
    download = serializers.SerializerMethodField()

    def get_task(self, letter) -> int | None:
        return letter.task_id

    def get_download(self, letter) -> str:
        path = reverse("api:letter-content", kwargs={"number": letter.number})
        return self.context["request"].build_absolute_uri(path)


class CaseLetters(ApiView):
    @extend_schema(
        tags=["letters"],
        summary="The written letters (书面告知) sent on a case",
        parameters=[REFERENCE],
        responses={200: LetterSerializer(many=True)},
    )
    def get(self, request, reference):
        access = case_access(user=request.user, reference=reference)
        rows = selectors.letters_for_case(case=access.case)
        return Response(LetterSerializer(rows, many=True, context=self.context()).data)


class LetterContent(ApiView):
    renderer_classes = [JSONRenderer]

    def perform_content_negotiation(self, request, force=False):
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    @extend_schema(
        tags=["letters"],
        summary="Download a letter PDF",
        parameters=[NUMBER],
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="the PDF")},
    )
    def get(self, request, number):
        letter = selectors.letter_get_for_download(user=request.user, number=number)
        try:
            return letter_response(letter, user=request.user)
        except StoredFileMissing:
            raise NotFound("letter not found") from None
