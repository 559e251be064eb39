"""API shapes of appointments: bookings by patients and by the desk, and status changes."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.fields import BoundedDateField, BoundedDateTimeField, IdField, LabelField, TextField
from api.serializers import ModelSerializer
from appointments.models import (
    DISPLAY_STATUS_CHOICES,
    Appointment,
    AppointmentStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from appointments.no_shows import online_booking_blocked_until
from clinic.fields import DepartmentField, DoctorField, IdCardField, PhoneInputField
from clinic.search import validate_search_text
from scheduling.models import HALF_DAY_SLOTS, TimeSlot, half_day_slot_at


class WindowSerializer(serializers.Serializer):
    """The booking window a place is held in: clinic-local wall-clock times on the work
    date (its start and end as "HH:MM", and the label pages show, "09:30–10:00")."""

    start = serializers.TimeField(source="start_time", format="%H:%M", read_only=True)
    end = serializers.TimeField(source="end_time", format="%H:%M", read_only=True)
    label = serializers.CharField(read_only=True)


class AppointmentSerializer(ModelSerializer):
    dept_id = serializers.IntegerField(source="department_id", read_only=True)
    dept_name = TextField(source="department.name", read_only=True)
    schedule_id = serializers.IntegerField(read_only=True)
    doctor_id = TextField(source="schedule.doctor.emp_id", read_only=True)
    doctor_name = TextField(source="schedule.doctor.name", read_only=True)
    room_number = TextField(source="schedule.room.room_number", read_only=True)
    work_date = serializers.DateField(source="schedule.work_date", read_only=True)
    time_slot = serializers.SerializerMethodField()
    window = WindowSerializer(
        read_only=True,
        help_text=_(
            "The booking window the place is held in (the one containing expected_time); "
            "check-in opens before it starts, and a patient arriving after it ends is late."
        ),
    )
    is_late = serializers.SerializerMethodField()
    status_label = LabelField(source="status")
    patient_id = serializers.IntegerField(read_only=True, allow_null=True)
    id_card = IdCardField()
    allowed_transitions = serializers.SerializerMethodField()

    class Meta:
        model = Appointment
        fields = [
            "id",
            "reference",
            "patient_id",
            "patient_name",
            "phone",
            "id_card",
            "dept_id",
            "dept_name",
            "schedule_id",
            "doctor_id",
            "doctor_name",
            "room_number",
            "work_date",
            "time_slot",
            "window",
            "is_late",
            "expected_time",
            "status",
            "status_label",
            "allowed_transitions",
            "created_at",
            "cancelled_at",
            "cancel_reason",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=TimeSlot.choices))
    def get_time_slot(self, appointment: Appointment) -> str:
        """The half-day slot booked (a full-day schedule serves both halves)."""
        local = timezone.localtime(appointment.expected_time).time()
        return half_day_slot_at(local) or appointment.schedule.time_slot

    @extend_schema_field(
        serializers.BooleanField(
            help_text=_("A live booking whose window is over (it may still check in, later).")
        )
    )
    def get_is_late(self, appointment: Appointment) -> bool:
        return appointment.is_live and appointment.is_late()

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=AppointmentStatus.choices))
    )
    def get_allowed_transitions(self, appointment: Appointment) -> list[str]:
        return sorted(appointment.allowed_transitions())


class PatientAppointmentSerializer(AppointmentSerializer):
    """A booking as its patient's routes answer it: with the status the patient is shown.
    The patient's lists read their visits' status in the same query
    (appointments.selectors.with_visit_status)."""

    display_status = serializers.ChoiceField(
        choices=DISPLAY_STATUS_CHOICES,
        read_only=True,
        help_text=_(
            "What the patient is shown: checked_in from check-in until the visit is over "
            "(the stored status is then already completed), else the stored status."
        ),
    )
    display_status_label = serializers.SerializerMethodField()

    class Meta(AppointmentSerializer.Meta):
        fields = [*AppointmentSerializer.Meta.fields, "display_status", "display_status_label"]
        read_only_fields = fields

    def get_display_status_label(self, appointment: Appointment) -> str:
        return appointment.get_display_status_display()


class PatientBookingSerializer(serializers.Serializer):
    dept_id = DepartmentField()
    expected_time = BoundedDateTimeField(
        help_text=_(
            "When within a slot; a time without offset is the clinic's local time. The "
            "booking takes the window containing it (a window's start books that window)."
        )
    )
    doctor_id = DoctorField(
        required=False, allow_null=True, help_text=_("Staff code; any doctor when left out.")
    )


class PhoneBookingSerializer(PatientBookingSerializer):
    patient_name = TextField(max_length=50)
    phone = PhoneInputField()
    id_card = TextField(max_length=32, required=False, allow_blank=True, default="")


class MyAppointmentsFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AppointmentStatus.choices, required=False)


class DeskAppointmentsFilterSerializer(MyAppointmentsFilterSerializer):
    date = BoundedDateField(required=False, help_text=_("The work date of the schedule."))
    dept_id = IdField(required=False)
    q = TextField(
        required=False,
        max_length=50,
        help_text=_(
            "A booking reference, a phone number (all 11 digits, or the first 3 or more), an ID "
            "number (all of it), or the beginning of the name; letters in any case. Fewer than 3 "
            "digits is refused with a validation error."
        ),
        validators=[validate_search_text],
    )


class CancelQuerySerializer(serializers.Serializer):
    reason = TextField(required=False, allow_blank=True, max_length=200, default="")


# The moves the desk asks for by status; check-in (completed) has its own endpoint.
DESK_STATUS_MOVES = (
    AppointmentStatus.CONFIRMED,
    AppointmentStatus.CANCELLED,
    AppointmentStatus.NO_SHOW,
)


class AppointmentStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[(s.value, s.label) for s in DESK_STATUS_MOVES])
    reason = TextField(required=False, allow_blank=True, max_length=200, default="")


class NoShowBlockSerializer(serializers.Serializer):
    """A patient's online-booking block (appointments.no_shows): the date online booking
    opens again (null when open) and when the desk last lifted a block."""

    patient_id = serializers.IntegerField(source="pk", read_only=True)
    blocked_until = serializers.SerializerMethodField()
    no_show_block_lifted_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_blocked_until(self, patient: object) -> str | None:
        until = online_booking_blocked_until(patient, timezone.localdate())
        return until.isoformat() if until else None


# --- The waitlist -------------------------------------------------------------------------


class OfferSerializer(serializers.Serializer):
    """The place held for an offered entry, until `expires_at`."""

    schedule_id = serializers.IntegerField(source="offered_schedule_id", read_only=True)
    doctor_id = TextField(source="offered_schedule.doctor.emp_id", read_only=True)
    doctor_name = TextField(source="offered_schedule.doctor.name", read_only=True)
    window = WindowSerializer(source="offered_window", read_only=True)
    expires_at = serializers.DateTimeField(source="offer_expires_at", read_only=True)


class WaitlistEntrySerializer(ModelSerializer):
    dept_id = serializers.IntegerField(source="department_id", read_only=True)
    dept_name = TextField(source="department.name", read_only=True)
    patient_id = serializers.IntegerField(read_only=True, allow_null=True)
    doctor_id = TextField(
        source="doctor.emp_id",
        read_only=True,
        allow_null=True,
        help_text=_("Staff code of the doctor waited for; null: any doctor."),
    )
    window_start = serializers.TimeField(
        format="%H:%M",
        read_only=True,
        allow_null=True,
        help_text=_("The wished-for time (clinic-local); null: any time in the half-day."),
    )
    window_end = serializers.TimeField(format="%H:%M", read_only=True, allow_null=True)
    status_label = LabelField(source="status")
    offer = serializers.SerializerMethodField()
    appointment_id = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text=_("The appointment an accepted offer became."),
    )

    class Meta:
        model = WaitlistEntry
        fields = [
            "id",
            "patient_id",
            "patient_name",
            "phone",
            "dept_id",
            "dept_name",
            "work_date",
            "time_slot",
            "window_start",
            "window_end",
            "doctor_id",
            "status",
            "status_label",
            "offer",
            "appointment_id",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OfferSerializer(allow_null=True))
    def get_offer(self, entry: WaitlistEntry) -> dict | None:
        if entry.status != WaitlistStatus.OFFERED:
            return None
        return OfferSerializer(entry).data


class PatientWaitlistJoinSerializer(serializers.Serializer):
    """Either `expected_time` (the window containing it), or `date` and `time_slot` (any time
    in that half-day)."""

    dept_id = DepartmentField()
    expected_time = BoundedDateTimeField(
        required=False,
        help_text=_("Wait for the window containing this time (clinic-local when without offset)."),
    )
    date = BoundedDateField(required=False)
    # TimeSlot's enum, as elsewhere in the API; full_day is refused (a half-day is waited for).
    time_slot = serializers.ChoiceField(
        choices=TimeSlot.choices,
        required=False,
        help_text=_("morning or afternoon (any time in that half-day)."),
    )
    doctor_id = DoctorField(
        required=False, allow_null=True, help_text=_("Staff code; any doctor when left out.")
    )

    def validate(self, attrs: dict) -> dict:
        if attrs.get("time_slot") not in (None, *HALF_DAY_SLOTS):
            raise serializers.ValidationError(
                {"time_slot": [_("Choose the morning or the afternoon.")]}
            )
        if "expected_time" not in attrs and not ("date" in attrs and "time_slot" in attrs):
            raise serializers.ValidationError(
                {"expected_time": [_("Give expected_time, or date and time_slot.")]}
            )
        return attrs


class PhoneWaitlistJoinSerializer(PatientWaitlistJoinSerializer):
    patient_name = TextField(max_length=50)
    phone = PhoneInputField()


class DeskWaitlistFilterSerializer(serializers.Serializer):
    date = BoundedDateField(required=False, help_text=_("The date waited for."))
    dept_id = IdField(required=False)
    time_slot = serializers.ChoiceField(choices=TimeSlot.choices, required=False)
    status = serializers.ChoiceField(choices=WaitlistStatus.choices, required=False)
