"""API of schedules (administrators) and of availability (what patients and the desk book)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from api.views import ClinicAPIView
from clinic.audit import record_event
from clinic.fields import model_errors
from clinic.roles import IsAdmin, IsSignedIn
from scheduling.exceptions import ScheduleInUse
from scheduling.models import Schedule
from scheduling.selectors import slot_availability
from scheduling.serializers import (
    AvailabilityQuerySerializer,
    ScheduleFilterSerializer,
    ScheduleSerializer,
    SlotAvailabilitySerializer,
)
from scheduling.services import save_schedule

API_FIELD_NAMES = {"department": "dept_id", "room": "room_id", "doctor": "doctor_id"}
SCHEDULE_RELATIONS = ("department", "room", "doctor")


def _audit_values(schedule: Schedule) -> dict[str, object]:
    return {
        "department": schedule.department_id,
        "room": schedule.room_id,
        "doctor": schedule.doctor_id,
        "work_date": schedule.work_date.isoformat(),
        "time_slot": schedule.time_slot,
        "max_patients": schedule.max_patients,
    }


def _save(schedule: Schedule, *, by: object, action: str, old: dict[str, object]) -> Schedule:
    try:
        with transaction.atomic():
            save_schedule(schedule=schedule)
            record_event(
                actor=by, action=action, obj=schedule, old=old, new=_audit_values(schedule)
            )
    except ValidationError as error:
        raise model_errors(error, API_FIELD_NAMES) from error
    return schedule


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
            "work_date", "time_slot", "department_id", "id"
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
        _save(schedule, by=request.user, action="schedule.created", old={})
        return self.object_response(schedule, ScheduleSerializer, status=201)


class ScheduleDetailView(ClinicAPIView):
    permission_classes = [IsAdmin]

    def _get(self, id: int) -> Schedule:
        return get_object_or_404(Schedule.objects.select_related(*SCHEDULE_RELATIONS), pk=id)

    @extend_schema(
        operation_id="admin_schedules_update",
        request=ScheduleSerializer,
        responses={200: ScheduleSerializer},
        description="Fields left out keep their value. The places taken are never written.",
    )
    def put(self, request: Request, id: int) -> Response:
        schedule = self._get(id)
        serializer = ScheduleSerializer(schedule, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        old = _audit_values(schedule)
        for name, value in serializer.validated_data.items():
            setattr(schedule, name, value)
        _save(schedule, by=request.user, action="schedule.updated", old=old)
        schedule.refresh_from_db()
        return self.object_response(schedule, ScheduleSerializer)

    @extend_schema(
        operation_id="admin_schedules_delete",
        responses={204: OpenApiResponse(description="Deleted.")},
    )
    def delete(self, request: Request, id: int) -> Response:
        schedule = self._get(id)
        old = _audit_values(schedule)
        try:
            with transaction.atomic():
                record_event(actor=request.user, action="schedule.deleted", obj=schedule, old=old)
                schedule.delete()
        except ProtectedError as error:
            # Past bookings or visits (even cancelled ones) still point at it.
            raise ScheduleInUse(details={"schedule_id": id}) from error
        return Response(status=204)


class AvailabilityView(ClinicAPIView):
    """A department's half-day slots on a date, with each doctor's places left."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        operation_id="patient_availability",
        parameters=[AvailabilityQuerySerializer],
        responses={200: SlotAvailabilitySerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        query = self.validated_query(AvailabilityQuerySerializer)
        date = query.get("date") or timezone.localdate()
        slots = slot_availability(department=query["dept_id"], start_date=date, end_date=date)
        return self.page_response(slots, SlotAvailabilitySerializer)
