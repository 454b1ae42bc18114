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
from .base import ActionView, action
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

    def validate_to_user(self, value):
        person = get_user_model().objects.filter(pk=value, is_active=True).first()
        if person is None:
            raise serializers.ValidationError("no such person")
        return person


class RemoveSignerSerializer(BodySerializer):
    signer = serializers.IntegerField(min_value=1, required=False, help_text="the added signer's task id")
    department = SlugTextField(
        max_length=64, required=False, help_text="a department still to sign after (not yet asked)"
    )

    def validate(self, attrs):
        if not attrs.get("signer") and not attrs.get("department"):
            raise serializers.ValidationError({"signer": ["name the added signer's task or a department"]})
        return attrs


# An operation on a task that answers with the task as its holder sees it
# now (a comment: the schema would take a docstring as the operations' text).
class TaskAction(TaskViewMixin, ActionView):

    def check(self, pk):
        case_selectors.task_get_for_reviewer(user=self.request.user, task_id=pk)  # 404 before the body

    def answer(self, result, pk):
        return self.task_response(pk)


@action(
    tags=["tasks"],
    operation_id="tasks_return",
    summary="退回: send the case back to an earlier step",
    description="Only a step the case has passed and the template allows (GET lists them). Inside a "
    "parallel branch only that branch goes back; before the split every open task of the block is "
    "cancelled. 400 for a step not offered, 409 when the task was decided or is held by a colleague.",
    parameters=[TASK],
)
class TaskReturn(TaskAction):
    body, out, endpoint = ReturnSerializer, s.TaskDetailSerializer, "task-return"

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

    def act(self, data, pk):
        return task_return(
            task_id=pk,
            actor=self.request.user,
            target=data["target"],
            opinion=data["opinion"],
            come_back=data["come_back"],
        )


@action(
    tags=["tasks"],
    operation_id="tasks_take_back",
    summary="撤回/拿回: take back your decision of this task",
    description="Allowed while the next step has neither claimed nor decided. Answers the task that "
    "replaces it, claimed by you, with the time limit the first one had; 409 once the next reviewer "
    "has acted, 403 for anyone but the reviewer who decided.",
    parameters=[TASK],
)
class TaskTakeBack(TaskAction):
    out, endpoint = s.TaskDetailSerializer, "task-take-back"

    def check(self, pk):
        """The service says who may (the task is decided: not in the inbox)."""

    def act(self, data, pk):
        return task_take_back(task_id=pk, actor=self.request.user)

    def answer(self, result, pk):
        return self.task_response(result.pk)  # the task that replaces it


@action(
    tags=["tasks"],
    operation_id="tasks_transfer",
    summary="转办: pass the task to another department",
    description="For a task that reached the wrong department. Its time limit runs on. The template "
    "may limit the departments (400 for another) or forbid it.",
    parameters=[TASK],
)
class TaskTransfer(TaskAction):
    body, out, endpoint = TransferSerializer, TransferResultSerializer, "task-transfer"

    def act(self, data, pk):
        task = task_transfer(
            task_id=pk, actor=self.request.user, department=data["department"], opinion=data["opinion"]
        )
        return {"id": task.pk, "department": data["department"], "status": str(task.status)}

    def answer(self, result, pk):
        return Response(result)


@action(
    tags=["tasks"],
    operation_id="tasks_add_signer",
    summary="加签: add a department that signs before or after you",
    parameters=[TASK],
)
class TaskAddSigner(TaskAction):
    body, out, endpoint = AddSignerSerializer, s.TaskDetailSerializer, "task-add-signer"

    def act(self, data, pk):
        return task_add_signer(
            to_user=data.get("to_user"),
            task_id=pk,
            actor=self.request.user,
            department=data["department"],
            position=data["position"],
            opinion=data["opinion"],
        )


@action(
    tags=["tasks"],
    operation_id="tasks_remove_signer",
    summary="减签: remove an added signer who has not decided",
    description="Name the added signer's task (`signer`) or a department still to sign after. The "
    "reviewer who added it or the department head may.",
    parameters=[TASK],
)
class TaskRemoveSigner(TaskAction):
    body, out, endpoint = RemoveSignerSerializer, s.TaskDetailSerializer, "task-remove-signer"

    def act(self, data, pk):
        return task_remove_signer(
            task_id=pk,
            actor=self.request.user,
            signer_task_id=data.get("signer"),
            department=data.get("department"),
        )
