from django.urls import path

from govflow import converters  # noqa: F401  (registers <id:...>)
from govflow.web.urls import ReferenceConverter  # noqa: F401  (registers <ref:...>)

from . import views

app_name = "collab"

urlpatterns = [
    path("tasks/<id:pk>/delegate/", views.task_delegate, name="delegate"),
    path("tasks/<id:pk>/consult/", views.task_consult, name="consult"),
    path("tasks/<id:pk>/cc/", views.task_cc, name="cc"),
    path("tasks/<id:pk>/extension/", views.task_extension, name="extension"),
    path("extensions/<id:pk>/answer/", views.extension_answer, name="extension_answer"),
    path("extensions/<id:pk>/withdraw/", views.extension_withdraw, name="extension_withdraw"),
    path("delegations/<id:pk>/answer/", views.delegation_answer, name="delegation_answer"),
    path("delegations/<id:pk>/cancel/", views.delegation_cancel, name="delegation_cancel"),
    path("consultations/<id:pk>/answer/", views.consultation_answer, name="consultation_answer"),
    path("consultations/<id:pk>/withdraw/", views.consultation_withdraw, name="consultation_withdraw"),
    path("requests/", views.requests_page, name="requests"),
    path("copies/", views.copies_page, name="copies"),
    path("copies/<id:pk>/", views.copy_open, name="copy"),
    path("cases/<ref:reference>/urge/", views.case_urge, name="urge"),
    path("proxies/", views.proxies_page, name="proxies"),
    path("proxies/<id:pk>/cancel/", views.proxy_cancel, name="proxy_cancel"),
    path("reassign/", views.reassign, name="reassign"),
    path("opinions/", views.opinions_page, name="opinions"),
    path("opinions/<id:pk>/delete/", views.opinion_delete, name="opinion_delete"),
    path("batch/", views.batch_page, name="batch"),
]
