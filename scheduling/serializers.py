"""API shapes of schedules and of the availability patients book from."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from api.fields import BoundedDateField, IdField, LabelField, TextField
from api.serializers import ModelSerializer
from clinic.fields import DoctorField
from clinic.models import Department, Room
from scheduling.models import HALF_DAY_SLOTS, Schedule, TimeSlot
from scheduling.selectors import booking_horizon_end

# A schedule's capacity: far above a day's patients, far below any integer limit.
MAX_PATIENTS_LIMIT = 1000


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
    time_slot = serializers.ChoiceField(choices=TimeSlot.choices)
    time_slot_label = LabelField(source="time_slot")
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
        return attrs


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
