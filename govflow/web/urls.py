from django.contrib.auth import views as auth_views
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import path, register_converter

from govflow import converters  # noqa: F401  (registers <id:...>)
from govflow.security.login import login_view

from .views import console, inbox, inbox_flow, lookup, portal


class ReferenceConverter:
    regex = "[A-Z0-9]{4,32}"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(ReferenceConverter, "ref")

app_name = "web"


def favicon(request):
    # static() at request time: with the manifest storage of production it
    # needs collected files, which importing the URLconf (manage.py check)
    # must not.
    return HttpResponsePermanentRedirect(static("govflow/favicon.svg"))


urlpatterns = [
    path("", portal.catalogue, name="catalogue"),
    path("services/<slug:code>/", portal.service_detail, name="service"),
    path("services/<slug:code>/apply/", portal.service_apply, name="service_apply"),
    path("cases/", portal.my_cases, name="my_cases"),
    path("cases/<ref:reference>/", portal.case_page, name="case"),
    path("cases/<ref:reference>/edit/", portal.case_edit, name="case_edit"),
    path("cases/<ref:reference>/rows/<slug:table>/", portal.table_row, name="table_row"),
    path("cases/<ref:reference>/correct/", portal.case_correct, name="case_correct"),
    path("cases/<ref:reference>/withdraw/", portal.case_withdraw_view, name="case_withdraw"),
    path("cases/<ref:reference>/steps/<slug:task>/", portal.case_step, name="case_step"),
    path("cases/<ref:reference>/attachments/<id:pk>/", portal.attachment_download, name="attachment"),
    path("lookup/", lookup.lookup, name="lookup"),
    # Browsers and crawlers ask for /favicon.ico whatever the page links.
    path("favicon.ico", favicon),
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/department/", inbox.department, name="department"),
    path("inbox/tasks/<id:pk>/claim/", inbox.task_claim_view, name="task_claim"),
    path("inbox/tasks/<id:pk>/release/", inbox.task_release_view, name="task_release"),
    path("inbox/tasks/<id:pk>/handover/", inbox.task_handover_view, name="task_handover"),
    path("inbox/tasks/<id:pk>/decide/", inbox.task_decide_view, name="task_decide"),
    path("inbox/tasks/<id:pk>/return/", inbox_flow.task_return_view, name="task_return"),
    path("inbox/tasks/<id:pk>/take-back/", inbox_flow.task_take_back_view, name="task_take_back"),
    path("inbox/tasks/<id:pk>/transfer/", inbox_flow.task_transfer_view, name="task_transfer"),
    path("inbox/tasks/<id:pk>/add-signer/", inbox_flow.task_add_signer_view, name="task_add_signer"),
    path("inbox/tasks/<id:pk>/remove-signer/", inbox_flow.task_remove_signer_view, name="task_remove_signer"),
    path("console/", console.home, name="console"),
    path("console/editor/", console.editor, name="console_editor"),
    path("console/designer/new/", console.designer_new, name="console_designer_new"),
    path("console/templates/<slug:code>/", console.template_detail, name="console_template"),
    path("console/templates/<slug:code>/designer/", console.designer, name="console_designer"),
    path(
        "console/templates/<slug:code>/designer/condition/",
        console.designer_condition,
        name="console_designer_condition",
    ),
    path(
        "console/templates/<slug:code>/second-approval/",
        console.second_approval,
        name="console_second_approval",
    ),
    path(
        "console/templates/<slug:code>/proposals/<id:pk>/",
        console.proposal_detail,
        name="console_proposal",
    ),
    path(
        "console/templates/<slug:code>/proposals/<id:pk>/decide/",
        console.proposal_decide,
        name="console_proposal_decide",
    ),
    path("console/templates/<slug:code>/v<id:number>/", console.version_detail, name="console_version"),
    path("console/templates/<slug:code>/v<id:number>/diagram.svg", console.version_svg, name="console_svg"),
    path("accounts/login/", login_view, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
