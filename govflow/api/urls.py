"""/api/: the versioned API under v1/, its OpenAPI schema and interactive
docs. Any other address under /api/ is a JSON 404 in the API's error shape."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from govflow import converters  # noqa: F401  (registers <id:...>)
from govflow.collab import api as collab
from govflow.letters import api as letters
from govflow.notifications import api as notifications
from govflow.ratings.api import CaseRatings

from .errors import not_found
from .views import (
    applicant_steps,
    attachments,
    cases,
    catalogue,
    certificates,
    commitments,
    lookup,
    signals,
    task_flow,
    tasks,
)

app_name = "api"

v1 = [
    path("services/", catalogue.ServiceList.as_view(), name="services"),
    path("services/<slug:code>/", catalogue.ServiceDetail.as_view(), name="service"),
    path("services/<slug:code>/form/", catalogue.ServiceForm.as_view(), name="service-form"),
    path("services/<slug:code>/versions/", catalogue.ServiceVersions.as_view(), name="service-versions"),
    path(
        "services/<slug:code>/versions/<id:number>/",
        catalogue.ServiceVersion.as_view(),
        name="service-version",
    ),
    path("cases/", cases.CaseList.as_view(), name="cases"),
    path("cases/<str:reference>/", cases.CaseDetail.as_view(), name="case"),
    path("cases/<str:reference>/submit/", cases.CaseSubmit.as_view(), name="case-submit"),
    path("cases/<str:reference>/withdraw/", cases.CaseWithdraw.as_view(), name="case-withdraw"),
    path("cases/<str:reference>/correction/", cases.CaseCorrection.as_view(), name="case-correction"),
    path("cases/<str:reference>/timeline/", cases.CaseTimeline.as_view(), name="case-timeline"),
    path("cases/<str:reference>/ratings/", CaseRatings.as_view(), name="case-ratings"),
    path("cases/<str:reference>/urge/", collab.CaseUrge.as_view(), name="case-urge"),
    path("cases/<str:reference>/signals/<slug:name>/", signals.CaseSignal.as_view(), name="case-signal"),
    path("cases/<str:reference>/steps/", applicant_steps.CaseSteps.as_view(), name="case-steps"),
    path(
        "cases/<str:reference>/steps/<slug:task>/documents/<slug:slot>/",
        applicant_steps.CaseStepDocument.as_view(),
        name="case-step-document",
    ),
    path("cases/<str:reference>/attachments/", attachments.AttachmentList.as_view(), name="attachments"),
    path(
        "cases/<str:reference>/attachments/<id:pk>/",
        attachments.AttachmentDetail.as_view(),
        name="attachment",
    ),
    path(
        "cases/<str:reference>/attachments/<id:pk>/content/",
        attachments.AttachmentContent.as_view(),
        name="attachment-content",
    ),
    path(
        "cases/<str:reference>/certificates/",
        certificates.CaseCertificates.as_view(),
        name="case-certificates",
    ),
    path("cases/<str:reference>/letters/", letters.CaseLetters.as_view(), name="case-letters"),
    path("cases/<str:reference>/materials/", commitments.CaseMaterials.as_view(), name="case-materials"),
    path(
        "cases/<str:reference>/materials/<slug:slot>/",
        commitments.CaseMaterialSupply.as_view(),
        name="case-material-supply",
    ),
    path("materials/<id:pk>/review/", commitments.MaterialReview.as_view(), name="material-review"),
    path("verifications/", commitments.VerificationList.as_view(), name="verifications"),
    path(
        "verifications/<id:pk>/decide/", commitments.VerificationDecide.as_view(), name="verification-decide"
    ),
    path("letters/<str:number>/content/", letters.LetterContent.as_view(), name="letter-content"),
    path("notifications/", notifications.Notifications.as_view(), name="notifications"),
    path(
        "notifications/read-all/", notifications.NotificationsReadAll.as_view(), name="notifications-read-all"
    ),
    path(
        "notifications/preferences/",
        notifications.NotificationPreferences.as_view(),
        name="notification-preferences",
    ),
    path("notifications/<id:pk>/read/", notifications.NotificationRead.as_view(), name="notification-read"),
    path("lookup/", lookup.ProgressLookup.as_view(), name="lookup"),
    path("certificates/verify/", certificates.VerifyUpload.as_view(), name="certificate-verify"),
    path(
        "certificates/verify/<str:number>/",
        certificates.VerifyNumber.as_view(),
        name="certificate-verify-number",
    ),
    path(
        "certificates/<str:number>/content/",
        certificates.CertificateContent.as_view(),
        name="certificate-content",
    ),
    path("tasks/", tasks.TaskList.as_view(), name="tasks"),
    path("tasks/<id:pk>/", tasks.TaskDetail.as_view(), name="task"),
    path("tasks/<id:pk>/claim/", tasks.TaskClaim.as_view(), name="task-claim"),
    path("tasks/<id:pk>/release/", tasks.TaskRelease.as_view(), name="task-release"),
    path("tasks/<id:pk>/handover/", tasks.TaskHandover.as_view(), name="task-handover"),
    path("tasks/<id:pk>/decide/", tasks.TaskDecide.as_view(), name="task-decide"),
    path("tasks/<id:pk>/return/", task_flow.TaskReturn.as_view(), name="task-return"),
    path("tasks/<id:pk>/take-back/", task_flow.TaskTakeBack.as_view(), name="task-take-back"),
    path("tasks/<id:pk>/transfer/", task_flow.TaskTransfer.as_view(), name="task-transfer"),
    path("tasks/<id:pk>/add-signer/", task_flow.TaskAddSigner.as_view(), name="task-add-signer"),
    path("tasks/<id:pk>/remove-signer/", task_flow.TaskRemoveSigner.as_view(), name="task-remove-signer"),
    # the operations around a task (govflow.collab; docs/api.md "Task operations")
    path("tasks/batch-approve/", collab.BatchApprove.as_view(), name="tasks-batch-approve"),
    path("tasks/<id:pk>/operations/", collab.TaskOperations.as_view(), name="task-operations"),
    path("tasks/<id:pk>/delegate/", collab.TaskDelegate.as_view(), name="task-delegate"),
    path("tasks/<id:pk>/consult/", collab.TaskConsult.as_view(), name="task-consult"),
    path("tasks/<id:pk>/cc/", collab.TaskCc.as_view(), name="task-cc"),
    path("tasks/<id:pk>/extension/", collab.TaskExtension.as_view(), name="task-extension"),
    path("extensions/", collab.ExtensionsToApprove.as_view(), name="extensions"),
    path("extensions/<id:pk>/approve/", collab.ExtensionApprove.as_view(), name="extension-approve"),
    path("extensions/<id:pk>/refuse/", collab.ExtensionRefuse.as_view(), name="extension-refuse"),
    path("extensions/<id:pk>/withdraw/", collab.ExtensionWithdraw.as_view(), name="extension-withdraw"),
    path("delegations/<id:pk>/answer/", collab.DelegationAnswer.as_view(), name="delegation-answer"),
    path("delegations/<id:pk>/cancel/", collab.DelegationCancel.as_view(), name="delegation-cancel"),
    path("consultations/<id:pk>/answer/", collab.ConsultationAnswer.as_view(), name="consultation-answer"),
    path(
        "consultations/<id:pk>/withdraw/", collab.ConsultationWithdraw.as_view(), name="consultation-withdraw"
    ),
    path("requests/", collab.MyRequests.as_view(), name="my-requests"),
    path("copies/", collab.MyCopies.as_view(), name="copies"),
    path("copies/<id:pk>/read/", collab.CopyRead.as_view(), name="copy-read"),
    path("proxies/", collab.Proxies.as_view(), name="proxies"),
    path("proxies/<id:pk>/cancel/", collab.ProxyCancel.as_view(), name="proxy-cancel"),
    path("opinions/", collab.SavedOpinions.as_view(), name="opinions"),
    path("opinions/<id:pk>/", collab.SavedOpinionDetail.as_view(), name="opinion"),
    path("departments/", catalogue.DepartmentList.as_view(), name="departments"),
    path("departments/<slug:code>/", catalogue.DepartmentDetail.as_view(), name="department"),
    path(
        "departments/<slug:code>/reassign/",
        collab.DepartmentReassign.as_view(),
        name="department-reassign",
    ),
    path("calendars/", catalogue.CalendarList.as_view(), name="calendars"),
    path("calendars/<slug:code>/", catalogue.CalendarDetail.as_view(), name="calendar"),
    path("calendars/<slug:code>/days/", catalogue.CalendarDays.as_view(), name="calendar-days"),
    path(
        "calendars/<slug:code>/working-days/",
        catalogue.CalendarWorkingDays.as_view(),
        name="calendar-working-days",
    ),
    path("me/", catalogue.MeView.as_view(), name="me"),
    path("catalog/", include("govflow.catalog.api_urls")),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI with its start-up script as a static file: the CSP allows no inline script.
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api:schema", template_name="api/swagger_ui.html"),
        name="docs",
    ),
    # [\s\S]: a decoded newline in the path is still "any address".
    re_path(r"^[\s\S]*$", not_found),
]
