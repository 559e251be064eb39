"""Fill the daily visit summary from the visits already recorded (the detail rows)."""

from django.db import migrations
from django.db.models import Count, Exists, F, OuterRef, Q

# The status codes when this migration was written (a migration does not import the model).
STATUSES = ("waiting", "in_consultation", "awaiting_payment", "left", "cancelled")


def build_summary(apps, schema_editor):
    Visit = apps.get_model("visits", "Visit")
    VisitDailySummary = apps.get_model("visits", "VisitDailySummary")
    db = schema_editor.connection.alias
    # A patient counts once a day, in the row of their first visit that day (lowest id).
    earlier_that_day = Visit.objects.using(db).filter(
        patient_id=OuterRef("patient_id"), visit_date=OuterRef("visit_date"), pk__lt=OuterRef("pk")
    )
    totals = (
        Visit.objects.using(db)
        .values("visit_date", "department_id", doctor_id=F("schedule__doctor_id"))
        .annotate(
            visits=Count("pk"),
            day_patients=Count("pk", filter=~Exists(earlier_that_day)),
            **{f"{status}_visits": Count("pk", filter=Q(status=status)) for status in STATUSES},
        )
        .order_by()
    )
    VisitDailySummary.objects.using(db).bulk_create(
        (VisitDailySummary(**row) for row in totals.iterator(chunk_size=2000)),
        batch_size=2000,
    )


def drop_summary(apps, schema_editor):
    VisitDailySummary = apps.get_model("visits", "VisitDailySummary")
    VisitDailySummary.objects.using(schema_editor.connection.alias).all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("visits", "0003_visit_daily_summary"),
    ]

    operations = [
        migrations.RunPython(build_summary, drop_summary),
    ]
