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
from appointments import waitlist
from appointments.models import Appointment, AppointmentStatus, WaitlistEntry
from appointments.no_shows import lift_no_show_block
from appointments.search import appointment_filter
from appointments.selectors import LIST_RELATIONS, appointments_visible_to, get_appointment_for
from appointments.serializers import (
    AppointmentSerializer,
    AppointmentStatusSerializer,
    CancelQuerySerializer,
    DeskAppointmentsFilterSerializer,
    DeskWaitlistFilterSerializer,
    MyAppointmentsFilterSerializer,
    NoShowBlockSerializer,
    PatientAppointmentSerializer,
    PatientBookingSerializer,
    PatientWaitlistJoinSerializer,
    PhoneBookingSerializer,
    PhoneWaitlistJoinSerializer,
    WaitlistEntrySerializer,
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


# --- The waitlist -------------------------------------------------------------------------


def _join_arguments(data: dict) -> dict:
    return {
        "department": data["dept_id"],
        "expected_time": data.get("expected_time"),
        "work_date": data.get("date"),
        "time_slot": data.get("time_slot"),
        "doctor": data.get("doctor_id"),
    }


def _entry(entry: WaitlistEntry) -> WaitlistEntry:
    return waitlist.with_relations().get(pk=entry.pk)


class MyWaitlistView(ClinicAPIView):
    permission_classes = [IsPatient]

    @extend_schema(
        operation_id="patient_waitlist_list",
        responses={200: WaitlistEntrySerializer(many=True)},
        description="The patient's waitlist entries, the newest first; an offer shows the "
        "place held and until when.",
    )
    def get(self, request: Request) -> Response:
        entries = waitlist.entries_visible_to(request.user).order_by("-created_at", "-id")
        return self.page_response(entries, WaitlistEntrySerializer)

    @extend_schema(
        operation_id="patient_waitlist_join",
        request=PatientWaitlistJoinSerializer,
        responses={201: WaitlistEntrySerializer},
        description="Wait for a place in a full window (or half-day). 409 places_free when a "
        "place is free there (book it instead), duplicate_booking, already_waiting.",
    )
    def post(self, request: Request) -> Response:
        data = self.validated_body(PatientWaitlistJoinSerializer)
        entry = waitlist.join(by=request.user, **_join_arguments(data))
        return self.object_response(_entry(entry), WaitlistEntrySerializer, status=201)


class MyWaitlistEntryView(ClinicAPIView):
    permission_classes = [IsPatient]

    @extend_schema(
        operation_id="patient_waitlist_leave",
        responses={200: WaitlistEntrySerializer},
        description="Leaves the waitlist; a place offered and held goes to the next in line.",
    )
    def delete(self, request: Request, id: int) -> Response:
        entry = waitlist.leave(by=request.user, entry=waitlist.get_entry_for(request.user, id))
        return self.object_response(_entry(entry), WaitlistEntrySerializer)


class MyWaitlistAcceptView(ClinicAPIView):
    permission_classes = [IsPatient]

    @extend_schema(
        operation_id="patient_waitlist_accept",
        request=None,
        responses={201: PatientAppointmentSerializer},
        description="Takes the place offered: it becomes the patient's appointment. 409 "
        "offer_expired once the offer's time has passed.",
    )
    def post(self, request: Request, id: int) -> Response:
        entry = waitlist.get_entry_for(request.user, id)
        appointment = waitlist.accept(by=request.user, entry=entry)
        return self.object_response(
            appointments_visible_to(request.user).get(pk=appointment.pk),
            PatientAppointmentSerializer,
            status=201,
        )


class MyWaitlistDeclineView(ClinicAPIView):
    permission_classes = [IsPatient]

    @extend_schema(
        operation_id="patient_waitlist_decline",
        request=None,
        responses={200: WaitlistEntrySerializer},
        description="Refuses the place offered: it goes to the next in line.",
    )
    def post(self, request: Request, id: int) -> Response:
        entry = waitlist.decline(by=request.user, entry=waitlist.get_entry_for(request.user, id))
        return self.object_response(_entry(entry), WaitlistEntrySerializer)


class DeskWaitlistView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_waitlist_list",
        parameters=[DeskWaitlistFilterSerializer],
        responses={200: WaitlistEntrySerializer(many=True)},
        description="Waitlist entries in order (first come first, by date and half-day).",
    )
    def get(self, request: Request) -> Response:
        filters = self.validated_query(DeskWaitlistFilterSerializer)
        entries = waitlist.entries_visible_to(request.user).order_by(
            "work_date", "time_slot", "created_at", "id"
        )
        if "date" in filters:
            entries = entries.filter(work_date=filters["date"])
        if "dept_id" in filters:
            entries = entries.filter(department_id=filters["dept_id"])
        if "time_slot" in filters:
            entries = entries.filter(time_slot=filters["time_slot"])
        if "status" in filters:
            entries = entries.filter(status=filters["status"])
        return self.page_response(entries, WaitlistEntrySerializer)

    @extend_schema(
        operation_id="receptionist_waitlist_join",
        request=PhoneWaitlistJoinSerializer,
        responses={201: WaitlistEntrySerializer},
        description="Puts a caller on the waitlist by name and phone.",
    )
    def post(self, request: Request) -> Response:
        data = self.validated_body(PhoneWaitlistJoinSerializer)
        entry = waitlist.join(
            by=request.user,
            patient_name=data["patient_name"],
            phone=data["phone"],
            **_join_arguments(data),
        )
        return self.object_response(_entry(entry), WaitlistEntrySerializer, status=201)


class DeskWaitlistAcceptView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_waitlist_accept",
        request=None,
        responses={201: AppointmentSerializer},
        description="Takes the place offered for the person (a caller on the phone). 409 "
        "offer_expired once the offer's time has passed.",
    )
    def post(self, request: Request, id: int) -> Response:
        entry = waitlist.get_entry_for(request.user, id)
        appointment = waitlist.accept(by=request.user, entry=entry)
        return self.object_response(
            _refetch(appointment), AppointmentSerializer, status=201, reveal_id_card=True
        )


class DeskWaitlistCancelView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_waitlist_cancel",
        request=None,
        responses={200: WaitlistEntrySerializer},
        description="Takes the person off the waitlist; a place held goes to the next in line.",
    )
    def post(self, request: Request, id: int) -> Response:
        entry = waitlist.leave(by=request.user, entry=waitlist.get_entry_for(request.user, id))
        return self.object_response(_entry(entry), WaitlistEntrySerializer)
