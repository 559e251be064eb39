from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_migrations_are_complete():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


@pytest.mark.django_db
def test_the_common_departments_and_titles_get_their_english_names_once():
    """clinic 0006 fills blank English names of the usual departments and titles, and
    leaves names an administrator chose, and unknown names, alone."""
    import importlib

    from django.apps import apps

    from clinic.tests.factories import DepartmentFactory, DoctorFactory

    migration = importlib.import_module("clinic.migrations.0006_fill_common_english_names")
    internal = DepartmentFactory(name="内科", name_en="")
    chosen = DepartmentFactory(name="外科", name_en="General Surgery")
    unknown = DepartmentFactory(name="康复科", name_en="")
    doctor = DoctorFactory(title="主治医师", title_en="")
    migration.fill_english_names(apps, None)
    for record in (internal, chosen, unknown, doctor):
        record.refresh_from_db()
    assert internal.name_en == "Internal Medicine"
    assert chosen.name_en == "General Surgery"
    assert unknown.name_en == ""
    assert doctor.title_en == "Attending Physician"
