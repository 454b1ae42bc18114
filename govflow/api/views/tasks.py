"""The reviewer's inbox and the actions on a task: claim, release, hand
over, decide. Tasks of departments the caller does not belong to are 404."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from govflow.cases import selectors as case_selectors
from govflow.cases.services import task_claim, task_complete, task_handover, task_release
from govflow.errors import NotFound

from .. import selectors
from .. import serializers as s
from ..idempotency import run_once
from ..pagination import page_request, page_response
from ..schema import PAGE_PARAMETERS, idempotency_parameter, page_of
from .base import ApiView

TASK = OpenApiParameter("id", int, OpenApiParameter.PATH, description="the task id")


class TaskList(ApiView):
    @extend_schema(
        tags=["tasks"],
        operation_id="tasks_list",
        summary="Your departments' review tasks (the inbox)",
        parameters=[s.TaskQuerySerializer, *PAGE_PARAMETERS],
        responses={200: page_of(s.TaskSerializer)},
    )
    def get(self, request):
        query = s.TaskQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        filters = query.validated_data
        page = page_request(request)
        result = case_selectors.tasks_for_reviewer(
            user=request.user,
            service=filters.get("service", ""),
            status=filters["status"],
            due=filters.get("due", ""),
            sort="-due" if filters["ordering"] == "-due_at" else "due",
            q=filters.get("q", ""),
            page=page.page,
            per_page=page.page_size,
            language=self.lang,
        )
        data = s.TaskSerializer(result.rows, many=True, context=self.context()).data
        return page_response(request, page, data, result.has_next)


class TaskViewMixin:
    def task_response(self, pk: int) -> Response:
        detail = selectors.task_detail(user=self.request.user, task_id=pk, language=self.lang)
        return Response(s.TaskDetailSerializer(detail, context=self.context()).data)


class TaskDetail(TaskViewMixin, ApiView):
    @extend_schema(
        tags=["tasks"], summary="A task", parameters=[TASK], responses={200: s.TaskDetailSerializer}
    )
    def get(self, request, pk):
        return self.task_response(pk)


class TaskClaim(TaskViewMixin, ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="Claim the task (it becomes yours to decide)",
        description="Claiming a task you already hold changes nothing.",
        parameters=[TASK, idempotency_parameter()],
        request=None,
        responses={200: s.TaskDetailSerializer},
    )
    def post(self, request, pk):
        def claim():
            task_claim(task_id=pk, actor=request.user)
            return self.task_response(pk)

        return run_once(request, endpoint="task-claim", action=claim, pipelined=True)


class TaskRelease(TaskViewMixin, ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="Put the task back in the department's queue",
        parameters=[TASK, idempotency_parameter()],
        request=None,
        responses={200: s.TaskDetailSerializer},
    )
    def post(self, request, pk):
        def release():
            task_release(task_id=pk, actor=request.user)
            return self.task_response(pk)

        return run_once(request, endpoint="task-release", action=release)


class TaskHandover(TaskViewMixin, ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="Hand the task over to a colleague of its department",
        parameters=[TASK, idempotency_parameter()],
        request=s.HandoverSerializer,
        responses={200: s.TaskDetailSerializer},
    )
    def post(self, request, pk):
        body = s.HandoverSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        case_selectors.task_get_for_reviewer(user=request.user, task_id=pk)
        try:
            colleague = case_selectors.colleague_get(
                actor=request.user, task_id=pk, user_id=body.validated_data["to_user"]
            )
        except NotFound:
            raise serializers.ValidationError(
                {"to_user": [_("Choose a member of the task's department.")]}
            ) from None

        def handover():
            task_handover(task_id=pk, actor=request.user, to_user=colleague)
            return self.task_response(pk)

        return run_once(request, endpoint="task-handover", action=handover)


class TaskDecide(TaskViewMixin, ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="Decide the task with a written opinion",
        description="approve, reject or return (for correction), as offered at the step (see the "
        "task's outcomes); at an acceptance (受理) task accept, refuse (reasons in the opinion and a "
        "legal_basis) or notice (一次性告知: a notice listing the fields and materials to correct). "
        "Reject and return need an opinion. A task a colleague already decided is "
        "a 409 and nothing is written. Send an Idempotency-Key so a retry never decides twice. "
        "The answer is the decision and the case's status after it; the task's full detail is at "
        "its `url`.",
        parameters=[TASK, idempotency_parameter()],
        request=s.DecideSerializer,
        responses={200: s.TaskDecisionSerializer},
    )
    def post(self, request, pk):
        body = s.DecideSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        def decide():
            task = task_complete(
                task_id=pk,
                actor=request.user,
                outcome=body.validated_data["outcome"],
                opinion=body.validated_data["opinion"],
                legal_basis=body.validated_data["legal_basis"],
                notice=[dict(item) for item in body.validated_data.get("notice", [])] or None,
            )
            return Response(s.TaskDecisionSerializer(task, context=self.context()).data)

        return run_once(request, endpoint="task-decide", action=decide, pipelined=True)
