"""Move the text of the old record fields into the outpatient record's parts, losing nothing.

- diagnosis stays diagnosis;
- treatment and prescription become the plan: the treatment as it was, then the prescription
  under a "【处方 Prescription】" heading line (the plan is what the prescription prints);
- note becomes the history of present illness: what doctors wrote there was the visit's
  observations (a temperature, how long a symptom lasts), the free narrative of this episode.

Backwards, the plan is split again at the heading, and the note takes the present illness
with the chief complaint, past history and physical examination appended under their own
headings, so that text written after the migration is kept too.
"""

from __future__ import annotations

from django.db import migrations

PRESCRIPTION_HEADING = "【处方 Prescription】"
NOTE_HEADINGS = (
    ("chief_complaint", "【主诉 Chief complaint】"),
    ("past_history", "【既往史 Past history】"),
    ("physical_exam", "【体格检查 Physical examination】"),
)


def _join(first: str, sections: list[tuple[str, str]]) -> str:
    """`first` unlabelled, then each non-empty section under its heading line."""
    parts = [first] if first else []
    parts += [f"{heading}\n{text}" for heading, text in sections if text]
    return "\n\n".join(parts)


def plan_from(treatment: str, prescription: str) -> str:
    return _join(treatment, [(PRESCRIPTION_HEADING, prescription)])


def treatment_and_prescription(plan: str) -> tuple[str, str]:
    """The inverse of plan_from()."""
    marker = f"{PRESCRIPTION_HEADING}\n"
    if plan.startswith(marker):
        return "", plan[len(marker) :]
    treatment, found, prescription = plan.partition(f"\n\n{marker}")
    return (treatment, prescription) if found else (plan, "")


def note_from(record: dict[str, str]) -> str:
    return _join(
        record["present_illness"],
        [(heading, record[field]) for field, heading in NOTE_HEADINGS],
    )


def forwards(apps, schema_editor):
    MedicalRecord = apps.get_model("visits", "MedicalRecord")
    old = MedicalRecord.objects.values("pk", "treatment", "prescription", "note")
    for record in old.iterator(chunk_size=2000):
        # An UPDATE, not save(): updated_at (auto_now) keeps the time the doctor wrote it.
        MedicalRecord.objects.filter(pk=record["pk"]).update(
            plan=plan_from(record["treatment"], record["prescription"]),
            present_illness=record["note"],
        )


def backwards(apps, schema_editor):
    MedicalRecord = apps.get_model("visits", "MedicalRecord")
    fields = ("pk", "plan", "present_illness", *(field for field, _ in NOTE_HEADINGS))
    for record in MedicalRecord.objects.values(*fields).iterator(chunk_size=2000):
        treatment, prescription = treatment_and_prescription(record["plan"])
        MedicalRecord.objects.filter(pk=record["pk"]).update(
            treatment=treatment, prescription=prescription, note=note_from(record)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("visits", "0006_outpatient_record_parts"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
