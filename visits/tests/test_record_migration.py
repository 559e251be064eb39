"""The migration of the old record fields (diagnosis, treatment, prescription, note) into the
outpatient record's parts: nothing lost forwards or backwards."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from visits.models import MedicalRecord
from visits.tests.factories import VisitFactory

move = importlib.import_module("visits.migrations.0007_move_old_record_text")

BEFORE = [("visits", "0005_display_tokens")]
AFTER = [("visits", "0008_remove_old_record_fields")]


@pytest.mark.parametrize(
    ("treatment", "prescription"),
    [("", ""), ("Rest", ""), ("", "Amoxicillin 0.5g tid"), ("Rest\n\nfluids", "Ibuprofen")],
)
def test_the_plan_splits_back_into_treatment_and_prescription(treatment, prescription):
    plan = move.plan_from(treatment, prescription)
    assert move.treatment_and_prescription(plan) == (treatment, prescription)


def test_the_plan_reads_as_a_labelled_text():
    assert move.plan_from("Rest", "Ibuprofen") == "Rest\n\n【处方 Prescription】\nIbuprofen"
    assert move.plan_from("Rest", "") == "Rest"


def test_a_plan_written_after_the_migration_goes_back_as_the_treatment():
    assert move.treatment_and_prescription("Rest and fluids") == ("Rest and fluids", "")


def test_backwards_the_note_keeps_every_part_written_after_the_migration():
    note = move.note_from(
        {
            "present_illness": "Fever since Monday",
            "chief_complaint": "Cough",
            "past_history": "",
            "physical_exam": "T 38.5",
        }
    )
    assert note == (
        "Fever since Monday\n\n【主诉 Chief complaint】\nCough\n\n"
        "【体格检查 Physical examination】\nT 38.5"
    )


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_old_records_move_into_the_new_parts_and_back_without_loss():
    visits = [VisitFactory(), VisitFactory(), VisitFactory()]
    old = [
        {"diagnosis": "Flu", "treatment": "Rest", "prescription": "Oseltamivir", "note": "T 39"},
        {"diagnosis": "Cold", "treatment": "", "prescription": "", "note": ""},
        {"diagnosis": "", "treatment": "", "prescription": "Ibuprofen", "note": "Headache"},
    ]
    try:
        apps = _migrate(BEFORE)
        OldRecord = apps.get_model("visits", "MedicalRecord")
        for visit, values in zip(visits, old, strict=True):
            OldRecord.objects.create(visit_id=visit.pk, **values)

        _migrate(AFTER)
        records = {r.visit_id: r for r in MedicalRecord.objects.all()}
        flu, cold, headache = (records[visit.pk] for visit in visits)
        assert (flu.diagnosis, flu.plan, flu.present_illness) == (
            "Flu",
            "Rest\n\n【处方 Prescription】\nOseltamivir",
            "T 39",
        )
        assert (cold.diagnosis, cold.plan, cold.present_illness) == ("Cold", "", "")
        assert (headache.plan, headache.present_illness) == (
            "【处方 Prescription】\nIbuprofen",
            "Headache",
        )
        assert not flu.chief_complaint and not flu.past_history and not flu.physical_exam

        apps = _migrate(BEFORE)
        OldRecord = apps.get_model("visits", "MedicalRecord")
        back = {
            r["visit_id"]: r
            for r in OldRecord.objects.values(
                "visit_id", "diagnosis", "treatment", "prescription", "note"
            )
        }
        for visit, values in zip(visits, old, strict=True):
            assert back[visit.pk] == {"visit_id": visit.pk, **values}
    finally:
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
