"""The materials of a case: listed to everyone on the case, uploaded and
removed by its applicant (with the web's checks: the type found in the
bytes, size and count limits), downloaded as attachments."""

from __future__ import annotations

from django.http import FileResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from govflow.cases.attachments import attachment_add, attachment_remove, served_name
from govflow.cases.selectors import attachment_get_for_user
from govflow.errors import NotFound
from govflow.storage import StoredFileMissing, StoredObject, open_verified

from .. import selectors
from .. import serializers as s
from ..idempotency import run_once
from ..pagination import page_request, page_response
from ..schema import PAGE_PARAMETERS, idempotency_parameter, page_of
from .base import ApiView

REFERENCE = OpenApiParameter("reference", str, OpenApiParameter.PATH, description="the case reference")
ATTACHMENT = OpenApiParameter("id", int, OpenApiParameter.PATH, description="the attachment id")


class AttachmentList(ApiView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=["attachments"],
        operation_id="cases_attachments_list",
        summary="The case's documents",
        parameters=[REFERENCE, *PAGE_PARAMETERS],
        responses={200: page_of(s.AttachmentSerializer)},
    )
    def get(self, request, reference):
        page = page_request(request)
        rows = selectors.attachment_rows(user=request.user, reference=reference, language=self.lang)
        window = rows[page.offset : page.offset + page.page_size + 1]
        data = s.AttachmentSerializer(window[: page.page_size], many=True, context=self.context()).data
        return page_response(request, page, data, len(window) > page.page_size)

    @extend_schema(
        tags=["attachments"],
        summary="Upload a document into a slot of your draft (or while a correction is asked for)",
        description="multipart/form-data with `slot` and `file`. The type is taken from the file's "
        "bytes, never its name; a refused file is a 400 `form_invalid` keyed by the slot.",
        parameters=[REFERENCE, idempotency_parameter()],
        request={"multipart/form-data": s.AttachmentUploadSerializer},
        responses={201: s.AttachmentSerializer},
    )
    def post(self, request, reference):
        case = selectors.case_owned(user=request.user, reference=reference)
        body = s.AttachmentUploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        slot = body.validated_data["slot"]
        if slot not in selectors.document_slots(case):
            raise serializers.ValidationError({"slot": [_("This service has no such document slot.")]})

        def upload():
            attachment = attachment_add(
                case_id=case.pk,
                actor=request.user,
                slot=slot,
                upload=body.validated_data["file"],
                language=self.lang,
            )
            row = selectors.attachment_row(
                user=request.user, reference=reference, attachment_id=attachment.pk, language=self.lang
            )
            location = request.build_absolute_uri(
                reverse("api:attachment", kwargs={"reference": reference, "pk": attachment.pk})
            )
            data = s.AttachmentSerializer(row, context=self.context()).data
            return Response(data, status=201, headers={"Location": location})

        return run_once(request, endpoint="attachment-upload", action=upload)


class AttachmentDetail(ApiView):
    @extend_schema(
        tags=["attachments"],
        summary="One document's details",
        parameters=[REFERENCE, ATTACHMENT],
        responses={200: s.AttachmentSerializer},
    )
    def get(self, request, reference, pk):
        row = selectors.attachment_row(
            user=request.user, reference=reference, attachment_id=pk, language=self.lang
        )
        return Response(s.AttachmentSerializer(row, context=self.context()).data)

    @extend_schema(
        tags=["attachments"],
        summary="Remove a document from your draft (or while a correction is asked for)",
        parameters=[REFERENCE, ATTACHMENT],
        request=None,
        responses={204: None},
    )
    def delete(self, request, reference, pk):
        case = selectors.case_owned(user=request.user, reference=reference)
        attachment_remove(case_id=case.pk, actor=request.user, attachment_id=pk)
        return Response(status=204)


class AttachmentContent(ApiView):
    renderer_classes = [JSONRenderer]

    def perform_content_negotiation(self, request, force=False):
        # The file is sent as it is, whatever the Accept header asks for.
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    @extend_schema(
        tags=["attachments"],
        summary="Download a document",
        description="Served as an attachment with X-Content-Type-Options: nosniff.",
        parameters=[REFERENCE, ATTACHMENT],
        responses={(200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="the file's bytes")},
    )
    def get(self, request, reference, pk):
        attachment = attachment_get_for_user(user=request.user, reference=reference, attachment_id=pk)
        try:
            handle = open_verified(
                attachment.file,
                sha256=attachment.sha256,
                stored=StoredObject("attachment", str(attachment.pk), attachment.case_id),
                actor_id=request.user.pk,
            )
        except StoredFileMissing:
            raise NotFound("attachment not found") from None
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=served_name(attachment.original_name, attachment.content_type),
            content_type=attachment.content_type or "application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        return response
