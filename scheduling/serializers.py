"""API shapes of schedules and of the availability patients book from."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from api.fields import BoundedDateField, IdField, LabelField, TextField
from api.serializers import ModelSerializer
from clinic.fields import DoctorField
from clinic.models import Department, Room
from scheduling.models import (
    HALF_DAY_SLOTS,
    MAX_WINDOW_MINUTES,
    MIN_WINDOW_MINUTES,
    Schedule,
    ScheduleWindow,
    TimeSlot,
)
from scheduling.selectors import booking_horizon_end
from scheduling.services import MAX_SCHEDULE_PLACES

# A schedule's capacity: far above a day's patients, far below any integer limit.
MAX_PATIENTS_LIMIT = MAX_SCHEDULE_PLACES


class ScheduleSerializer(ModelSerializer):
    dept_id = serializers.PrimaryKeyRelatedField(
        source="department",
        queryset=Department.objects.all(),
        required=False,
        help_text=_("Defaults to the room's department."),
    )
    dept_name = TextField(source="department.name", read_only=True)
    room_id = serializers.PrimaryKeyRelatedField(source="room", queryset=Room.objects.all())
    room_number = TextField(source="room.room_number", read_only=True)
    doctor_id = DoctorField(source="doctor")
    doctor_name = TextField(source="doctor.name", read_only=True)
    work_date = BoundedDateField()
    time_slot = serializers.ChoiceField(
        choices=TimeSlot.choices,
        required=False,
        help_text=_(
            "A preset: without times, the schedule takes its hours (a change of the preset "
            "alone moves the schedule to them). With times, the half-day they lie in."
        ),
    )
    time_slot_label = LabelField(source="time_slot")
    start_time = serializers.TimeField(
        required=False, help_text=_("Clinic-local; with end_time. Default: the preset's hours.")
    )
    end_time = serializers.TimeField(required=False, help_text=_("Clinic-local."))
    window_minutes = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=MIN_WINDOW_MINUTES,
        max_value=MAX_WINDOW_MINUTES,
        help_text=_(
            "The length of a booking window; null: one window for the whole schedule. "
            "Default for a new schedule: the clinic's setting."
        ),
    )
    max_patients = serializers.IntegerField(min_value=0, max_value=MAX_PATIENTS_LIMIT)
    current_patients = serializers.IntegerField(read_only=True)
    remaining = serializers.IntegerField(source="remaining_places", read_only=True)

    class Meta:
        model = Schedule
        fields = [
            "id",
            "dept_id",
            "dept_name",
            "room_id",
            "room_number",
            "doctor_id",
            "doctor_name",
            "work_date",
            "time_slot",
            "time_slot_label",
            "start_time",
            "end_time",
            "window_minutes",
            "max_patients",
            "current_patients",
            "remaining",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        # Overlaps and the unique slots are save_schedule()'s to check, under lock.
        validators: list = []

    def validate_work_date(self, value: dt.date) -> dt.date:
        unchanged = self.instance is not None and self.instance.work_date == value
        if not unchanged and value < timezone.localdate():
            raise serializers.ValidationError(_("Choose today or a later date."))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is None and "department" not in attrs and attrs.get("room"):
            attrs["department"] = attrs["room"].department
        if self.instance is None:
            # A new schedule: both times or neither (then a preset), windows by default.
            if ("start_time" in attrs) != ("end_time" in attrs):
                missing = "end_time" if "start_time" in attrs else "start_time"
                raise serializers.ValidationError(
                    {missing: [_("Give both times, or neither for the preset's hours.")]}
                )
            if "start_time" not in attrs and "time_slot" not in attrs:
                raise serializers.ValidationError(
                    {"time_slot": [_("Choose a preset, or give the start and end times.")]}
                )
            attrs.setdefault("window_minutes", settings.CLINIC_WINDOW_MINUTES)
        return attrs


class ScheduleWindowSerializer(ModelSerializer):
    label = TextField(read_only=True)
    remaining = serializers.IntegerField(read_only=True)

    class Meta:
        model = ScheduleWindow
        fields = [
            "id",
            "start_time",
            "end_time",
            "label",
            "quota",
            "used",
            "remaining",
            "desk_only",
        ]
        read_only_fields = fields


class ScheduleWindowsSerializer(serializers.Serializer):
    """A schedule's windows, with its maximum (the sum of their quotas) and places taken."""

    schedule_id = serializers.IntegerField(source="pk")
    max_patients = serializers.IntegerField()
    current_patients = serializers.IntegerField()
    window_minutes = serializers.IntegerField(allow_null=True)
    windows = ScheduleWindowSerializer(many=True, source="window_list")


