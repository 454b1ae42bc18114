"""/api/v1/notifications/: the caller's own notices (docs/api.md
"Notifications"). Thin over the notifications selectors and services."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from govflow.api.fields import BodySerializer, TextField, TruthField
from govflow.api.views.base import ApiView
from govflow.errors import InvalidInput

from . import selectors, services

LIMIT = 100
UNREAD = OpenApiParameter(
    "unread", bool, OpenApiParameter.QUERY, required=False, description="true: only the unread ones"
)
ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="the notification's id")


class NotificationOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = TextField(help_text="task_created, correction_requested, case_ended, certificate_issued, ...")
    kind_label = serializers.SerializerMethodField()
    case = serializers.SerializerMethodField(
        help_text="the case reference; null for a notice about the system"
    )
    text = TextField(source="body", help_text="what the notice said (both languages)")
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)

    def get_kind_label(self, notification) -> str:
        return str(notification.get_kind_display())

    def get_case(self, notification) -> str | None:
        return notification.case.reference if notification.case_id is not None else None


class NotificationsOut(serializers.Serializer):
    unread = serializers.IntegerField(help_text="how many of yours are unread")
    items = NotificationOut(many=True, help_text=f"newest first, at most {LIMIT}")


class MarkedOut(serializers.Serializer):
    marked = serializers.IntegerField(help_text="how many were unread and are now read")


class Notifications(ApiView):
    @extend_schema(
        tags=["notifications"],
        summary="Your notifications, newest first",
        parameters=[UNREAD],
        responses={200: NotificationsOut},
    )
    def get(self, request):
        given = request.query_params.get("unread", "false")
        if given not in ("true", "false", "1", "0"):
            raise InvalidInput("unread is true or false", fields={"unread": ["true or false"]})
        unread_only = given in ("true", "1")
        items = selectors.notifications_for_user(user=request.user, unread_only=unread_only, limit=LIMIT)
        return Response(
            NotificationsOut(
                {"unread": selectors.notifications_unread_count(user=request.user), "items": items}
            ).data
        )


class NotificationRead(ApiView):
    @extend_schema(
        tags=["notifications"],
        summary="Mark one of your notifications read",
        parameters=[ID],
        request=None,
        responses={200: NotificationOut},
    )
    def post(self, request, pk):
        notification = services.notification_mark_read(notification_id=pk, actor=request.user)
        return Response(NotificationOut(notification).data)


class NotificationsReadAll(ApiView):
    @extend_schema(
        tags=["notifications"],
        summary="Mark all your notifications read",
        request=None,
        responses={200: MarkedOut},
    )
    def post(self, request):
        return Response({"marked": services.notifications_mark_all_read(actor=request.user)})


class PreferencesSerializer(BodySerializer):
    email = TruthField(help_text="send each notice by e-mail too (default true)")
    sms = TruthField(help_text="send a short SMS too (default false; needs a mobile number)")
    phone = TextField(
        required=False, allow_blank=True, default="", max_length=20, help_text="a mainland mobile number"
    )


class NotificationPreferences(ApiView):
    @extend_schema(
        tags=["notifications"],
        summary="How you are notified besides the bell",
        responses={200: PreferencesSerializer},
    )
    def get(self, request):
        preference = selectors.notification_preference(user=request.user)
        return Response({"email": preference.email, "sms": preference.sms, "phone": preference.phone})

    @extend_schema(
        tags=["notifications"],
        summary="Choose how you are notified",
        request=PreferencesSerializer,
        responses={200: PreferencesSerializer},
    )
    def put(self, request):
        body = PreferencesSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        saved = services.notification_preferences_save(user=request.user, **body.validated_data)
        return Response({"email": saved.email, "sms": saved.sms, "phone": saved.phone})
