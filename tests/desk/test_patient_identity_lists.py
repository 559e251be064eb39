"""The desk's lists of patients tell two people sharing one phone apart (issue 19): gender,
birth date and age, the ID number masked, and whether an online account acts for the record,
on the patients page, in the search box's results and in the walk-in lookup."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.models import Gender
from clinic.privacy import mask_id_card
from clinic.tests.factories import PatientFactory, PatientUserFactory, make_resident_id

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
PHONE = "13911112222"


@pytest.fixture
def desk_client(client, receptionist):
    client.force_login(receptionist)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def years_ago(years: int) -> dt.date:
    today = timezone.localdate()
    return today.replace(year=today.year - years, day=1) - dt.timedelta(days=1)


@pytest.fixture
def family():
    """A mother and her son on one phone; the son registered online."""
    mother_born, son_born = years_ago(52), years_ago(9)
    mother = PatientFactory(
        name="王芳", phone=PHONE, gender=Gender.FEMALE, birth_date=mother_born,
        id_card=make_resident_id(mother_born, seed=1),
    )  # fmt: skip
    son = PatientFactory(
        name="王小明", phone=PHONE, gender=Gender.MALE, birth_date=son_born,
        id_card=make_resident_id(son_born, seed=2),
    )  # fmt: skip
    account = PatientUserFactory()
    account.patient.delete()  # the factory's own record: the son's is the one it acts for
    son.user = account
    son.save(update_fields=["user"])
    return mother, son


def assert_tells_apart(html: str, mother, son) -> None:
    for person, age in ((mother, "52 years"), (son, "9 years")):
        assert person.birth_date.isoformat() in html
        assert f"({age})" in html
        assert mask_id_card(person.id_card) in html
        assert person.id_card not in html
    assert "Female" in html and "Male" in html
    assert html.count("online account") == 1


def test_the_patients_page(desk_client, family):
    html = desk_client.get(reverse("visits:patients"), {"q": PHONE}).content.decode()
    assert_tells_apart(html, *family)


def test_the_search_box(desk_client, family):
    html = desk_client.get(reverse("visits:search"), {"q": PHONE}, headers=HTMX).content.decode()
    assert_tells_apart(html, *family)


def test_the_walk_in_lookup(desk_client, family):
    html = desk_client.get(
        reverse("visits:walk-in"), {"part": "matches", "phone": PHONE}, headers=HTMX
    ).content.decode()
    assert_tells_apart(html, *family)


@pytest.mark.parametrize("name", ["visits:patients", "visits:search"])
def test_the_lists_cost_no_query_per_patient(desk_client, family, name):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert desk_client.get(reverse(name), {"q": "139"}).status_code == 200
        return len(queries)

    few = count()
    for index in range(6):
        PatientFactory(phone=f"1391111{index:04d}")
        PatientUserFactory(patient__phone=f"1391112{index:04d}")
    assert count() == few
