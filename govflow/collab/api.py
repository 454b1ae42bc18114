"""/api/v1/: the task operations over the API (委派, 会商, 抄送, 催办, 代理,
离职交接, 常用意见, 批量审批). Thin views over the collab services; errors
in the one JSON shape; every POST takes an Idempotency-Key."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from govflow.accounts.models import Department
from govflow.accounts.permissions import has_role
from govflow.api.fields import BodySerializer, IdField, TextField, WholeNumberField
from govflow.api.idempotency import run_once
from govflow.api.schema import idempotency_parameter
from govflow.api.views.base import ActionView, ApiView, action
from govflow.cases.models import Case
from govflow.cases.selectors import case_access, task_get_for_reviewer
from govflow.errors import NotFound

from . import copies, extensions, proxies, selectors, services, urges

TASK = OpenApiParameter("id", int, OpenApiParameter.PATH, description="the task id")
ID = OpenApiParameter("id", int, OpenApiParameter.PATH)
REFERENCE = OpenApiParameter("reference", str, OpenApiParameter.PATH, description="the case reference")


class DelegateSerializer(BodySerializer):
    to_user = IdField(help_text="the colleague's user id")
    note = TextField(required=False, allow_blank=True, default="", max_length=2000)


class ConsultSerializer(BodySerializer):
    departments = serializers.ListField(child=TextField(max_length=64), min_length=1, max_length=10)
    question = TextField(max_length=2000)
    days = WholeNumberField(min_value=1, max_value=30, default=services.DEFAULT_CONSULT_DAYS)


class CcSerializer(BodySerializer):
    users = serializers.ListField(child=IdField(), required=False, default=list, max_length=200)
    departments = serializers.ListField(
        child=TextField(max_length=64), required=False, default=list, max_length=20
    )
    note = TextField(required=False, allow_blank=True, default="", max_length=500)


class OpinionSerializer(BodySerializer):
    opinion = TextField(max_length=2000)


class UrgeSerializer(BodySerializer):
    task = IdField(required=False, allow_null=True, default=None, help_text="one task only")
    note = TextField(required=False, allow_blank=True, default="", max_length=200)


class DelegationOut(serializers.Serializer):
    id = serializers.IntegerField()
    delegate = serializers.IntegerField(source="delegate_id")
    delegated_by = serializers.IntegerField(source="delegated_by_id")
    note = TextField()
    status = TextField()
    opinion = TextField()
    created_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)


class ConsultationOut(serializers.Serializer):
    id = serializers.IntegerField()
    department = TextField(source="department.code")
    question = TextField()
    days = serializers.IntegerField()
    due_at = serializers.DateTimeField()
    due_provisional = serializers.BooleanField()
    status = TextField()
    opinion = TextField()
    answered_at = serializers.DateTimeField(allow_null=True)


class CopyOut(serializers.Serializer):
    id = serializers.IntegerField()
    user = serializers.IntegerField(source="user_id")
    sent_by = serializers.IntegerField(
        source="sent_by_id", allow_null=True, help_text="null: the template's cc"
    )
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class UrgeOut(serializers.Serializer):
    id = serializers.IntegerField()
    task = serializers.IntegerField(source="task_id")
    role = TextField()
    note = TextField()
    created_at = serializers.DateTimeField()


class OperationsOut(serializers.Serializer):
    task = serializers.IntegerField(source="task.pk")
    holds = serializers.BooleanField(help_text="you hold the task (or act for its holder)")
    acting_for = serializers.IntegerField(allow_null=True)
    waiting = serializers.BooleanField(help_text="the decision waits for a delegation or a consultation")
    can_delegate = serializers.BooleanField()
    can_consult = serializers.BooleanField()
    delegations = DelegationOut(many=True)
    consultations = ConsultationOut(many=True)
    copies = CopyOut(many=True, help_text="who the task was copied to, and who has read it")
    urges = UrgeOut(many=True)


class TaskOperationsMixin:
    def operations(self, pk: int) -> Response:
        task = task_get_for_reviewer(user=self.request.user, task_id=pk)
        return Response(OperationsOut(selectors.task_operations(user=self.request.user, task=task)).data)


class TaskOperations(TaskOperationsMixin, ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="The task's delegations, consultations, copies and urges",
        parameters=[TASK],
        responses={200: OperationsOut},
    )
    def get(self, request, pk):
        return self.operations(pk)


class TaskDelegate(TaskOperationsMixin, ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="委派: ask a colleague to handle the task; you decide when their opinion is back",
        description="Only the reviewer holding the task (or their acting officer). One open delegation per "
        "task; until it is answered or taken back the task cannot be decided (409 delegation_open).",
        parameters=[TASK, idempotency_parameter()],
        request=DelegateSerializer,
        responses={200: OperationsOut},
    )
    def post(self, request, pk):
        task_get_for_reviewer(user=request.user, task_id=pk)  # outsiders: 404 before any 400
        body = DelegateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        to_user = get_user_model().objects.filter(pk=body.validated_data["to_user"], is_active=True).first()

        def delegate():
            services.delegation_request(
                task_id=pk, actor=request.user, to_user=to_user, note=body.validated_data["note"]
            )
            return self.operations(pk)

        return run_once(request, endpoint="task-delegate", action=delegate)


class TaskConsult(TaskOperationsMixin, ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="会商: ask other departments for their opinion within a number of working days",
        description="The limit is counted on the template's working-day calendar (due_provisional when it "
        "runs past the loaded calendar). Until every opinion is in or its limit has passed, deciding the "
        "task is a 409 consultation_open.",
        parameters=[TASK, idempotency_parameter()],
        request=ConsultSerializer,
        responses={200: OperationsOut},
    )
    def post(self, request, pk):
        task_get_for_reviewer(user=request.user, task_id=pk)  # outsiders: 404 before any 400
        body = ConsultSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        def consult():
            services.consultation_request(task_id=pk, actor=request.user, **body.validated_data)
            return self.operations(pk)

        return run_once(request, endpoint="task-consult", action=consult)


class TaskCc(TaskOperationsMixin, ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="抄送: copy the task to colleagues and/or departments (read only for them)",
        parameters=[TASK, idempotency_parameter()],
        request=CcSerializer,
        responses={200: OperationsOut},
    )
    def post(self, request, pk):
        task_get_for_reviewer(user=request.user, task_id=pk)  # outsiders: 404 before any 400
        body = CcSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        def cc():
            copies.copy_send(
                task_id=pk,
                actor=request.user,
                user_ids=body.validated_data["users"],
                departments=body.validated_data["departments"],
                note=body.validated_data["note"],
            )
            return self.operations(pk)

        return run_once(request, endpoint="task-cc", action=cc)


@action(tags=["tasks"], summary="Answer a delegation made to you", parameters=[ID])
class DelegationAnswer(ActionView):
    body, out, endpoint = OpinionSerializer, DelegationOut, "delegation-answer"

    def act(self, data, pk):
        return services.delegation_answer(delegation_id=pk, actor=self.request.user, opinion=data["opinion"])


@action(tags=["tasks"], summary="Take an unanswered delegation back", parameters=[ID])
class DelegationCancel(ActionView):
    out, endpoint = DelegationOut, "delegation-cancel"

    def act(self, data, pk):
        return services.delegation_cancel(delegation_id=pk, actor=self.request.user)


@action(tags=["tasks"], summary="Give your department's opinion on a consultation", parameters=[ID])
class ConsultationAnswer(ActionView):
    body, out, endpoint = OpinionSerializer, ConsultationOut, "consultation-answer"

    def act(self, data, pk):
        return services.consultation_answer(
            consultation_id=pk, actor=self.request.user, opinion=data["opinion"]
        )


@action(tags=["tasks"], summary="Withdraw an unanswered consultation", parameters=[ID])
class ConsultationWithdraw(ActionView):
    out, endpoint = ConsultationOut, "consultation-withdraw"

    def act(self, data, pk):
        return services.consultation_withdraw(consultation_id=pk, actor=self.request.user)


class RequestsOut(serializers.Serializer):
    delegations = DelegationOut(many=True)
    consultations = ConsultationOut(many=True)


class MyRequests(ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="待我回复: open delegations to you and consultations of your departments",
        responses={200: RequestsOut},
    )
    def get(self, request):
        delegations, consultations = selectors.requests_for_user(user=request.user)
        return Response(RequestsOut({"delegations": delegations, "consultations": consultations}).data)


class CopyItem(serializers.Serializer):
    id = serializers.IntegerField()
    case = TextField(source="case.reference")
    task = serializers.IntegerField(source="task_id")
    node = TextField(source="task.node_id")
    sent_by = serializers.IntegerField(source="sent_by_id", allow_null=True)
    note = TextField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class MyCopies(ApiView):
    @extend_schema(
        tags=["tasks"], summary="抄送我的: cases copied to you", responses={200: CopyItem(many=True)}
    )
    def get(self, request):
        return Response(CopyItem(selectors.copies_for_user(user=request.user)[:200], many=True).data)


class CopyRead(ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="Mark a copy read (the sender sees it)",
        parameters=[ID],
        request=None,
        responses={200: CopyItem},
    )
    def post(self, request, pk):
        return Response(CopyItem(copies.copy_mark_read(copy_id=pk, actor=request.user)).data)


class CaseUrge(ApiView):
    @extend_schema(
        tags=["cases"],
        operation_id="case_urge",
        summary="催办: urge the case's open steps",
        description="The applicant: a case in review, once per working day, a step that has used half of "
        "its time limit (409 too_early / urged_today). A department head: the steps of their departments; a "
        "leader: any step, at any time. The holder (and their acting officer), else the department, is "
        "notified; webhooks hear case.urged.",
        parameters=[REFERENCE, idempotency_parameter()],
        request=UrgeSerializer,
        responses={201: UrgeOut(many=True)},
    )
    def post(self, request, reference):
        case = Case.objects.filter(reference=reference).only("pk", "applicant_id").first()
        if case is None:
            raise NotFound("case not found")
        if case.applicant_id != request.user.pk:
            try:
                case_access(user=request.user, reference=reference)
            except NotFound:
                if not has_role(request.user, "leader"):
                    raise
        body = UrgeSerializer(data=request.data)
        body.is_valid(raise_exception=True)

        def urge():
            made = urges.case_urge(
                case_id=case.pk,
                actor=request.user,
                task_id=body.validated_data["task"],
                note=body.validated_data["note"],
            )
            return Response(UrgeOut(made, many=True).data, status=201)

        return run_once(request, endpoint="case-urge", action=urge)


class ProxyIn(BodySerializer):
    principal = IdField(required=False, allow_null=True, default=None, help_text="default: you")
    proxy = IdField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = TextField(required=False, allow_blank=True, default="", max_length=200)


class ProxyOut(serializers.Serializer):
    id = serializers.IntegerField()
    principal = serializers.IntegerField(source="principal_id")
    proxy = serializers.IntegerField(source="proxy_id")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = TextField()
    cancelled_at = serializers.DateTimeField(allow_null=True)


def _user_or_404(pk):
    user = get_user_model().objects.filter(pk=pk, is_active=True).first()
    if user is None:
        raise NotFound("user not found")
    return user


class Proxies(ApiView):
    @extend_schema(
        tags=["proxies"],
        summary="代理: your current and coming acting arrangements",
        responses={200: ProxyOut(many=True)},
    )
    def get(self, request):
        return Response(ProxyOut(selectors.proxies_for_user(user=request.user), many=True).data)

    @extend_schema(
        tags=["proxies"],
        summary="Name an acting officer for a period",
        description="For yourself, or (a department head) for a reviewer of your department. The acting "
        "officer must share a department with the reviewer; during the period they act on the tasks the "
        "reviewer holds there, and the audit records whom they acted for.",
        parameters=[idempotency_parameter()],
        request=ProxyIn,
        responses={201: ProxyOut},
    )
    def post(self, request):
        body = ProxyIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        principal = _user_or_404(data["principal"]) if data["principal"] else request.user
        proxy = get_user_model().objects.filter(pk=data["proxy"], is_active=True).first()

        def appoint():
            record = proxies.proxy_appoint(
                actor=request.user,
                principal=principal,
                proxy=proxy,
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                reason=data["reason"],
            )
            return Response(ProxyOut(record).data, status=201)

        return run_once(request, endpoint="proxies", action=appoint)


@action(tags=["proxies"], summary="Withdraw an acting officer", parameters=[ID])
class ProxyCancel(ActionView):
    out, endpoint = ProxyOut, "proxy-cancel"

    def act(self, data, pk):
        return proxies.proxy_cancel(proxy_id=pk, actor=self.request.user)


class ReassignIn(BodySerializer):
    from_user = IdField()
    to_user = IdField()


class ReassignOut(serializers.Serializer):
    tasks = serializers.ListField(child=serializers.IntegerField())


class DepartmentReassign(ApiView):
    @extend_schema(
        tags=["proxies"],
        summary="离职交接: hand every task a leaving reviewer holds in the department to a colleague",
        parameters=[OpenApiParameter("code", str, OpenApiParameter.PATH), idempotency_parameter()],
        request=ReassignIn,
        responses={200: ReassignOut},
    )
    def post(self, request, code):
        department = Department.objects.filter(code=code).first()
        if department is None:
            raise NotFound("department not found")
        body = ReassignIn(data=request.data)
        body.is_valid(raise_exception=True)
        from_user = _user_or_404(body.validated_data["from_user"])
        to_user = _user_or_404(body.validated_data["to_user"])

        def reassign():
            moved = proxies.tasks_reassign(
                actor=request.user, department_id=department.pk, from_user=from_user, to_user=to_user
            )
            return Response({"tasks": moved})

        return run_once(request, endpoint="department-reassign", action=reassign)


class SavedOpinionOut(serializers.Serializer):
    id = serializers.IntegerField()
    text = TextField()


class SavedOpinionIn(BodySerializer):
    text = TextField(max_length=500)


class SavedOpinions(ApiView):
    @extend_schema(
        tags=["opinions"],
        summary="常用意见: your saved opinions",
        responses={200: SavedOpinionOut(many=True)},
    )
    def get(self, request):
        return Response(SavedOpinionOut(selectors.saved_opinions(user=request.user), many=True).data)

    @extend_schema(
        tags=["opinions"],
        summary="Keep an opinion",
        parameters=[idempotency_parameter()],
        request=SavedOpinionIn,
        responses={201: SavedOpinionOut},
    )
    def post(self, request):
        body = SavedOpinionIn(data=request.data)
        body.is_valid(raise_exception=True)

        def save():
            kept = proxies.opinion_save(actor=request.user, text_value=body.validated_data["text"])
            return Response(SavedOpinionOut(kept).data, status=201)

        return run_once(request, endpoint="opinions", action=save)


class SavedOpinionDetail(ApiView):
    @extend_schema(
        tags=["opinions"], summary="Delete a saved opinion", parameters=[ID], responses={204: None}
    )
    def delete(self, request, pk):
        proxies.opinion_delete(actor=request.user, opinion_id=pk)
        return Response(status=204)


class BatchIn(BodySerializer):
    tasks = serializers.ListField(child=IdField(), min_length=1, max_length=50)
    opinion = TextField(required=False, allow_blank=True, default="", max_length=4000)


class BatchResultOut(serializers.Serializer):
    task_id = serializers.IntegerField()
    ok = serializers.BooleanField()
    error = TextField()
    code = TextField()


class BatchApprove(ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="批量审批: approve several tasks of one step at once",
        description="All tasks of one step of one service whose template says batch: true (else 400). Each "
        "task is decided on its own: the result lists what was approved and why any was refused.",
        parameters=[idempotency_parameter()],
        request=BatchIn,
        responses={200: BatchResultOut(many=True)},
    )
    def post(self, request):
        body = BatchIn(data=request.data)
        body.is_valid(raise_exception=True)

        def approve():
            results = proxies.tasks_approve_batch(
                actor=request.user,
                task_ids=body.validated_data["tasks"],
                opinion=body.validated_data["opinion"],
            )
            return Response(BatchResultOut(results, many=True).data)

        return run_once(request, endpoint="tasks-batch-approve", action=approve)


# -- 延期 (行政许可法 art 42) ----------------------------------------------------------


class ExtensionAskSerializer(BodySerializer):
    reason = TextField(max_length=2000, help_text="why the step cannot be decided within its limit")


class ExtensionAnswerSerializer(BodySerializer):
    answer = TextField(
        required=False, allow_blank=True, default="", max_length=2000, help_text="required to refuse"
    )


class ExtensionOut(serializers.Serializer):
    id = serializers.IntegerField()
    case = TextField(source="case.reference")
    task = serializers.IntegerField(source="task_id")
    node = TextField(source="task.node_id")
    department = TextField(source="task.department.code", allow_null=True)
    requested_by = serializers.IntegerField(source="requested_by_id")
    reason = TextField()
    status = serializers.ChoiceField(choices=["pending", "approved", "refused", "withdrawn"])
    created_at = serializers.DateTimeField()
    decided_by = serializers.IntegerField(source="decided_by_id", allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    answer = TextField()
    due_before = serializers.DateTimeField(allow_null=True, help_text="the time limit when asked")
    due_after = serializers.DateTimeField(allow_null=True, help_text="the time limit once approved")
    letter = TextField(source="letter.number", allow_null=True, default=None, help_text="the letter sent")


@action(
    tags=["tasks"],
    summary="延期: ask the department head to extend the task's time limit",
    description="Only the reviewer holding the task. 409 extension_not_allowed (the template forbids "
    "it or the step has no time limit), extension_limit_reached (extended as often as the template "
    "allows: once by default), deadline_passed, extension_pending (one already waits).",
    parameters=[TASK],
)
class TaskExtension(ActionView):
    body, out, endpoint = ExtensionAskSerializer, ExtensionOut, "task-extension"

    def check(self, pk):
        task_get_for_reviewer(user=self.request.user, task_id=pk)  # outsiders: 404 before any 400

    def act(self, data, pk):
        return extensions.extension_request(task_id=pk, actor=self.request.user, reason=data["reason"])


@action(
    tags=["tasks"],
    summary="延期: approve (the head of the task's department): the time limit moves, the applicant "
    "gets a letter",
    parameters=[ID],
)
class ExtensionApprove(ActionView):
    body, out, endpoint = ExtensionAnswerSerializer, ExtensionOut, "extension-approve"

    def act(self, data, pk):
        return extensions.extension_approve(extension_id=pk, actor=self.request.user, note=data["answer"])


@action(
    tags=["tasks"],
    summary="延期: refuse (the head of the task's department), saying why",
    parameters=[ID],
)
class ExtensionRefuse(ActionView):
    body, out, endpoint = ExtensionAnswerSerializer, ExtensionOut, "extension-refuse"

    def act(self, data, pk):
        return extensions.extension_refuse(extension_id=pk, actor=self.request.user, note=data["answer"])


@action(
    tags=["tasks"],
    summary="延期: withdraw a request the head has not answered (the requester or the task's holder)",
    parameters=[ID],
)
class ExtensionWithdraw(ActionView):
    out, endpoint = ExtensionOut, "extension-withdraw"

    def act(self, data, pk):
        return extensions.extension_withdraw(extension_id=pk, actor=self.request.user)


class ExtensionsToApprove(ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="延期审批: the extensions waiting for you as head of the task's department",
        responses={200: ExtensionOut(many=True)},
    )
    def get(self, request):
        return Response(ExtensionOut(selectors.extensions_for_head(user=request.user), many=True).data)
