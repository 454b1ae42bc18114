"""Cases: the applicant's drafts and applications, and the case as every
participant may read it (with the web's field masking)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from govflow.cases.applications import correction_answer
from govflow.cases.models import Case, CaseStatus
from govflow.cases.reads import case_reads_record
from govflow.cases.selectors import cases_for_applicant
from govflow.cases.services import case_create, case_save_draft, case_withdraw
from govflow.commitments.services import case_submit_with_commitment
from govflow.engine.forms import validate_form_data
from govflow.errors import Conflict, FormInvalid, GovflowError
from govflow.processes.services import version_definition
from govflow.security.client import client_ip
from govflow.web.selectors import service_get

from .. import selectors
from .. import serializers as s
from ..fields import BodySerializer
from ..filters import CaseFilter
from ..idempotency import run_once
from ..pagination import page_request, page_response
from ..schema import PAGE_PARAMETERS, idempotency_parameter, page_of
from .base import ApiListView, ApiView

REFERENCE = OpenApiParameter("reference", str, OpenApiParameter.PATH, description="the case reference")


class FormErrors(GovflowError):
    """Field messages already in the caller's language (collected by the
    web's form round trip)."""

    code = "form_invalid"
    translated = True


def check_values(form, data, *, language: str) -> dict:
    """Every given value checked as on submit, except that required fields
    may still be missing: what a draft may hold. Returns the cleaned values."""
    checked = validate_form_data(form, data, today=selectors.today(), partial=True)
    if not checked.ok:
        raise FormInvalid(checked.errors, language=language)
    return checked.cleaned


class CaseViewMixin:
    # The form data's values are checked by the form's rules (refused
    # characters included), with field ids as paths: form_invalid.
    checks_own_text = ("data",)

    def detail_response(self, reference: str, *, status: int = 200, headers=None) -> Response:
        detail = selectors.case_detail_for_api(
            user=self.request.user, reference=reference, language=self.lang
        )
        case_reads_record(actor=self.request.user, detail=detail.detail, source_ip=client_ip(self.request))
        context = self.context(role=detail.role)
        return Response(s.CaseDetailSerializer(detail, context=context).data, status=status, headers=headers)


class CaseList(CaseViewMixin, ApiListView):
    serializer_class = s.CaseSerializer
    filterset_class = CaseFilter
    queryset = Case.objects.none()  # the model, for the schema; rows come from the selector

    @extend_schema(
        tags=["cases"], operation_id="cases_list", summary="Your applications (drafts included), newest first"
    )
    def get(self, request):
        return self.list_response(cases_for_applicant(user=request.user))

    @extend_schema(
        tags=["cases"],
        summary="Start a draft application",
        description="Creates a draft on the service's current version. The data may be partial; "
        "every value given is checked now, required fields on submit.",
        request=s.CaseCreateSerializer,
        parameters=[idempotency_parameter()],
        responses={201: s.CaseDetailSerializer},
    )
    def post(self, request):
        body = s.CaseCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        def create():
            entry = service_get(code=body.validated_data["service"], language=self.lang)
            data = check_values(entry.definition.form, body.validated_data["data"], language=self.lang)
            case = case_create(applicant=request.user, template_code=entry.code, data=data)
            location = request.build_absolute_uri(reverse("api:case", kwargs={"reference": case.reference}))
            return self.detail_response(case.reference, status=201, headers={"Location": location})

        return run_once(request, endpoint="case-create", action=create)


class CaseDetail(CaseViewMixin, ApiView):
    @extend_schema(
        tags=["cases"],
        summary="A case, as you may see it",
        description="Secret fields are masked unless your department is cleared for them, as on the "
        "web; every unmasked read is written to the audit trail.",
        parameters=[REFERENCE],
        responses={200: s.CaseDetailSerializer},
    )
    def get(self, request, reference):
        return self.detail_response(reference)

    @extend_schema(
        tags=["cases"],
        summary="Save the draft's form data",
        description="Replaces the draft's data. Values are checked as on submit (400 with every "
        "field's message; the stored draft is unchanged then), except that required fields may be "
        "missing. Send row_version to be told (409) when the draft changed since you read it.",
        parameters=[REFERENCE],
        request=s.DraftUpdateSerializer,
        responses={200: s.CaseDetailSerializer},
    )
    def patch(self, request, reference):
        body = s.DraftUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        case = selectors.case_owned(user=request.user, reference=reference)
        if "data" not in body.validated_data:  # changes nothing, but only a draft takes a PATCH
            if case.status != CaseStatus.DRAFT:
                raise Conflict("only a draft can be edited; this case has been submitted")
            return self.detail_response(reference)
        data = check_values(
            version_definition(case.version).form, body.validated_data["data"], language=self.lang
        )
        case_save_draft(
            case_id=case.pk,
            actor=request.user,
            data=data,
            expected_version=body.validated_data.get("row_version"),
        )
        return self.detail_response(reference)


