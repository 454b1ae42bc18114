"""Template context for every page: the user's roles for the navigation."""

from django.utils.functional import SimpleLazyObject

from .views.common import roles_of


def navigation(request):
    return {"roles": SimpleLazyObject(lambda: roles_of(request))}
