"""Shared fixtures: one persona per role, and the marker for MariaDB-only tests."""

from __future__ import annotations

import os

import pytest
from django.db import connection
from hypothesis import HealthCheck, settings

from clinic.tests.factories import (
    AdminUserFactory,
    DoctorUserFactory,
    PatientUserFactory,
    ReceptionistFactory,
)

# Property-based tests: a bounded budget by default (and in CI), more with HYPOTHESIS_PROFILE.
settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "thorough",
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "mysql":
        return
    skip = pytest.mark.skip(
        reason="needs a MySQL-family server: set DATABASE_URL=mysql://... (SQLite has no row locks)"
    )
    for item in items:
        if "mariadb" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def patient_user(db):
    return PatientUserFactory()


@pytest.fixture
def other_patient_user(db):
    return PatientUserFactory()


@pytest.fixture
def receptionist(db):
    return ReceptionistFactory()


@pytest.fixture
def doctor_user(db):
    return DoctorUserFactory()


@pytest.fixture
def other_doctor_user(db):
    return DoctorUserFactory()


@pytest.fixture
def admin_user(db):
    return AdminUserFactory()


@pytest.fixture
def personas(patient_user, receptionist, doctor_user, admin_user):
    """The signed-in roles plus anonymous (None), by name."""
    return {
        "anonymous": None,
        "patient": patient_user,
        "receptionist": receptionist,
        "doctor": doctor_user,
        "admin": admin_user,
    }


@pytest.fixture(autouse=True)
def _sms_into_tmp(settings, tmp_path_factory):
    """Text messages of the file backend go to a folder of the test run, never the project's."""
    settings.CLINIC_SMS_FILE_DIR = str(tmp_path_factory.mktemp("sms"))