class WindowQuotaInputSerializer(serializers.Serializer):
    id = serializers.IntegerField(min_value=1)
    quota = serializers.IntegerField(min_value=0, max_value=MAX_PATIENTS_LIMIT)
    desk_only = serializers.BooleanField(
        required=False, help_text=_("Left out: the window keeps its setting.")
    )


class WindowQuotasInputSerializer(serializers.Serializer):
    windows = WindowQuotaInputSerializer(
        many=True,
        allow_empty=False,
        help_text=_("The windows to change; the others keep their quota."),
    )

    def validate_windows(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = [item["id"] for item in value]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError(_("Each window may appear only once."))
        return value


class ScheduleFilterSerializer(serializers.Serializer):
    work_date = BoundedDateField(required=False)
    start_date = BoundedDateField(required=False)
    end_date = BoundedDateField(required=False)
    dept_id = IdField(required=False)
    doctor_id = TextField(required=False, max_length=20, help_text=_("Staff code."))
    time_slot = serializers.ChoiceField(choices=TimeSlot.choices, required=False)


class AvailabilityQuerySerializer(serializers.Serializer):
    dept_id = serializers.PrimaryKeyRelatedField(queryset=Department.objects.all())
    date = BoundedDateField(required=False, help_text=_("Defaults to today."))

    def validate_date(self, value: dt.date) -> dt.date:
        today = timezone.localdate()
        if value < today:
            raise serializers.ValidationError(_("Choose today or a later date."))
        horizon = booking_horizon_end(today)
        if value > horizon:
            raise serializers.ValidationError(
                _("Bookings open up to %(date)s.") % {"date": horizon.isoformat()}
            )
        return value


class DoctorPlacesSerializer(serializers.Serializer):
    schedule_id = serializers.IntegerField()
    doctor_id = TextField(source="emp_id", help_text=_("Staff code."))
    doctor_name = TextField()
    title = TextField()
    room_number = TextField()
    remaining = serializers.IntegerField()


class DoctorWindowPlacesSerializer(serializers.Serializer):
    schedule_id = serializers.IntegerField()
    window_id = serializers.IntegerField()
    doctor_id = TextField(source="emp_id", help_text=_("Staff code."))
    doctor_name = TextField()
    room_number = TextField()
    remaining = serializers.IntegerField(
        help_text=_("Places left in this doctor's window (none for patients if desk_only).")
    )
    desk_only = serializers.BooleanField(
        help_text=_("Kept for the desk: phone bookings and walk-ins only.")
    )


class WindowAvailabilitySerializer(serializers.Serializer):
    """One booking window of the slot: the windows of several doctors' schedules with the
    same start and end are one row."""

    start = serializers.TimeField(source="start_time", format="%H:%M")
    end = serializers.TimeField(source="end_time", format="%H:%M")
    label = TextField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    has_ended = serializers.BooleanField()
    remaining = serializers.IntegerField()
    is_bookable = serializers.BooleanField()
    doctors = DoctorWindowPlacesSerializer(many=True)


class SlotAvailabilitySerializer(serializers.Serializer):
    work_date = serializers.DateField()
    time_slot = serializers.ChoiceField(choices=[(s.value, s.label) for s in HALF_DAY_SLOTS])
    time_slot_label = TextField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    has_ended = serializers.BooleanField()
    remaining = serializers.IntegerField()
    is_bookable = serializers.BooleanField()
    doctors = DoctorPlacesSerializer(many=True)
    windows = WindowAvailabilitySerializer(
        many=True,
        help_text=_(
            "The slot's booking windows in time order; book one with its start as "
            "expected_time. For patients a window kept for the desk has no place."
        ),
    )
