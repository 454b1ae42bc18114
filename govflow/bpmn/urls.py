from django.urls import path

from govflow import converters  # noqa: F401  (registers <id:...>)
from govflow.web.urls import ReferenceConverter  # noqa: F401  (registers the "ref" converter)

from . import views

app_name = "bpmn"

urlpatterns = [
    path("import/", views.import_upload, name="import"),
    path("templates/<slug:code>/v<id:number>.bpmn", views.version_xml, name="version"),
    path("templates/<slug:code>/designer.bpmn", views.designer_xml, name="designer"),
    path("cases/<ref:reference>.bpmn", views.case_xml, name="case"),
]
