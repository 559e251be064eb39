"""Each visit's place is in a window of its schedule, and it queues in that window's turn:
before time-sliced booking a schedule had one window (scheduling 0002), so the queue's order
is unchanged."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def name_the_window(apps, schema_editor):
    Visit = apps.get_model("visits", "Visit")
    ScheduleWindow = apps.get_model("scheduling", "ScheduleWindow")
    first_window = ScheduleWindow.objects.filter(schedule_id=OuterRef("schedule_id")).order_by(
        "start_time"
    )
    Visit.objects.update(
        window_id=Subquery(first_window.values("pk")[:1]),
        queued_from=Subquery(first_window.values("start_time")[:1]),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0010_charge_dose_only_for_drugs"),
        ("scheduling", "0002_time_sliced_booking"),
    ]

    operations = [
        migrations.AddField(
            model_name="visit",
            name="window",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="visits",
                to="scheduling.schedulewindow",
                verbose_name="window",
            ),
        ),
        migrations.AddField(
            model_name="visit",
            name="queued_from",
            field=models.TimeField(null=True, verbose_name="queues from"),
        ),
        migrations.AddField(
            model_name="visit",
            name="arrived_late",
            field=models.BooleanField(default=False, verbose_name="arrived after their window"),
        ),
        migrations.RunPython(name_the_window, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="visit",
            name="window",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="visits",
                to="scheduling.schedulewindow",
                verbose_name="window",
            ),
        ),
        migrations.AlterField(
            model_name="visit",
            name="queued_from",
            field=models.TimeField(verbose_name="queues from"),
        ),
    ]
