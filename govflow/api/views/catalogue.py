"""Services (published templates and their forms), departments, working-day
calendars, and who the caller is."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from govflow.accounts.models import Department
from govflow.errors import NotFound
from govflow.processes.models import ProcessVersion
from govflow.timers.models import Calendar, CalendarDay
from govflow.web.selectors import service_get, services_catalogue

from .. import selectors
from .. import serializers as s
from ..pagination import page_request, page_response
from ..schema import PAGE_PARAMETERS, page_of
from .base import ApiListView, ApiView, PublicMixin

CODE = OpenApiParameter("code", str, OpenApiParameter.PATH, description="the service's code")


class ServiceList(PublicMixin, ApiView):
    @extend_schema(
        tags=["services"],
        operation_id="services_list",
        summary="The services one can apply for",
        parameters=PAGE_PARAMETERS,
        responses={200: page_of(s.ServiceSerializer)},
    )
    def get(self, request):
        page = page_request(request)
        entries = services_catalogue(language=self.lang)
        rows = entries[page.offset : page.offset + page.page_size + 1]
        data = s.ServiceSerializer(rows[: page.page_size], many=True, context=self.context()).data
        return page_response(request, page, data, len(rows) > page.page_size)


class ServiceDetail(PublicMixin, ApiView):
    @extend_schema(
        tags=["services"],
        summary="A service, with its current form schema",
        parameters=[CODE],
        responses={200: s.ServiceDetailSerializer},
    )
    def get(self, request, code):
        entry = service_get(code=code, language=self.lang)
        return Response(s.ServiceDetailSerializer(entry, context=self.context()).data)


class ServiceForm(PublicMixin, ApiView):
    @extend_schema(
        tags=["services"],
        summary="The current form schema of a service",
        parameters=[CODE],
        responses={200: s.FormSchemaSerializer},
    )
    def get(self, request, code):
        entry = service_get(code=code, language=self.lang)
        return Response(s.FormSchemaSerializer(entry.definition.form).data)


class ServiceVersions(PublicMixin, ApiListView):
    queryset = ProcessVersion.objects.none()  # the model, for the schema; rows come from selectors
    serializer_class = s.VersionSerializer

    @extend_schema(
        tags=["services"],
        operation_id="services_versions_list",
        summary="The published versions of a service",
        parameters=[CODE],
    )
    def get(self, request, code):
        template, versions = selectors.versions_for_service(code=code)
        self._current = template.current_version_id
        return self.list_response(versions)

    def get_serializer_context(self):
        return self.context(current_version_id=getattr(self, "_current", None))


class ServiceVersion(PublicMixin, ApiView):
    @extend_schema(
        tags=["services"],
        summary="One published version, with its form schema",
        parameters=[CODE, OpenApiParameter("number", int, OpenApiParameter.PATH)],
        responses={200: s.VersionDetailSerializer},
    )
    def get(self, request, code, number):
        template, version, definition = selectors.version_for_service(code=code, number=number)
        context = self.context(
            current_version_id=template.current_version_id, definitions={version.pk: definition}
        )
        return Response(s.VersionDetailSerializer(version, context=context).data)


class DepartmentList(PublicMixin, ApiListView):
    queryset = Department.objects.none()  # the model, for the schema; rows come from selectors
    serializer_class = s.DepartmentSerializer

    @extend_schema(tags=["reference"], operation_id="departments_list", summary="Departments")
    def get(self, request):
        return self.list_response(selectors.departments())


class DepartmentDetail(PublicMixin, ApiView):
    @extend_schema(
        tags=["reference"],
        summary="A department",
        parameters=[OpenApiParameter("code", str, OpenApiParameter.PATH)],
        responses={200: s.DepartmentSerializer},
    )
    def get(self, request, code):
        department = selectors.departments().filter(code=code).first()
        if department is None:
            raise NotFound("department not found")
        return Response(s.DepartmentSerializer(department, context=self.context()).data)


class CalendarList(PublicMixin, ApiListView):
    queryset = Calendar.objects.none()  # the model, for the schema; rows come from selectors
    serializer_class = s.CalendarSerializer

    @extend_schema(
        tags=["reference"],
        operation_id="calendars_list",
        summary="Working-day calendars (one per jurisdiction)",
    )
    def get(self, request):
        return self.list_response(selectors.calendars())


CALENDAR = OpenApiParameter("code", str, OpenApiParameter.PATH, description="the jurisdiction, e.g. cn")


class CalendarDetail(PublicMixin, ApiView):
    @extend_schema(
        tags=["reference"],
        summary="A calendar and the years loaded into it",
        parameters=[CALENDAR],
        responses={200: s.CalendarSerializer},
    )
    def get(self, request, code):
        calendar = selectors.calendar_by_code(code=code)
        return Response(s.CalendarSerializer(calendar, context=self.context()).data)


class CalendarDays(PublicMixin, ApiListView):
    queryset = CalendarDay.objects.none()  # the model, for the schema; rows come from selectors
    serializer_class = s.CalendarDaySerializer

    @extend_schema(
        tags=["reference"],
        summary="Statutory holidays and adjusted working days of a calendar",
        parameters=[CALENDAR, s.CalendarDayQuerySerializer],
    )
    def get(self, request, code):
        query = s.CalendarDayQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        return self.list_response(selectors.calendar_days(code=code, **query.validated_data))


class CalendarWorkingDays(PublicMixin, ApiView):
    @extend_schema(
        tags=["reference"],
        summary="Count working days between two dates",
        parameters=[CALENDAR, s.WorkingDaysQuerySerializer],
        responses={200: s.WorkingDaysSerializer},
    )
    def get(self, request, code):
        query = s.WorkingDaysQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        result = selectors.working_days(code=code, **query.validated_data)
        return Response(s.WorkingDaysSerializer(result).data)


class MeView(ApiView):
    @extend_schema(tags=["reference"], summary="Who the caller is", responses={200: s.MeSerializer})
    def get(self, request):
        return Response(s.MeSerializer(selectors.me(user=request.user), context=self.context()).data)
