"""Fixtures for the API suites: a fixed clinic clock, JWT clients per persona, and a clinic
day built through the clinic's own services (so every counter is consistent)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from appointments.models import Appointment
from appointments.services import book_appointment
from clinic.models import User
from clinic.tests.factories import PatientFactory, RoomFactory, make_resident_id
from scheduling.models import Schedule, TimeSlot
from scheduling.services import save_schedule
from tests.support import WORK_DAY, clinic_time
from visits.allergies import add_allergy
from visits.models import MedicalRecord, PatientAllergy, Visit
from visits.services import register_walk_in, save_medical_record

# The clinic's clock during API tests: a Monday morning, inside the morning slot.
NOW = clinic_time(9, 0)

PERSONAS = (
    "anonymous",
    "patient",
    "other_patient",
    "receptionist",
    "doctor",
    "other_doctor",
    "admin",
)


@pytest.fixture(autouse=True)
def _fresh_throttle_counters() -> Iterator[None]:
    # The sign-in throttle counts in the cache; each test starts from zero.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clinic_clock() -> Iterator[dt.datetime]:
    """Freeze Django's clock at NOW (tokens keep real time: PyJWT reads the system clock)."""
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield NOW


def bearer_client(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        token = RefreshToken.for_user(user).access_token
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def persona_users(
    patient_user: User,
    other_patient_user: User,
    receptionist: User,
    doctor_user: User,
    other_doctor_user: User,
    admin_user: User,
) -> dict[str, User | None]:
    return {
        "anonymous": None,
        "patient": patient_user,
        "other_patient": other_patient_user,
        "receptionist": receptionist,
        "doctor": doctor_user,
        "other_doctor": other_doctor_user,
        "admin": admin_user,
    }


@dataclass
class ClinicDay:
    """One department's Monday: the doctor persona's morning schedule, with a booking of the
    patient persona and a phone booking, and visits in each state on that schedule."""

    users: dict[str, Any]
    department: Any
    schedule: Schedule
    afternoon: Schedule
    booking: Appointment
    phone_booking: Appointment
    waiting: Visit
    in_consultation: Visit
    awaiting_payment: Visit
    record: MedicalRecord
    allergy: PatientAllergy

    def walk_in(self, name: str = "Walk-in", *, seed: int = 900_900) -> Visit:
        return register_walk_in(
            by=self.users["receptionist"],
            department=self.department,
            name=name,
            phone=f"137{seed:08d}",
            id_card=make_resident_id(seed=seed),
            gender="female",
            doctor=self.schedule.doctor,
        )


def build_clinic_day(users: dict[str, Any]) -> ClinicDay:
    desk, doctor = users["receptionist"], users["doctor"]
    department = doctor.employee.department
    schedules = []
    for slot in (TimeSlot.MORNING, TimeSlot.AFTERNOON):
        schedules.append(
            save_schedule(
                schedule=Schedule(
                    department=department,
                    room=RoomFactory(department=department),
                    doctor=doctor.employee,
                    work_date=WORK_DAY,
                    time_slot=slot,
                    max_patients=20,
                ),
                by=users["admin"],
            )
        )
    schedule, afternoon = schedules
    booking = book_appointment(
        by=users["patient"], department=department, expected_time=clinic_time(10, 0)
    )
    phone_booking = book_appointment(
        by=desk,
        department=department,
        expected_time=clinic_time(10, 30),
        patient_name="Caller",
        phone="13712345678",
    )
    visits = []
    for seed in (900_801, 900_802, 900_803):
        visits.append(
            register_walk_in(
                by=desk,
                department=department,
                name=f"Walk-in {seed}",
                phone=f"137{seed:08d}",
                id_card=make_resident_id(seed=seed),
                gender="male",
                doctor=doctor.employee,
            )
        )
    awaiting_payment, in_consultation, waiting = visits
    awaiting_payment.start_consultation(by=doctor)
    record = save_medical_record(visit=awaiting_payment, by=doctor, diagnosis="Common cold")
    awaiting_payment.finish_consultation(by=doctor)
    in_consultation.start_consultation(by=doctor)
    allergy = add_allergy(
        patient=awaiting_payment.patient, by=doctor, substance="Penicillin", severity="severe"
    )
    PatientFactory(name="Someone Else")
    return ClinicDay(
        users=users,
        department=department,
        schedule=schedule,
        afternoon=afternoon,
        booking=booking,
        phone_booking=phone_booking,
        waiting=waiting,
        in_consultation=in_consultation,
        awaiting_payment=awaiting_payment,
        record=record,
        allergy=allergy,
    )


@pytest.fixture
def clinic_day(clinic_clock: dt.datetime, persona_users: dict[str, Any]) -> ClinicDay:
    return build_clinic_day(persona_users)
