"""Certificates: the ones of a case (whoever sees the case), their PDF, and
public verification by number or by uploading the PDF (no login, as the
public verification page; throttled per address)."""

from __future__ import annotations

from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import Throttled
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from govflow.api.fields import BodySerializer
from govflow.cases.selectors import case_access
from govflow.certificates import selectors as certificate_selectors
from govflow.certificates import services as certificate_services
from govflow.errors import NotFound
from govflow.security.ratelimit import rate_check
from govflow.storage import StoredFileMissing, StoredObject, open_verified

from .base import ApiView, PublicMixin

NUMBER = OpenApiParameter("number", str, OpenApiParameter.PATH, description="the certificate number")
REFERENCE = OpenApiParameter("reference", str, OpenApiParameter.PATH, description="the case reference")


class CertificateSerializer(serializers.Serializer):
    number = serializers.CharField()
    type = serializers.CharField()
    title = serializers.SerializerMethodField()
    status = serializers.ChoiceField(choices=["valid", "revoked"])
    holder = serializers.CharField()
    department = serializers.CharField(source="department.code")
    issued_at = serializers.DateTimeField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    sha256 = serializers.CharField()
    download = serializers.SerializerMethodField()
    verify = serializers.SerializerMethodField()

    def get_title(self, certificate) -> str:
        return certificate.title(self.context.get("lang", "zh"))

    def get_download(self, certificate) -> str:
        path = reverse("api:certificate-content", kwargs={"number": certificate.number})
        return self.context["request"].build_absolute_uri(path)

    def get_verify(self, certificate) -> str:
        path = reverse("api:certificate-verify-number", kwargs={"number": certificate.number})
        return self.context["request"].build_absolute_uri(path)


class VerificationSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["valid", "revoked", "altered", "not_issued"],
        help_text="valid; revoked; altered (claims to be ours but differs or its signature fails); "
        "not_issued (not a certificate issued here)",
    )
    message = serializers.CharField()
    number = serializers.CharField()
    title = serializers.CharField()
    title_en = serializers.CharField()
    holder = serializers.CharField()
    department = serializers.CharField()
    department_en = serializers.CharField()
    issued_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_reason = serializers.CharField()
    replaces = serializers.CharField()
    replaced_by = serializers.CharField()
    sha256 = serializers.CharField()


class VerifyUploadSerializer(BodySerializer):
    pdf = serializers.FileField(allow_empty_file=False, use_url=False, help_text="the certificate PDF")


class CaseCertificates(ApiView):
    @extend_schema(
        tags=["certificates"],
        summary="The certificates issued on a case",
        parameters=[REFERENCE],
        responses={200: CertificateSerializer(many=True)},
    )
    def get(self, request, reference):
        access = case_access(user=request.user, reference=reference)
        rows = certificate_selectors.certificates_for_case(case=access.case)
        return Response(CertificateSerializer(rows, many=True, context=self.context()).data)


class CertificateContent(ApiView):
    renderer_classes = [JSONRenderer]

    def perform_content_negotiation(self, request, force=False):
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    @extend_schema(
        tags=["certificates"],
        summary="Download a certificate PDF",
        parameters=[NUMBER],
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="the PDF")},
    )
    def get(self, request, number):
        certificate = certificate_selectors.certificate_get_for_download(user=request.user, number=number)
        try:
            handle = open_verified(
                certificate.file,
                sha256=certificate.sha256,
                stored=StoredObject("certificate", certificate.number, certificate.case_id),
                actor_id=request.user.pk,
            )
        except StoredFileMissing:
            raise NotFound("certificate not found") from None
        response = FileResponse(
            handle, as_attachment=True, filename=f"{certificate.number}.pdf", content_type="application/pdf"
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response


def _verify_rate(request) -> None:
    """The public checks share the web pages' per-address budget (scope
    "verify", GOVFLOW_RATE_LIMITS), so neither door is a way around it."""
    decision = rate_check(request, "verify", key="ip")
    if not decision.allowed:
        raise Throttled(wait=decision.retry_after)


class VerifyNumber(PublicMixin, ApiView):
    @extend_schema(
        tags=["certificates"],
        summary="Verify a certificate by its number (public)",
        parameters=[NUMBER],
        responses={200: VerificationSerializer},
        auth=[],
    )
    def get(self, request, number):
        _verify_rate(request)
        result = certificate_services.certificate_verify_number(number)
        return Response(VerificationSerializer(result).data)


class VerifyUpload(PublicMixin, ApiView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=["certificates"],
        summary="Verify a certificate by uploading its PDF (public)",
        description="Valid only if the file is byte for byte the PDF issued and its signature "
        "validates with the key recorded for it.",
        request={"multipart/form-data": VerifyUploadSerializer},
        responses={200: VerificationSerializer},
        auth=[],
    )
    def post(self, request):
        _verify_rate(request)
        body = VerifyUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data["pdf"]
        if upload.size > certificate_services.MAX_PDF_BYTES:
            raise serializers.ValidationError(
                {"pdf": [_("The file is too large to be one of our certificates.")]}
            )
        result = certificate_services.certificate_verify_pdf(b"".join(upload.chunks()))
        return Response(VerificationSerializer(result).data)
