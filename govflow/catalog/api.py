"""/api/v1/catalog/: the data catalogue over the REST API.

Datasets and their metadata for every signed-in caller; records for
department staff and their systems, masked and audited exactly as on the
web (the same selectors); data requests; and filling an applicant's draft
from the catalogue. The API's pagination, error shape, authentication and
Idempotency-Key are reused as they are."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from govflow.api.fields import BodySerializer, SlugTextField, TextField
from govflow.api.idempotency import run_once
from govflow.api.pagination import page_request, page_response
from govflow.api.schema import PAGE_PARAMETERS, idempotency_parameter, page_of
from govflow.api.views.base import ActionView, ApiView, action
from govflow.security.client import client_ip

from . import selectors, services
from .datasets import DatasetField
from .reads import catalog_reads_record

CODE = OpenApiParameter("code", str, OpenApiParameter.PATH, description="the dataset's code")
KEY = OpenApiParameter("key", str, OpenApiParameter.PATH, description="the record's key")
REQUEST = OpenApiParameter("request_id", int, OpenApiParameter.PATH, description="the data request's id")


def _label(mapping: dict, lang: str) -> str:
    return mapping.get(lang) or mapping.get("zh", "")


# -- shapes ------------------------------------------------------------------------


class CatalogLabelSerializer(serializers.Serializer):
    zh = TextField()
    en = TextField()


class CatalogDatasetFieldSerializer(serializers.Serializer):
    id = TextField()
    type = TextField()
    sensitivity = serializers.ChoiceField(choices=["public", "internal", "secret"])
    label = CatalogLabelSerializer()
    shared_with = serializers.ListField(
        child=TextField(),
        help_text='department codes, or ["all"]; public fields: every department',
    )

    def to_representation(self, spec: DatasetField):
        return {
            "id": spec.id,
            "type": spec.type,
            "sensitivity": spec.sensitivity,
            "label": dict(spec.label),
            "shared_with": ["all"] if spec.shared_with == "all" else list(spec.shared_with),
        }


class CatalogDatasetSerializer(serializers.Serializer):
    code = TextField()
    title = CatalogLabelSerializer()
    description = CatalogLabelSerializer()
    owner = TextField(help_text="the owning department's code")
    process = TextField(help_text="the template whose approved cases write the records")
    key = CatalogLabelSerializer(help_text="what a record's key is")
    update_rule = CatalogLabelSerializer()
    sharing = serializers.ChoiceField(choices=["unconditional", "conditional", "none"])
    licence = CatalogLabelSerializer()
    fields = CatalogDatasetFieldSerializer(many=True)
    record_count = serializers.IntegerField()
    last_updated = serializers.DateTimeField(allow_null=True, help_text="freshness: the latest write")

    def to_representation(self, row: selectors.DatasetRow):
        d = row.dataset

        def both(name: str) -> dict:
            return {"zh": getattr(d, f"{name}_zh"), "en": getattr(d, f"{name}_en")}

        return {
            "code": d.code,
            "title": both("title"),
            "description": both("description"),
            "owner": d.owner.code,
            "process": d.process,
            "key": both("key_label"),
            "update_rule": both("update_rule"),
            "sharing": d.sharing,
            "licence": both("licence"),
            "fields": CatalogDatasetFieldSerializer(row.fields, many=True).data,
            "record_count": row.record_count,
            "last_updated": row.last_updated.isoformat() if row.last_updated else None,
        }


class CatalogValueSerializer(serializers.Serializer):
    value = TextField(help_text="display text; masked (1101**********1234) when not cleared")
    masked = serializers.BooleanField()
    sensitivity = TextField()
    grant = serializers.IntegerField(allow_null=True, help_text="the data request that allowed the read")


class CatalogRecordSerializer(serializers.Serializer):
    key = TextField()
    version = serializers.IntegerField()
    updated_at = serializers.DateTimeField()
    source_case = TextField(help_text="the case that wrote the current version")
    fields = serializers.DictField(child=CatalogValueSerializer())

    def to_representation(self, row):
        return {
            "key": row.record.key,
            "version": row.record.version,
            "updated_at": row.record.updated_at.isoformat(),
            "source_case": row.record.case.reference,
            "fields": {
                v.field.id: {
                    "value": v.text,
                    "masked": v.masked,
                    "sensitivity": v.field.sensitivity,
                    "grant": v.grant_id,
                }
                for v in row.values
            },
        }


class CatalogVersionSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    case = TextField()
    published_at = serializers.DateTimeField()


class CatalogRecordDetailSerializer(CatalogRecordSerializer):
    versions = CatalogVersionSerializer(many=True)

    def to_representation(self, detail: selectors.RecordDetail):
        body = super().to_representation(selectors.RecordRow(detail.record, detail.values))
        body["versions"] = [
            {"number": v.number, "case": v.case.reference, "published_at": v.published_at.isoformat()}
            for v in detail.versions
        ]
        return body


class CatalogRecordQuerySerializer(serializers.Serializer):
    q = TextField(required=False, allow_blank=False, max_length=100, help_text="part of the key")


class CatalogDataRequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = TextField()
    department = TextField()
    fields = serializers.ListField(child=TextField())
    purpose = TextField()
    days = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["pending", "approved", "refused"])
    requested_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    valid_until = serializers.DateTimeField(allow_null=True)
    note = TextField(allow_blank=True)

    def to_representation(self, r):
        return {
            "id": r.pk,
            "dataset": r.dataset.code,
            "department": r.department.code,
            "fields": list(r.fields),
            "purpose": r.purpose,
            "days": r.days,
            "status": r.status,
            "requested_at": r.requested_at.isoformat(),
            "decided_at": r.decided_at.isoformat() if r.decided_at else None,
            "valid_until": r.valid_until.isoformat() if r.valid_until else None,
            "note": r.note,
        }


class CatalogDataRequestCreateSerializer(BodySerializer):
    dataset = SlugTextField(max_length=64)
    department = SlugTextField(max_length=64, help_text="your department asking")
    fields = serializers.ListField(child=SlugTextField(max_length=64), max_length=200)
    purpose = TextField(max_length=2000)
    days = serializers.IntegerField(min_value=1, max_value=services.MAX_GRANT_DAYS)


class CatalogDecisionSerializer(BodySerializer):
    decision = serializers.ChoiceField(choices=["approve", "refuse"])
    note = TextField(max_length=2000, required=False, allow_blank=True, default="")


class CatalogPrefillSerializer(BodySerializer):
    case = TextField(max_length=32, help_text="the draft's reference")
    dataset = SlugTextField(max_length=64)
    key = TextField(max_length=200, help_text="the credit code or project code")


class CatalogPrefillResultSerializer(serializers.Serializer):
    dataset = TextField()
    key = TextField()
    version = serializers.IntegerField()
    filled = serializers.ListField(child=TextField(), help_text="form fields filled and verified")
    withheld = serializers.ListField(child=TextField(), help_text="known but not offered to you")


# -- views ---------------------------------------------------------------------------


class DatasetList(ApiView):
    @extend_schema(
        tags=["catalog"],
        operation_id="catalog_datasets_list",
        summary="The data catalogue: datasets with their metadata, record counts and freshness",
        responses={200: CatalogDatasetSerializer(many=True)},
    )
    def get(self, request):
        return Response(CatalogDatasetSerializer(selectors.datasets_overview(), many=True).data)


class DatasetDetail(ApiView):
    @extend_schema(
        tags=["catalog"],
        summary="One dataset's metadata",
        parameters=[CODE],
        responses={200: CatalogDatasetSerializer},
    )
    def get(self, request, code):
        page = selectors.dataset_page(user=request.user, code=code)
        return Response(CatalogDatasetSerializer(page.row).data)


class RecordList(ApiView):
    @extend_schema(
        tags=["catalog"],
        operation_id="catalog_records_list",
        summary="Records of a dataset (department staff), masked by clearance; every read is audited",
        parameters=[CODE, CatalogRecordQuerySerializer, *PAGE_PARAMETERS],
        responses={200: page_of(CatalogRecordSerializer)},
    )
    def get(self, request, code):
        query = CatalogRecordQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        page = page_request(request)
        result = selectors.records_for_user(
            user=request.user,
            code=code,
            q=query.validated_data.get("q", ""),
            page=page.page,
            per_page=page.page_size,
            language=self.lang,
        )
        catalog_reads_record(actor=request.user, reads=[result.read], source_ip=client_ip(request))
        return page_response(
            request, page, CatalogRecordSerializer(result.rows, many=True).data, result.has_next
        )


class RecordDetail(ApiView):
    @extend_schema(
        tags=["catalog"],
        summary="One record with its versions (each naming the case that wrote it); audited",
        parameters=[CODE, KEY],
        responses={200: CatalogRecordDetailSerializer},
    )
    def get(self, request, code, key):
        detail = selectors.record_for_user(user=request.user, code=code, key=key, language=self.lang)
        catalog_reads_record(actor=request.user, reads=[detail.read], source_ip=client_ip(request))
        return Response(CatalogRecordDetailSerializer(detail).data)


class RequestList(ApiView):
    @extend_schema(
        tags=["catalog"],
        operation_id="catalog_requests_list",
        summary="Data requests of your departments, and those made to the datasets they own",
        responses={200: CatalogDataRequestSerializer(many=True)},
    )
    def get(self, request):
        return Response(
            CatalogDataRequestSerializer(selectors.requests_for_user(user=request.user), many=True).data
        )

    @extend_schema(
        tags=["catalog"],
        operation_id="catalog_requests_create",
        summary="Ask a dataset's owner for fields your department is not cleared for",
        parameters=[idempotency_parameter()],
        request=CatalogDataRequestCreateSerializer,
        responses={201: CatalogDataRequestSerializer},
    )
    def post(self, request):
        body = CatalogDataRequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        def create():
            created = services.data_request_create(actor=request.user, **body.validated_data)
            return Response(CatalogDataRequestSerializer(created).data, status=201)

        return run_once(request, endpoint="catalog-request-create", action=create)


@action(
    tags=["catalog"],
    summary="Grant or refuse a data request (the owning department's head)",
    description="A grant lasts the days asked for, from now; a refusal needs a note.",
    parameters=[REQUEST],
)
class RequestDecide(ActionView):
    body, out, endpoint = CatalogDecisionSerializer, CatalogDataRequestSerializer, "catalog-request-decide"

    def act(self, data, request_id):
        return services.data_request_decide(
            actor=self.request.user,
            request_id=request_id,
            approve=data["decision"] == "approve",
            note=data["note"],
        )


class Prefill(ApiView):
    @extend_schema(
        tags=["catalog"],
        summary="Fill your draft from the catalogue by a credit code or project code",
        description="The facts are filled in and recorded as coming from the catalogue; at submission "
        "each is checked again, and a changed value loses its verified mark.",
        parameters=[idempotency_parameter()],
        request=CatalogPrefillSerializer,
        responses={200: CatalogPrefillResultSerializer},
    )
    def post(self, request):
        body = CatalogPrefillSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        def prefill():
            offer = services.case_prefill(
                actor=request.user,
                reference=body.validated_data["case"],
                dataset=body.validated_data["dataset"],
                key=body.validated_data["key"],
                language=self.lang,
            )
            return Response(
                {
                    "dataset": offer.record.dataset.code,
                    "key": offer.record.key,
                    "version": offer.record.version,
                    "filled": [f for f, _n, _v in offer.offered],
                    "withheld": offer.withheld,
                }
            )

        return run_once(request, endpoint="catalog-prefill", action=prefill)
