"""Template context: whether the user is an auditor (for the navigation)."""

from django.utils.functional import SimpleLazyObject

from govflow.accounts.permissions import is_auditor


def auditor(request):
    return {"is_auditor": SimpleLazyObject(lambda: is_auditor(getattr(request, "user", None)))}
