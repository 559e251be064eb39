"""API of appointments: patients book, list and cancel their own; the desk lists, books by
phone and confirms, cancels or marks no-shows. Every change is the model's or the booking
service's, exactly as on the pages."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from api.views import ClinicAPIView
from appointments.models import Appointment, AppointmentStatus
from appointments.no_shows import lift_no_show_block
from appointments.search import appointment_filter
from appointments.selectors import LIST_RELATIONS, appointments_visible_to, get_appointment_for
from appointments.serializers import (
    AppointmentSerializer,
    AppointmentStatusSerializer,
    CancelQuerySerializer,
    DeskAppointmentsFilterSerializer,
    MyAppointmentsFilterSerializer,
    NoShowBlockSerializer,
    PatientAppointmentSerializer,
    PatientBookingSerializer,
    PhoneBookingSerializer,
)
from appointments.services import book_appointment
from clinic.models import Patient
from clinic.roles import IsDesk, IsPatient
from clinic.search import parse_term


def _refetch(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_related(*LIST_RELATIONS).get(pk=appointment.pk)


class MyAppointmentsView(ClinicAPIView):
    permission_classes = [IsPatient]

    @extend_schema(
        operation_id="patient_appointments_list",
        parameters=[MyAppointmentsFilterSerializer],
        responses={200: PatientAppointmentSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        filters = self.validated_query(MyAppointmentsFilterSerializer)
        appointments = appointments_visible_to(request.user).order_by("-expected_time", "-id")
        if "status" in filters:
            appointments = appointments.filter(status=filters["status"])
        return self.page_response(appointments, PatientAppointmentSerializer)

    @extend_schema(
        operation_id="patient_appointments_create",
        request=PatientBookingSerializer,
        responses={201: PatientAppointmentSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.validated_body(PatientBookingSerializer)
        appointment = book_appointment(
            by=request.user,
            department=data["dept_id"],
            expected_time=data["expected_time"],
            doctor=data.get("doctor_id"),
        )
        # Returned with its department, schedule, doctor and room loaded: no second read.
        return self.object_response(appointment, PatientAppointmentSerializer, status=201)


class MyAppointmentDetailView(ClinicAPIView):
    permission_classes = [IsPatient]

    @extend_schema(
        operation_id="patient_appointments_cancel",
        parameters=[CancelQuerySerializer],
        responses={200: PatientAppointmentSerializer},
        description="Cancels the booking (it stays listed, as cancelled) and frees its place.",
    )
    def delete(self, request: Request, id: int) -> Response:
        reason = self.validated_query(CancelQuerySerializer)["reason"]
        appointment = get_appointment_for(request.user, id)
        appointment.cancel(by=request.user, reason=reason)
        return self.object_response(_refetch(appointment), PatientAppointmentSerializer)


def desk_appointments(filters: dict) -> QuerySet[Appointment]:
    appointments = Appointment.objects.select_related(*LIST_RELATIONS).order_by(
        "expected_time", "id"
    )
    if "date" in filters:
        appointments = appointments.filter(schedule__work_date=filters["date"])
    if "dept_id" in filters:
        appointments = appointments.filter(department_id=filters["dept_id"])
    if "status" in filters:
        appointments = appointments.filter(status=filters["status"])
    if filters.get("q"):
        appointments = appointments.filter(appointment_filter(parse_term(filters["q"])))
    return appointments


class DeskAppointmentsView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_appointments_list",
        parameters=[DeskAppointmentsFilterSerializer],
        responses={200: AppointmentSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        filters = self.validated_query(DeskAppointmentsFilterSerializer)
        return self.page_response(desk_appointments(filters), AppointmentSerializer)

    @extend_schema(
        operation_id="receptionist_appointments_create",
        request=PhoneBookingSerializer,
        responses={201: AppointmentSerializer},
        description="A booking taken on the phone: by name and phone, no patient record needed.",
    )
    def post(self, request: Request) -> Response:
        data = self.validated_body(PhoneBookingSerializer)
        appointment = book_appointment(
            by=request.user,
            department=data["dept_id"],
            expected_time=data["expected_time"],
            patient_name=data["patient_name"],
            phone=data["phone"],
            id_card=data["id_card"],
            doctor=data.get("doctor_id"),
        )
        return self.object_response(
            appointment, AppointmentSerializer, status=201, reveal_id_card=True
        )


class DeskAppointmentStatusView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_appointments_status",
        request=AppointmentStatusSerializer,
        responses={200: AppointmentSerializer},
        description=(
            "confirmed, cancelled (with an optional reason) or no_show (once the slot has "
            "ended plus the grace period). Completed happens only by check-in."
        ),
    )
    def put(self, request: Request, id: int) -> Response:
        appointment = get_appointment_for(request.user, id)
        data = self.validated_body(AppointmentStatusSerializer)
        status = data["status"]
        if status == AppointmentStatus.CONFIRMED:
            appointment.confirm(by=request.user)
        elif status == AppointmentStatus.CANCELLED:
            appointment.cancel(by=request.user, reason=data["reason"])
        else:
            appointment.mark_no_show(by=request.user)
        return self.object_response(
            _refetch(appointment), AppointmentSerializer, reveal_id_card=True
        )


class LiftNoShowBlockView(ClinicAPIView):
    """The desk lets a patient blocked by the no-show policy book online again (the same
    service as the desk's patient page)."""

    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_patients_lift_no_show_block",
        request=None,
        responses={200: NoShowBlockSerializer},
        description="The patient's no-shows so far stop counting towards the online-booking "
        "block; audited as patient.no_show_block_lifted. 409 no_block_to_lift when the "
        "patient is not blocked.",
    )
    def post(self, request: Request, id: int) -> Response:
        patient = get_object_or_404(Patient, pk=id)
        patient = lift_no_show_block(patient=patient, by=request.user)
        return self.object_response(patient, NoShowBlockSerializer)
