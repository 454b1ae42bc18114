"""The operations that move a case besides a decision: 退回 (return to an
earlier step), 撤回/拿回 (take a decision back), 转办 (transfer to another
department), 加签/减签 (add or remove a signer). Each takes an
Idempotency-Key; refusals use the API's one error shape (400 for a target
or department the step does not allow, 403/404 for the wrong person, 409
when the case has moved on)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from govflow.api.fields import BodySerializer, SlugTextField, TextField
from govflow.cases import selectors as case_selectors
from govflow.cases.operations.returns import task_return, task_return_targets
from govflow.cases.operations.signers import task_add_signer, task_remove_signer
from govflow.cases.operations.take_back import task_take_back
from govflow.cases.operations.transfer import task_transfer
from govflow.processes.services import version_definition

from .. import serializers as s
from ..idempotency import run_once
from ..schema import idempotency_parameter
from .base import ApiView
from .tasks import TaskViewMixin

TASK = OpenApiParameter("id", int, OpenApiParameter.PATH, description="the task id")
REASON = 4000


class ReturnSerializer(BodySerializer):
    target = SlugTextField(max_length=64, help_text="the earlier step (node id) to send the case back to")
    opinion = TextField(max_length=REASON, help_text="why; the applicant's page shows it")
    come_back = serializers.BooleanField(
        required=False,
        default=False,
        help_text="回到我: once the target approves, the case comes straight back to this step "
        "(only within one branch)",
    )


class ReturnTargetSerializer(serializers.Serializer):
    node = TextField()
    title = TextField()


class TransferSerializer(BodySerializer):
    department = SlugTextField(max_length=64, help_text="the receiving department's code")
    opinion = TextField(max_length=REASON, help_text="why the task goes there")


class TransferResultSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="the task id (it is no longer in your inbox)")
    department = TextField(help_text="the department it went to")
    status = TextField(help_text="open (in the department's queue) or claimed (by its head)")


class AddSignerSerializer(BodySerializer):
    department = SlugTextField(max_length=64, help_text="the added signer's department code")
    position = serializers.ChoiceField(
        choices=["before", "after"],
        help_text="before: must approve before you decide; after: must approve after your approval",
    )
    opinion = TextField(max_length=REASON, required=False, default="", allow_blank=True)
    to_user = serializers.IntegerField(
        min_value=1, required=False, help_text="a person of that department (a signer added before only)"
    )


class RemoveSignerSerializer(BodySerializer):
    signer = serializers.IntegerField(min_value=1, required=False, help_text="the added signer's task id")
    department = SlugTextField(
        max_length=64, required=False, help_text="a department still to sign after (not yet asked)"
    )


class TaskReturn(TaskViewMixin, ApiView):
    @extend_schema(
        tags=["tasks"],
        operation_id="tasks_return_targets",
        summary="The earlier steps the task may send the case back to",
        parameters=[TASK],
        responses={200: ReturnTargetSerializer(many=True)},
    )
    def get(self, request, pk):
        task = case_selectors.task_get_for_reviewer(user=request.user, task_id=pk)
        definition = version_definition(task.case.version)
        lang = self.lang[:2]
        rows = [
            {"node": node_id, "title": definition.nodes[node_id].label(lang)}
            for node_id in task_return_targets(case=task.case, task=task)
        ]
        return Response(ReturnTargetSerializer(rows, many=True).data)

    @extend_schema(
        tags=["tasks"],
        operation_id="tasks_return",
        summary="退回: send the case back to an earlier step",
        description="Only a step the case has passed and the template allows (GET lists them). Inside a "
        "parallel branch only that branch goes back; before the split every open task of the block is "
        "cancelled. 400 for a step not offered, 409 when the task was decided or is held by a colleague.",
        parameters=[TASK, idempotency_parameter()],
        request=ReturnSerializer,
        responses={200: s.TaskDetailSerializer},
    )
    def post(self, request, pk):
        case_selectors.task_get_for_reviewer(user=request.user, task_id=pk)  # 404 before the body
        body = ReturnSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data

        def send_back():
            task_return(
                task_id=pk,
                actor=request.user,
                target=data["target"],
                opinion=data["opinion"],
                come_back=data["come_back"],
            )
            return self.task_response(pk)

        return run_once(request, endpoint="task-return", action=send_back)


class TaskTakeBack(TaskViewMixin, ApiView):
    @extend_schema(
        tags=["tasks"],
        operation_id="tasks_take_back",
        summary="撤回/拿回: take back your decision of this task",
        description="Allowed while the next step has neither claimed nor decided. Answers the task that "
        "replaces it, claimed by you, with the time limit the first one had; 409 once the next reviewer "
        "has acted, 403 for anyone but the reviewer who decided.",
        parameters=[TASK, idempotency_parameter()],
        request=None,
        responses={200: s.TaskDetailSerializer},
    )
    def post(self, request, pk):
        def take_back():
            again = task_take_back(task_id=pk, actor=request.user)
            return self.task_response(again.pk)

        return run_once(request, endpoint="task-take-back", action=take_back)


class TaskTransfer(TaskViewMixin, ApiView):
    @extend_schema(
        tags=["tasks"],
        operation_id="tasks_transfer",
        summary="转办: pass the task to another department",
        description="For a task that reached the wrong department. Its time limit runs on. The template "
        "may limit the departments (400 for another) or forbid it.",
        parameters=[TASK, idempotency_parameter()],
        request=TransferSerializer,
        responses={200: TransferResultSerializer},
    )
    def post(self, request, pk):
        case_selectors.task_get_for_reviewer(user=request.user, task_id=pk)  # 404 before the body
        body = TransferSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data

        def transfer():
            task = task_transfer(
                task_id=pk, actor=request.user, department=data["department"], opinion=data["opinion"]
            )
            return Response({"id": task.pk, "department": data["department"], "status": str(task.status)})

        return run_once(request, endpoint="task-transfer", action=transfer)


class TaskAddSigner(TaskViewMixin, ApiView):
    @extend_schema(
        tags=["tasks"],
        operation_id="tasks_add_signer",
        summary="加签: add a department that signs before or after you",
        parameters=[TASK, idempotency_parameter()],
        request=AddSignerSerializer,
        responses={200: s.TaskDetailSerializer},
    )
    def post(self, request, pk):
        case_selectors.task_get_for_reviewer(user=request.user, task_id=pk)  # 404 before the body
        body = AddSignerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data

        to_user = None
        if data.get("to_user"):
            to_user = get_user_model().objects.filter(pk=data["to_user"], is_active=True).first()
            if to_user is None:
                raise serializers.ValidationError({"to_user": ["no such person"]})

        def add():
            task_add_signer(
                to_user=to_user,
                task_id=pk,
                actor=request.user,
                department=data["department"],
                position=data["position"],
                opinion=data["opinion"],
            )
            return self.task_response(pk)

        return run_once(request, endpoint="task-add-signer", action=add)


class TaskRemoveSigner(TaskViewMixin, ApiView):
    @extend_schema(
        tags=["tasks"],
        operation_id="tasks_remove_signer",
        summary="减签: remove an added signer who has not decided",
        description="Name the added signer's task (`signer`) or a department still to sign after. The "
        "reviewer who added it or the department head may.",
        parameters=[TASK, idempotency_parameter()],
        request=RemoveSignerSerializer,
        responses={200: s.TaskDetailSerializer},
    )
    def post(self, request, pk):
        case_selectors.task_get_for_reviewer(user=request.user, task_id=pk)  # 404 before the body
        body = RemoveSignerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        if not data.get("signer") and not data.get("department"):
            raise serializers.ValidationError({"signer": ["name the added signer's task or a department"]})

        def remove():
            task_remove_signer(
                task_id=pk,
                actor=request.user,
                signer_task_id=data.get("signer"),
                department=data.get("department"),
            )
            return self.task_response(pk)

        return run_once(request, endpoint="task-remove-signer", action=remove)