class SubmitSerializer(BodySerializer):
    commitment = serializers.BooleanField(
        required=False,
        default=False,
        help_text="sign the commitment for the documents missing under 容缺受理 or 告知承诺",
    )


class CaseSubmit(CaseViewMixin, ApiView):
    @extend_schema(
        tags=["cases"],
        summary="Submit the draft",
        description="Checks the whole form and the required documents; on any problem nothing "
        "changes and the 400 lists every field's message. Documents the template lets follow "
        "later (容缺受理) or replaces by a commitment (告知承诺) may be missing when `commitment` is "
        "true: the applicant signs the commitment (a letter of the case). Without it they are "
        "reported as `commitment_available`; an applicant on the credit list gets `credit_listed`.",
        parameters=[REFERENCE, idempotency_parameter()],
        request=SubmitSerializer,
        responses={200: s.CaseDetailSerializer},
    )
    def post(self, request, reference):
        body = SubmitSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        case = selectors.case_owned(user=request.user, reference=reference)

        def submit():
            case_submit_with_commitment(
                case_id=case.pk,
                actor=request.user,
                sign=body.validated_data["commitment"],
                language=self.lang,
            )
            return self.detail_response(reference)

        return run_once(request, endpoint="case-submit", action=submit)


class CaseWithdraw(CaseViewMixin, ApiView):
    @extend_schema(
        tags=["cases"],
        summary="Withdraw the application",
        parameters=[REFERENCE, idempotency_parameter()],
        request=s.WithdrawSerializer,
        responses={200: s.CaseDetailSerializer},
    )
    def post(self, request, reference):
        body = s.WithdrawSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        case = selectors.case_owned(user=request.user, reference=reference)

        def withdraw():
            case_withdraw(case_id=case.pk, actor=request.user, reason=body.validated_data["reason"])
            return self.detail_response(reference)

        return run_once(request, endpoint="case-withdraw", action=withdraw)


class CaseCorrection(CaseViewMixin, ApiView):
    @extend_schema(
        tags=["cases"],
        summary="Answer a correction request",
        description="Send the fields you change; the whole form must be valid with them. Upload "
        "new documents first (attachments). The review then continues.",
        parameters=[REFERENCE, idempotency_parameter()],
        request=s.CorrectionAnswerSerializer,
        responses={200: s.CaseDetailSerializer},
    )
    def post(self, request, reference):
        body = s.CorrectionAnswerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        case = selectors.case_owned(user=request.user, reference=reference)

        def answer():
            result = correction_answer(
                case=case,
                actor=request.user,
                data=body.validated_data["data"],
                submit=True,
                language=self.lang,
            )
            if result.problem is not None:
                raise result.problem
            if result.errors:
                raise FormErrors(
                    _("The form has errors; see the messages next to the fields."), fields=result.errors
                )
            return self.detail_response(reference)

        return run_once(request, endpoint="case-correction", action=answer)


class CaseTimeline(ApiView):
    @extend_schema(
        tags=["cases"],
        summary="What happened to the case, oldest first",
        parameters=[REFERENCE, *PAGE_PARAMETERS],
        responses={200: page_of(s.TimelineSerializer)},
    )
    def get(self, request, reference):
        page = page_request(request)
        entries = selectors.case_timeline(user=request.user, reference=reference, language=self.lang)
        rows = entries[page.offset : page.offset + page.page_size + 1]
        data = s.TimelineSerializer(rows[: page.page_size], many=True).data
        return page_response(request, page, data, len(rows) > page.page_size)
