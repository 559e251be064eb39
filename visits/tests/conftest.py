import pytest

from clinic.models import FeeCategory
from scheduling.tests.factories import ScheduleFactory
from visits.models import VisitStatus
from visits.tests.factories import AllergyClassFactory, FeeItemFactory, VisitFactory, drug


@pytest.fixture
def doctor_client(client, doctor_user):
    """The demo-like doctor signed in, reading pages in English."""
    client.force_login(doctor_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


# The orders' tests (services and pages): the doctor's visit in consultation, a drug with an
# allergy class and an examination.


@pytest.fixture
def visit(doctor_user):
    schedule = ScheduleFactory(doctor=doctor_user.employee)
    return VisitFactory(schedule=schedule, status=VisitStatus.IN_CONSULTATION)


@pytest.fixture
def amoxicillin():
    item = drug(code="YP001")
    item.allergy_classes.add(AllergyClassFactory())
    return item


@pytest.fixture
def blood_test():
    return FeeItemFactory(
        code="JY001", name="血常规", category=FeeCategory.LABORATORY, unit_price="20.00"
    )
