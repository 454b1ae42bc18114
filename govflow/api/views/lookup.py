"""GET or POST /api/v1/lookup/: the public progress lookup (no login),
with the web page's per-address budget (govflow.web.views.lookup)."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import Throttled
from rest_framework.response import Response

from govflow.errors import NotFound
from govflow.web.lookup import progress_lookup
from govflow.web.views.lookup import lookup_rate_check

from ..fields import BodySerializer, TextField
from .base import ApiView, PublicMixin


class ProgressLookupQuerySerializer(BodySerializer):
    reference = TextField(max_length=32, help_text="the case number, e.g. GF2026...")
    code = TextField(max_length=32, help_text="the query code (查询码), with or without its hyphen, any case")


class PublicProgressStepSerializer(serializers.Serializer):
    node = serializers.CharField(
        source="node_id", help_text="the template's node id; empty for the submission and the result"
    )
    title = serializers.CharField()
    kind = serializers.ChoiceField(
        choices=[
            "submission",
            "acceptance",
            "review",
            "signature",
            "automatic",
            "correction",
            "applicant",
            "waiting",
            "end",
        ]
    )
    kind_label = serializers.CharField()
    departments = serializers.ListField(child=serializers.CharField())
    state = serializers.CharField(
        help_text="passed, returned, in_progress, upcoming, ... (state_label in words)"
    )
    state_label = serializers.CharField()
    date = serializers.DateField(source="on", allow_null=True)
    expected = serializers.BooleanField(help_text="the date is a deadline or a forecast (预计), not a fact")
    provisional = serializers.BooleanField()
    round = serializers.IntegerField()


class PublicProgressSerializer(serializers.Serializer):
    reference = serializers.CharField()
    service = serializers.CharField(source="service_title")
    status = serializers.CharField()
    status_label = serializers.CharField()
    submitted_on = serializers.DateField(allow_null=True)
    finished_on = serializers.DateField(allow_null=True)
    expected_end = serializers.DateField(allow_null=True)
    departments = serializers.ListField(child=serializers.CharField())
    steps = PublicProgressStepSerializer(many=True)


class ProgressLookup(PublicMixin, ApiView):
    authentication_classes: list = []

    def _answer(self, request, values):
        refused = lookup_rate_check(request)
        if refused is not None:
            raise Throttled(wait=refused.retry_after)
        query = ProgressLookupQuerySerializer(data=values)
        query.is_valid(raise_exception=True)
        progress = progress_lookup(
            reference=query.validated_data["reference"],
            code=query.validated_data["code"],
            language=self.lang,
            now=timezone.now(),
        )
        if progress is None:
            raise NotFound("no case matches this reference and query code")
        return Response(PublicProgressSerializer(progress).data)

    @extend_schema(
        tags=["lookup"],
        summary="Look up a case's progress by its number and query code (public)",
        description="Steps, departments, dates and status only: never form data, names or opinions. "
        "A wrong code and an unknown number both answer 404. Limited per address (429). POST keeps "
        "the code out of addresses and logs.",
        parameters=[ProgressLookupQuerySerializer],
        responses={200: PublicProgressSerializer},
        auth=[],
    )
    def get(self, request):
        return self._answer(
            request, {key: request.query_params.get(key, "") for key in ("reference", "code")}
        )

    @extend_schema(
        tags=["lookup"],
        summary="Look up a case's progress by its number and query code (public)",
        request=ProgressLookupQuerySerializer,
        responses={200: PublicProgressSerializer},
        auth=[],
    )
    def post(self, request):
        return self._answer(request, request.data)
