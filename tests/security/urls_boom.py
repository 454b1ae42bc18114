"""A URL whose view fails with personal data in hand (for the error page test)."""

from django.urls import include, path


def boom(request):
    id_number = request.POST.get("id_number", "")
    raise ValueError(f"cannot handle {id_number}")


urlpatterns = [path("boom/", boom), path("", include("govflow.urls"))]
