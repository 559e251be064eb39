"""API of schedules (administrators) and of availability (what patients and the desk book)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from api.views import ClinicAPIView
from clinic.fields import model_errors
from clinic.models import Role
from clinic.roles import IsAdmin, IsSignedIn
from scheduling.models import Schedule
from scheduling.selectors import slot_availability
from scheduling.serializers import (
    AvailabilityQuerySerializer,
    ScheduleFilterSerializer,
    ScheduleSerializer,
    ScheduleWindowsSerializer,
    SlotAvailabilitySerializer,
    WindowQuotasInputSerializer,
)
from scheduling.services import WindowQuota, delete_schedule, save_schedule, set_window_quotas

SCHEDULE_RELATIONS = ("department", "room", "doctor")


class ScheduleListView(ClinicAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_schedules_list",
        parameters=[ScheduleFilterSerializer],
        responses={200: ScheduleSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        filters = self.validated_query(ScheduleFilterSerializer)
        schedules = Schedule.objects.select_related(*SCHEDULE_RELATIONS).order_by(
            "work_date", "start_time", "department_id", "id"
        )
        if "work_date" in filters:
            schedules = schedules.filter(work_date=filters["work_date"])
        if "start_date" in filters:
            schedules = schedules.filter(work_date__gte=filters["start_date"])
        if "end_date" in filters:
            schedules = schedules.filter(work_date__lte=filters["end_date"])
        if "dept_id" in filters:
            schedules = schedules.filter(department_id=filters["dept_id"])
        if filters.get("doctor_id"):
            schedules = schedules.filter(doctor__emp_id=filters["doctor_id"].strip())
        if "time_slot" in filters:
            schedules = schedules.filter(time_slot=filters["time_slot"])
        return self.page_response(schedules, ScheduleSerializer)

    @extend_schema(
        operation_id="admin_schedules_create",
        request=ScheduleSerializer,
        responses={201: ScheduleSerializer},
    )
    def post(self, request: Request) -> Response:
        schedule = Schedule(**self.validated_body(ScheduleSerializer))
        try:
            save_schedule(schedule=schedule, by=request.user)
        except ValidationError as error:
            raise model_errors(error) from error
        return self.object_response(schedule, ScheduleSerializer, status=201)


class ScheduleDetailView(ClinicAPIView):
    permission_classes = [IsAdmin]

    def _get(self, id: int) -> Schedule:
        return get_object_or_404(Schedule.objects.select_related(*SCHEDULE_RELATIONS), pk=id)

    @extend_schema(
        operation_id="admin_schedules_update",
        request=ScheduleSerializer,
        responses={200: ScheduleSerializer},
        description="Replaces the schedule's fields (the room, doctor, date and maximum are "
        "required). Times left out keep their value, unless a new time_slot alone moves the "
        "schedule to the preset's hours; times given name the slot they lie in. New times "
        "or a new window length rebuild the windows while no booking named them. The "
        "places taken are never written.",
    )
    def put(self, request: Request, id: int) -> Response:
        return self._update(request, id, partial=False)

    @extend_schema(
        operation_id="admin_schedules_partial_update",
        request=ScheduleSerializer,
        responses={200: ScheduleSerializer},
        description="Changes the fields given; the others keep their value. The places "
        "taken are never written.",
    )
    def patch(self, request: Request, id: int) -> Response:
        return self._update(request, id, partial=True)

    def _update(self, request: Request, id: int, *, partial: bool) -> Response:
        schedule = self._get(id)
        serializer = ScheduleSerializer(schedule, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        for name, value in serializer.validated_data.items():
            setattr(schedule, name, value)
        try:
            save_schedule(schedule=schedule, by=request.user)
        except ValidationError as error:
            raise model_errors(error) from error
        schedule.refresh_from_db()
        return self.object_response(schedule, ScheduleSerializer)

    @extend_schema(
        operation_id="admin_schedules_delete",
        responses={204: OpenApiResponse(description="Deleted.")},
    )
    def delete(self, request: Request, id: int) -> Response:
        delete_schedule(schedule=self._get(id), by=request.user)
        return Response(status=204)


class ScheduleWindowsView(ClinicAPIView):
    """A schedule's booking windows: each one's quota, places taken and whether it is kept
    for the desk (phone bookings and walk-ins only)."""

    permission_classes = [IsAdmin]

    def _report(self, schedule: Schedule) -> Response:
        schedule.window_list = list(schedule.windows.order_by("start_time"))
        return self.object_response(schedule, ScheduleWindowsSerializer)

    @extend_schema(
        operation_id="admin_schedule_windows", responses={200: ScheduleWindowsSerializer}
    )
    def get(self, request: Request, id: int) -> Response:
        return self._report(get_object_or_404(Schedule, pk=id))

    @extend_schema(
        operation_id="admin_schedule_windows_update",
        request=WindowQuotasInputSerializer,
        responses={200: ScheduleWindowsSerializer},
        description="Sets the quotas (and desk_only) of the windows listed; the others keep "
        "theirs. The schedule's maximum becomes the sum of its windows' quotas. A quota "
        "below the places its window holds is refused (details under window_<id>).",
    )
    def put(self, request: Request, id: int) -> Response:
        return self._change(request, id)

    @extend_schema(
        operation_id="admin_schedule_windows_partial_update",
        request=WindowQuotasInputSerializer,
        responses={200: ScheduleWindowsSerializer},
        description="The same as PUT: only the windows listed change.",
    )
    def patch(self, request: Request, id: int) -> Response:
        return self._change(request, id)

    def _change(self, request: Request, id: int) -> Response:
        schedule = get_object_or_404(Schedule, pk=id)
        data = request.data
        if isinstance(data, list):  # the bare list of windows is accepted too
            data = {"windows": data}
        serializer = WindowQuotasInputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        quotas = [
            # Without desk_only, the window keeps its own (read by the service, locked).
            WindowQuota(window_id=item["id"], quota=item["quota"], desk_only=item.get("desk_only"))
            for item in serializer.validated_data["windows"]
        ]
        try:
            schedule = set_window_quotas(schedule=schedule, quotas=quotas, by=request.user)
        except ValidationError as error:
            raise model_errors(error) from error
        return self._report(schedule)


class AvailabilityView(ClinicAPIView):
    """A department's half-day slots on a date, with each doctor's places left, and their
    windows (a window kept for the desk offers patients no place)."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        operation_id="patient_availability",
        parameters=[AvailabilityQuerySerializer],
        responses={200: SlotAvailabilitySerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        query = self.validated_query(AvailabilityQuerySerializer)
        date = query.get("date") or timezone.localdate()
        slots = slot_availability(
            department=query["dept_id"],
            start_date=date,
            end_date=date,
            for_patient=request.user.role == Role.PATIENT,
        )
        return self.page_response(slots, SlotAvailabilitySerializer)
