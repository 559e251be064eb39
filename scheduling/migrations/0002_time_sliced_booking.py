"""Time-sliced booking: schedules get start and end times (their preset's hours from the
settings) and booking windows. A schedule made before this keeps its places in one window
for its whole length (window length NULL): its patients booked the slot, not a time, and no
place moves."""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def preset_hours(time_slot):
    morning, afternoon = settings.CLINIC_MORNING_HOURS, settings.CLINIC_AFTERNOON_HOURS
    if time_slot == "morning":
        return morning
    if time_slot == "afternoon":
        return afternoon
    return morning[0], afternoon[1]


def times_and_windows(apps, schema_editor):
    Schedule = apps.get_model("scheduling", "Schedule")
    ScheduleWindow = apps.get_model("scheduling", "ScheduleWindow")
    for time_slot in ("morning", "afternoon", "full_day"):
        start, end = preset_hours(time_slot)
        Schedule.objects.filter(time_slot=time_slot).update(start_time=start, end_time=end)
    batch = []
    for schedule in Schedule.objects.order_by("pk").iterator(chunk_size=2000):
        batch.append(
            ScheduleWindow(
                schedule_id=schedule.pk,
                start_time=schedule.start_time,
                end_time=schedule.end_time,
                quota=schedule.max_patients,
                used=schedule.current_patients,
            )
        )
        if len(batch) == 2000:
            ScheduleWindow.objects.bulk_create(batch)
            batch = []
    ScheduleWindow.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="schedule",
            name="start_time",
            field=models.TimeField(null=True, verbose_name="starts at"),
        ),
        migrations.AddField(
            model_name="schedule",
            name="end_time",
            field=models.TimeField(null=True, verbose_name="ends at"),
        ),
        migrations.AddField(
            model_name="schedule",
            name="window_minutes",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Empty: one window for the whole schedule.",
                null=True,
                validators=[django.core.validators.MinValueValidator(5)],
                verbose_name="window length (minutes)",
            ),
        ),
        migrations.CreateModel(
            name="ScheduleWindow",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("start_time", models.TimeField(verbose_name="starts at")),
                ("end_time", models.TimeField(verbose_name="ends at")),
                (
                    "quota",
                    models.IntegerField(
                        validators=[django.core.validators.MinValueValidator(0)],
                        verbose_name="quota",
                    ),
                ),
                (
                    "used",
                    models.IntegerField(default=0, editable=False, verbose_name="places taken"),
                ),
                ("desk_only", models.BooleanField(default=False, verbose_name="desk only")),
                (
                    "schedule",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="windows",
                        to="scheduling.schedule",
                        verbose_name="schedule",
                    ),
                ),
            ],
            options={
                "verbose_name": "booking window",
                "verbose_name_plural": "booking windows",
                "ordering": ["schedule_id", "start_time"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("used__gte", 0), ("used__lte", models.F("quota"))),
                        name="schedule_window_used_within_quota",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("start_time__lt", models.F("end_time"))),
                        name="schedule_window_starts_before_end",
                    ),
                    models.UniqueConstraint(
                        fields=("schedule", "start_time"), name="schedule_window_unique_start"
                    ),
                ],
            },
        ),
        migrations.RunPython(times_and_windows, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="schedule",
            name="start_time",
            field=models.TimeField(verbose_name="starts at"),
        ),
        migrations.AlterField(
            model_name="schedule",
            name="end_time",
            field=models.TimeField(verbose_name="ends at"),
        ),
        migrations.AlterModelOptions(
            name="schedule",
            options={
                "ordering": ["work_date", "start_time", "department_id", "id"],
                "verbose_name": "schedule",
                "verbose_name_plural": "schedules",
            },
        ),
        migrations.RemoveConstraint(model_name="schedule", name="schedule_unique_doctor_slot"),
        migrations.RemoveConstraint(model_name="schedule", name="schedule_unique_room_slot"),
        migrations.AddConstraint(
            model_name="schedule",
            constraint=models.CheckConstraint(
                condition=models.Q(("start_time__lt", models.F("end_time"))),
                name="schedule_starts_before_it_ends",
            ),
        ),
        migrations.AddConstraint(
            model_name="schedule",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("window_minutes__isnull", True),
                    models.Q(("window_minutes__gte", 5), ("window_minutes__lte", 240)),
                    _connector="OR",
                ),
                name="schedule_window_minutes_range",
            ),
        ),
    ]
