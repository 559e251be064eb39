from __future__ import annotations

from django import forms

from scheduling.models import Schedule


class ScheduleForm(forms.ModelForm):
    """Used by Django Admin. The admin's change view runs in one transaction, so the locks
    taken in clean() hold until the schedule is saved."""

    class Meta:
        model = Schedule
        fields = ("department", "room", "doctor", "work_date", "time_slot", "max_patients")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("doctor") and cleaned.get("room"):
            self.instance.doctor = cleaned["doctor"]
            self.instance.room = cleaned["room"]
            self.instance.lock_doctor_and_room()
        return cleaned
