"""Messages from other systems to a case: what a template's `signal` node
waits for (a payment platform saying the fee is paid)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from govflow.cases.signals import MAX_MESSAGE_ID, case_signal
from govflow.engine.kinds.signal import SIGNAL_RE

from ..fields import BodySerializer, PatternTextField
from ..idempotency import run_once
from ..schema import idempotency_parameter
from .base import ApiView

REFERENCE = OpenApiParameter("reference", str, OpenApiParameter.PATH, description="the case reference")
NAME = OpenApiParameter(
    "name",
    str,
    OpenApiParameter.PATH,
    description="the message's name, as the template's signal node says",
    pattern=SIGNAL_RE.pattern,
)


class SignalSerializer(BodySerializer):
    message_id = PatternTextField(
        r"^[!-~]*$",  # visible ASCII, as govflow.cases.signals checks
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_MESSAGE_ID,
        help_text="the sender's id for this message: sent again, it is answered as a duplicate",
    )
    data = serializers.DictField(
        required=False, default=dict, help_text="values the template reads as result.<node>.<key>"
    )


class SignalReceiptSerializer(serializers.Serializer):
    case = serializers.CharField(help_text="the case reference")
    signal = serializers.CharField()
    duplicate = serializers.BooleanField(help_text="true: received before; nothing changed")
    nodes = serializers.ListField(child=serializers.CharField(), help_text="the steps the case moved through")
    status = serializers.CharField(help_text="the case's status after the message")


class CaseSignal(ApiView):
    checks_own_text = ()

    @extend_schema(
        tags=["cases"],
        operation_id="case_signal",
        summary="Deliver a message a case waits for (a signal node)",
        description="For connected systems (the integration role) and administrators. The case must be "
        "waiting for the message at a signal node (409 conflict otherwise); the waiting step moves on and "
        "`data` becomes result.<node>.<key>. A message_id seen before on the case is a duplicate (200, "
        "nothing changes); an Idempotency-Key is honoured as everywhere.",
        parameters=[REFERENCE, NAME, idempotency_parameter()],
        request=SignalSerializer,
        responses={200: SignalReceiptSerializer},
    )
    def post(self, request, reference, name):
        body = SignalSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        def deliver():
            receipt = case_signal(
                reference=reference,
                actor=request.user,
                name=name,
                data=body.validated_data["data"],
                message_id=body.validated_data["message_id"],
            )
            return Response(
                {
                    "case": receipt.case.reference,
                    "signal": receipt.name,
                    "duplicate": receipt.duplicate,
                    "nodes": list(receipt.nodes),
                    "status": receipt.case.status,
                }
            )

        return run_once(request, endpoint="case-signal", action=deliver)
