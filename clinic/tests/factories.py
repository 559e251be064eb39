from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from clinic.groups import ADMINISTRATORS, MANAGERS
from clinic.models import (
    AllergyClass,
    Department,
    Employee,
    FeeCategory,
    FeeItem,
    Gender,
    InsuranceClass,
    InsurancePlan,
    Patient,
    Position,
    Role,
    Room,
    User,
)
from clinic.validators import resident_id_check_char

TEST_PASSWORD = "correct-horse-battery-staple"


def make_resident_id(birth_date: dt.date | None = None, *, seed: int | None = None) -> str:
    """A valid 18-character resident ID (Beijing area code, real check digit)."""
    rng = random.Random(seed)
    birth_date = birth_date or dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(20000))
    first17 = f"110105{birth_date:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + resident_id_check_char(first17)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Department {n}")
    code = factory.Sequence(lambda n: f"D{n}")


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    room_number = factory.Sequence(lambda n: f"R{n:03d}")
    department = factory.SubFactory(DepartmentFactory)


class EmployeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employee

    emp_id = factory.Sequence(lambda n: f"E{n:04d}")
    name = factory.Sequence(lambda n: f"Staff {n}")
    gender = Gender.FEMALE
    position = Position.NURSE
    phone = factory.Sequence(lambda n: f"138{n:08d}")


class DoctorFactory(EmployeeFactory):
    emp_id = factory.Sequence(lambda n: f"D{n:04d}")
    name = factory.Sequence(lambda n: f"Doctor {n}")
    position = Position.DOCTOR
    department = factory.SubFactory(DepartmentFactory)


def letters(n: int) -> str:
    """0 → "A", 25 → "Z", 26 → "BA": a sequence number written in letters."""
    word = ""
    while True:
        n, digit = divmod(n, 26)
        word = chr(ord("A") + digit) + word
        if not n:
            return word


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    # Letters only: a name is typed as letters, and letters with digits are read as pinyin
    # with a phone fragment (clinic.search, rule 5).
    name = factory.Sequence(lambda n: f"Patient {letters(n)}")
    gender = Gender.MALE
    phone = factory.Sequence(lambda n: f"139{n:08d}")
    id_card = factory.Sequence(lambda n: make_resident_id(seed=n))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.PATIENT
    password = factory.PostGenerationMethodCall("set_password", TEST_PASSWORD)

    @factory.post_generation
    def _save_password(self, create: bool, extracted, **kwargs) -> None:
        if create:
            self.save()


class PatientUserFactory(UserFactory):
    role = Role.PATIENT
    patient = factory.RelatedFactory(PatientFactory, factory_related_name="user")


class ReceptionistFactory(UserFactory):
    """A receptionist at the counter: their cashier shift is open (float 0), as it is
    whenever they take money. `shift=False` for one who has not opened it."""

    role = Role.RECEPTIONIST
    employee = factory.SubFactory(EmployeeFactory, position=Position.RECEPTIONIST)

    @factory.post_generation
    def shift(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted is not False:
            from billing.models import CashierShift

            CashierShift.objects.create(
                cashier=self,
                open_cashier=self.pk,
                opened_at=timezone.now(),
                opening_float=kwargs.get("opening_float", 0),
            )


class DoctorUserFactory(UserFactory):
    role = Role.DOCTOR
    employee = factory.SubFactory(DoctorFactory)


class AdminUserFactory(UserFactory):
    """An administrator in the "Clinic administrator" group (clinic.groups): every right."""

    role = Role.ADMIN
    employee = factory.SubFactory(EmployeeFactory, position=Position.ADMIN)

    @factory.post_generation
    def group(self, create: bool, extracted, **kwargs) -> None:
        if create:
            self.groups.add(Group.objects.get(name=extracted or ADMINISTRATORS))


class ManagerUserFactory(AdminUserFactory):
    """An administrator in the "Clinic manager" group: no records, no administrator
    accounts."""

    group = factory.PostGeneration(
        lambda user, create, extracted, **kwargs: (
            create and user.groups.add(Group.objects.get(name=MANAGERS))
        )
    )


class AllergyClassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AllergyClass
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"class{n}")
    name = factory.Sequence(lambda n: f"Allergy class {n}")


class FeeItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeeItem
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"F{n:05d}")
    name = factory.Sequence(lambda n: f"Item {n}")
    category = FeeCategory.EXAMINATION
    unit = "test"
    unit_price = Decimal("25.00")
    insurance_class = InsuranceClass.A

    @factory.post_generation
    def allergy_classes(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted:
            self.allergy_classes.set(extracted)


class InsurancePlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InsurancePlan
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Plan {n}")
    coverage_a = Decimal("90.00")
    coverage_b = Decimal("70.00")
    coverage_c = Decimal("0.00")
