"""Backups restore what was saved, and the restore check proves the invariants."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from billing.models import DailyCategoryIncome, DailyIncomeSummary
from billing.tests.factories import IncomeRecordFactory
from clinic.models import Patient
from clinic.tests.factories import PatientFactory
from scheduling.models import Schedule
from scheduling.tests.factories import set_places_taken

pytestmark = pytest.mark.django_db(transaction=True)


def paid_visit():
    """A settled visit, with its schedule's counter holding its place and the daily income
    summary counting its payment (as the settlement would)."""
    record = IncomeRecordFactory()
    set_places_taken(Schedule.objects.get(pk=record.bill.visit.schedule_id), 1)
    DailyIncomeSummary.rebuild()
    DailyCategoryIncome.rebuild()
    return record


def test_backup_then_restore_brings_the_data_back(tmp_path):
    if connection.vendor == "mysql":
        import shutil

        if not (shutil.which("mariadb-dump") or shutil.which("mysqldump")):
            pytest.skip("no mysqldump on this machine")
    kept = PatientFactory(name="留下")
    paid_visit()
    backup_file = tmp_path / "clinic.backup"
    call_command("backup_database", str(backup_file), stdout=StringIO())
    assert backup_file.stat().st_size > 0

    Patient.objects.filter(pk=kept.pk).update(name="改过")
    PatientFactory(name="后来")
    out = StringIO()
    call_command("restore_database", str(backup_file), "--yes", stdout=out)

    assert Patient.objects.get(pk=kept.pk).name == "留下"
    assert not Patient.objects.filter(name="后来").exists()
    assert "All invariants hold." in out.getvalue()


def test_the_invariant_check_reports_a_drifted_counter():
    paid_visit()
    call_command("check_invariants", stdout=StringIO())
    schedule = Schedule.objects.get()
    set_places_taken(schedule, 0)
    with pytest.raises(CommandError, match="places counted"):
        call_command("check_invariants", stdout=StringIO())


def test_the_invariant_check_reports_an_income_summary_out_of_step():
    paid_visit()
    DailyIncomeSummary.objects.update(payments=2)
    with pytest.raises(CommandError, match="income summary"):
        call_command("check_invariants", stdout=StringIO())


def test_restore_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError):
        call_command("restore_database", str(tmp_path / "nope"), "--yes", stdout=StringIO())
