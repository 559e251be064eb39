"""Each booking's place is in a window of its schedule: before time-sliced booking a schedule
had one window (scheduling 0002), which its bookings now name."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def name_the_window(apps, schema_editor):
    Appointment = apps.get_model("appointments", "Appointment")
    ScheduleWindow = apps.get_model("scheduling", "ScheduleWindow")
    first_window = ScheduleWindow.objects.filter(schedule_id=OuterRef("schedule_id")).order_by(
        "start_time"
    )
    Appointment.objects.update(window_id=Subquery(first_window.values("pk")[:1]))


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0003_search_indexes_with_expected_time"),
        ("scheduling", "0002_time_sliced_booking"),
    ]

    operations = [
        migrations.AddField(
            model_name="appointment",
            name="window",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="appointments",
                to="scheduling.schedulewindow",
                verbose_name="window",
            ),
        ),
        migrations.RunPython(name_the_window, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="appointment",
            name="window",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="appointments",
                to="scheduling.schedulewindow",
                verbose_name="window",
            ),
        ),
    ]
