"""A visit's charges (visits.charges): the registration fee at arrival, the doctor's orders
with their quantities, bounds, permissions and allergy warnings, freezing at the end of the
consultation, and administrators' corrections."""

from __future__ import annotations

from decimal import Decimal

import pytest

from appointments.services import book_appointment
from clinic.exceptions import InvalidInput, PermissionDenied
from clinic.models import AuditEvent, DoctorRank, FeeCategory, RegistrationFee
from clinic.tests.factories import AdminUserFactory, DoctorUserFactory, ReceptionistFactory
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time
from visits.charges import (
    add_order,
    allergy_matches,
    charge_amount,
    computed_quantity,
    correct_charge,
    remove_charge_by_admin,
    remove_order,
    update_order,
)
from visits.exceptions import AllergyWarning, ChargesClosed, OrdersFrozen
from visits.models import Charge, ChargeKind, Frequency, VisitStatus
from visits.services import check_in, register_walk_in
from visits.tests.factories import (
    AllergyClassFactory,
    ChargeFactory,
    FeeItemFactory,
    PatientAllergyFactory,
    diagnosed,
    drug,
)

pytestmark = pytest.mark.django_db

OPEN = clinic_time(7, 30)


# --- The registration fee ---------------------------------------------------------------------


@pytest.fixture
def chief_schedule():
    schedule = ScheduleFactory(work_date=WORK_DAY, max_patients=5)
    schedule.doctor.rank = DoctorRank.CHIEF
    schedule.doctor.save(update_fields=["rank"])
    return schedule


@pytest.fixture
def chief_fee():
    item = FeeItemFactory(
        code="GH001", name="主任医师挂号费", category=FeeCategory.REGISTRATION, unit_price="50.00"
    )
    RegistrationFee.objects.create(rank=DoctorRank.CHIEF, fee_item=item)
    return item


def _check_in(schedule, patient_user, receptionist):
    booking = book_appointment(
        by=patient_user,
        department=schedule.department,
        expected_time=clinic_time(9),
        now=clinic_time(6),
    )
    return check_in(
        appointment_id=booking.pk,
        phone=booking.patient.phone,
        id_card=booking.patient.id_card,
        by=receptionist,
        now=OPEN,
    )


def _walk_in(schedule, receptionist):
    return register_walk_in(
        by=receptionist,
        department=schedule.department,
        name="路人甲",
        phone="13700000001",
        now=OPEN,
    )


class TestRegistrationCharge:
    def test_check_in_charges_the_fee_of_the_doctors_rank(
        self, chief_schedule, chief_fee, patient_user, receptionist
    ):
        visit = _check_in(chief_schedule, patient_user, receptionist)
        charge = Charge.objects.get(visit=visit)
        assert (charge.kind, charge.code, charge.name, charge.quantity, charge.unit_price) == (
            ChargeKind.REGISTRATION,
            "GH001",
            "主任医师挂号费",
            Decimal(1),
            Decimal("50.00"),
        )
        assert (charge.category, charge.insurance_class, charge.unit) == (
            FeeCategory.REGISTRATION,
            chief_fee.insurance_class,
            chief_fee.unit,
        )
        event = AuditEvent.objects.get(action="charge.registration_added")
        assert event.object_id == str(charge.pk)
        assert event.new_values["rank"] == DoctorRank.CHIEF

    def test_walk_in_charges_the_fee_too(self, chief_schedule, chief_fee, receptionist):
        visit = _walk_in(chief_schedule, receptionist)
        assert list(visit.charges.values_list("code", "kind")) == [
            ("GH001", ChargeKind.REGISTRATION)
        ]
        assert AuditEvent.objects.filter(action="charge.registration_added").count() == 1
        assert AuditEvent.objects.filter(action="visit.walked_in").count() == 1

    def test_no_mapping_for_the_rank_charges_nothing(self, chief_schedule, receptionist):
        visit = _walk_in(chief_schedule, receptionist)
        assert not visit.charges.exists()

    def test_a_doctor_without_rank_charges_nothing(self, chief_fee, receptionist):
        schedule = ScheduleFactory(work_date=WORK_DAY)
        assert schedule.doctor.rank == ""
        assert not _walk_in(schedule, receptionist).charges.exists()

    def test_an_inactive_item_charges_nothing(
        self, chief_schedule, chief_fee, patient_user, receptionist
    ):
        chief_fee.is_active = False
        chief_fee.save()
        assert not _check_in(chief_schedule, patient_user, receptionist).charges.exists()

    def test_a_later_rank_or_price_change_leaves_the_charge(
        self, chief_schedule, chief_fee, receptionist
    ):
        visit = _walk_in(chief_schedule, receptionist)
        chief_schedule.doctor.rank = DoctorRank.RESIDENT
        chief_schedule.doctor.save(update_fields=["rank"])
        chief_fee.unit_price = Decimal("80.00")
        chief_fee.name = "改名"
        chief_fee.save()
        charge = visit.charges.get()
        assert (charge.unit_price, charge.name) == (Decimal("50.00"), "主任医师挂号费")

    def test_a_refused_check_in_leaves_no_charge(
        self, chief_schedule, chief_fee, patient_user, receptionist
    ):
        booking = book_appointment(
            by=patient_user,
            department=chief_schedule.department,
            expected_time=clinic_time(9),
            now=clinic_time(6),
        )
        with pytest.raises(Exception):  # noqa: B017 - VerificationFailed
            check_in(appointment_id=booking.pk, phone="13000000000", by=receptionist, now=OPEN)
        assert not Charge.objects.exists()


# --- Orders -------------------------------------------------------------------------------------


def errors_of(excinfo) -> set[str]:
    return set(excinfo.value.details)


class TestQuantity:
    @pytest.mark.parametrize(
        "dose,frequency,days,per_unit,fractional,expected",
        [
            ("2", Frequency.TID, 7, "24", False, "2"),  # 42 capsules: 2 boxes
            ("2", Frequency.TID, 4, "24", False, "1"),  # 24: exactly 1 box
            ("1", Frequency.BID, 13, "24", False, "2"),  # 26: rounded up
            ("1", Frequency.QD, 1, "24", False, "1"),
            ("1", Frequency.QN, 30, "10", False, "3"),
            ("0.5", Frequency.QID, 3, "6", False, "1"),
            ("2", Frequency.ST, None, "24", False, "1"),  # once: 2 of 24
            ("30", Frequency.ST, 5, "24", False, "2"),  # days do not count for ST
            ("1", Frequency.PRN, 3, "24", False, None),  # when needed: typed
            ("1", Frequency.TID, None, "24", False, None),  # no days
            ("5", Frequency.TID, 3, "100", True, "0.450"),  # ml of a 100 ml bottle
            ("1", Frequency.TID, 1, "3", True, "1.000"),
        ],
    )
    def test_table(self, dose, frequency, days, per_unit, fractional, expected):
        item = drug(doses_per_unit=Decimal(per_unit), fractional_quantity=fractional)
        quantity = computed_quantity(item, dose=Decimal(dose), frequency=frequency, days=days)
        assert quantity == (Decimal(expected) if expected else None)

    def test_no_count_without_doses_per_unit_or_for_other_items(self, blood_test):
        assert (
            computed_quantity(drug(doses_per_unit=None), dose=Decimal(1), frequency="tid", days=3)
            is None
        )
        assert computed_quantity(blood_test, dose=Decimal(1), frequency="tid", days=3) is None


class TestAddOrder:
    def test_a_prescription_line_copies_the_item_and_computes_the_quantity(
        self, visit, doctor_user, amoxicillin
    ):
        result = add_order(
            visit=visit,
            by=doctor_user,
            fee_item=amoxicillin,
            dose="2",
            frequency=Frequency.TID,
            days=7,
            usage="口服",
        )
        charge = Charge.objects.get(pk=result.charge.pk)
        assert result.allergy_matches == []
        assert (charge.kind, charge.code, charge.name, charge.unit, charge.unit_price) == (
            ChargeKind.ORDER,
            "YP001",
            "阿莫西林胶囊",
            "盒",
            Decimal("12.50"),
        )
        assert (charge.quantity, charge.dose, charge.dose_unit, charge.frequency, charge.days) == (
            Decimal(2),
            Decimal(2),
            "粒",
            "tid",
            7,
        )
        assert (charge.ordered_by, charge.insurance_class) == (doctor_user, "B")
        assert charge_amount(charge) == Decimal("25.00")
        event = AuditEvent.objects.get(action="charge.ordered")
        assert (event.object_id, event.new_values["quantity"]) == (str(charge.pk), "2.000")

    def test_the_doctor_may_override_the_quantity(self, visit, doctor_user, amoxicillin):
        result = add_order(
            visit=visit,
            by=doctor_user,
            fee_item=amoxicillin.pk,
            dose="2",
            frequency="tid",
            days=7,
            quantity="3",
        )
        assert result.charge.quantity == Decimal(3)

    def test_an_examination_takes_a_quantity_and_a_note(self, visit, doctor_user, blood_test):
        result = add_order(
            visit=visit, by=doctor_user, fee_item=blood_test, quantity=1, note="空腹"
        )
        assert (result.charge.quantity, result.charge.note, result.charge.dose) == (
            Decimal(1),
            "空腹",
            None,
        )

    def test_a_later_price_change_does_not_change_the_charge(self, visit, doctor_user, blood_test):
        charge = add_order(visit=visit, by=doctor_user, fee_item=blood_test, quantity=2).charge
        blood_test.unit_price = Decimal("99.00")
        blood_test.save()
        charge.refresh_from_db()
        assert charge.unit_price == Decimal("20.00")

    @pytest.mark.parametrize(
        "fields,field",
        [
            ({"quantity": None}, "quantity"),  # not computable: required
            ({"quantity": "0"}, "quantity"),
            ({"quantity": "-1"}, "quantity"),
            ({"quantity": "10000"}, "quantity"),
            ({"quantity": "1.5"}, "quantity"),  # whole boxes
            ({"quantity": "1.0001"}, "quantity"),
            ({"quantity": "abc"}, "quantity"),
            ({"quantity": "NaN"}, "quantity"),
            ({"quantity": "Infinity"}, "quantity"),
            ({"quantity": "1", "dose": "0"}, "dose"),
            ({"quantity": "1", "dose": "-2"}, "dose"),
            ({"quantity": "1", "dose": "100000"}, "dose"),
            ({"quantity": "1", "dose": "x"}, "dose"),
            ({"quantity": "1", "days": "0"}, "days"),
            ({"quantity": "1", "days": "91"}, "days"),
            ({"quantity": "1", "days": "1.5"}, "days"),
            ({"quantity": "1", "days": "1e999999"}, "days"),
            ({"quantity": "1e999999"}, "quantity"),
            ({"quantity": "1", "dose": "1e-999999"}, "dose"),
            ({"quantity": "1", "frequency": "hourly"}, "frequency"),
            ({"quantity": "1", "usage": "x" * 101}, "usage"),
            ({"quantity": "1", "note": "x" * 201}, "note"),
        ],
    )
    def test_bad_input_is_a_field_error_and_writes_nothing(
        self, visit, doctor_user, amoxicillin, fields, field
    ):
        with pytest.raises(InvalidInput) as excinfo:
            add_order(visit=visit, by=doctor_user, fee_item=amoxicillin, **fields)
        assert field in errors_of(excinfo)
        assert not Charge.objects.exists()
        assert not AuditEvent.objects.filter(action__startswith="charge.").exists()

    def test_a_fractional_item_takes_decimals(self, visit, doctor_user):
        syrup = drug(unit="ml", fractional_quantity=True, doses_per_unit=Decimal(1))
        charge = add_order(visit=visit, by=doctor_user, fee_item=syrup, quantity="2.5").charge
        assert charge.quantity == Decimal("2.5")

    def test_a_dose_on_an_examination_is_refused(self, visit, doctor_user, blood_test):
        with pytest.raises(InvalidInput) as excinfo:
            add_order(visit=visit, by=doctor_user, fee_item=blood_test, quantity=1, dose="1")
        assert "dose" in errors_of(excinfo)

    @pytest.mark.parametrize("which", ["inactive", "registration", "missing", "garbage"])
    def test_an_item_that_cannot_be_ordered_is_a_field_error(self, visit, doctor_user, which):
        if which == "inactive":
            item = FeeItemFactory(is_active=False)
        elif which == "registration":
            item = FeeItemFactory(category=FeeCategory.REGISTRATION)
        else:
            item = {"missing": 999999, "garbage": "abc"}[which]
        with pytest.raises(InvalidInput) as excinfo:
            add_order(visit=visit, by=doctor_user, fee_item=item, quantity=1)
        assert errors_of(excinfo) == {"fee_item"}
        assert not Charge.objects.exists()

    @pytest.mark.parametrize("who", ["other_doctor", "receptionist", "admin", "inactive"])
    def test_only_the_visits_doctor_orders(self, visit, doctor_user, blood_test, who):
        user = {
            "other_doctor": DoctorUserFactory,
            "receptionist": ReceptionistFactory,
            "admin": AdminUserFactory,
            "inactive": lambda: doctor_user,
        }[who]()
        if who == "inactive":
            user.is_active = False
        with pytest.raises(PermissionDenied):
            add_order(visit=visit, by=user, fee_item=blood_test, quantity=1)
        assert not Charge.objects.exists()

    @pytest.mark.parametrize(
        "status",
        [
            VisitStatus.WAITING,
            VisitStatus.AWAITING_PAYMENT,
            VisitStatus.LEFT,
            VisitStatus.CANCELLED,
        ],
    )
    def test_orders_are_written_only_in_consultation(self, visit, doctor_user, blood_test, status):
        Charge.objects.all().delete()
        visit.status = status
        visit.save(update_fields=["status"])
        with pytest.raises(OrdersFrozen) as excinfo:
            add_order(visit=visit, by=doctor_user, fee_item=blood_test, quantity=1)
        assert excinfo.value.status == 409
        assert not Charge.objects.exists()

    def test_finishing_the_consultation_freezes_the_orders(self, visit, doctor_user, blood_test):
        charge = add_order(visit=visit, by=doctor_user, fee_item=blood_test, quantity=1).charge
        diagnosed(visit)
        visit.finish_consultation(by=doctor_user)
        with pytest.raises(OrdersFrozen):
            update_order(charge=charge, by=doctor_user, quantity=2)
        with pytest.raises(OrdersFrozen):
            remove_order(charge=charge, by=doctor_user)
        charge.refresh_from_db()
        assert charge.quantity == Decimal(1)


class TestUpdateAndRemove:
    def test_update_recounts_when_the_dosage_changes(self, visit, doctor_user, amoxicillin):
        charge = add_order(
            visit=visit, by=doctor_user, fee_item=amoxicillin, dose=2, frequency="tid", days=4
        ).charge
        assert charge.quantity == Decimal(1)
        update_order(charge=charge, by=doctor_user, days=7)
        charge.refresh_from_db()
        assert (charge.days, charge.quantity) == (7, Decimal(2))
        event = AuditEvent.objects.get(action="charge.changed")
        assert event.old_values == {"days": 4, "quantity": "1.000"}
        assert event.new_values["quantity"] == "2.000"

    def test_update_keeps_a_typed_quantity_when_only_the_note_changes(
        self, visit, doctor_user, amoxicillin
    ):
        charge = add_order(
            visit=visit,
            by=doctor_user,
            fee_item=amoxicillin,
            dose=2,
            frequency="tid",
            days=4,
            quantity=5,
        ).charge
        update_order(charge=charge, by=doctor_user, note="饭后")
        charge.refresh_from_db()
        assert (charge.quantity, charge.note) == (Decimal(5), "饭后")

    def test_a_refused_update_changes_nothing(self, visit, doctor_user, blood_test):
        charge = add_order(visit=visit, by=doctor_user, fee_item=blood_test, quantity=1).charge
        with pytest.raises(InvalidInput):
            update_order(charge=charge, by=doctor_user, quantity="0")
        charge.refresh_from_db()
        assert charge.quantity == Decimal(1)
        assert not AuditEvent.objects.filter(action="charge.changed").exists()

    def test_another_doctor_cannot_change_or_remove(self, visit, doctor_user, blood_test):
        charge = add_order(visit=visit, by=doctor_user, fee_item=blood_test, quantity=1).charge
        other = DoctorUserFactory()
        with pytest.raises(PermissionDenied):
            update_order(charge=charge, by=other, quantity=2)
        with pytest.raises(PermissionDenied):
            remove_order(charge=charge, by=other)
        assert Charge.objects.filter(pk=charge.pk, quantity=1).exists()

    def test_remove_deletes_and_audits(self, visit, doctor_user, blood_test):
        charge = add_order(visit=visit, by=doctor_user, fee_item=blood_test, quantity=1).charge
        remove_order(charge=charge, by=doctor_user)
        assert not Charge.objects.exists()
        event = AuditEvent.objects.get(action="charge.removed")
        assert (event.object_id, event.old_values["code"]) == (str(charge.pk), "JY001")

    def test_the_registration_fee_is_not_the_doctors(self, visit, doctor_user):
        fee = ChargeFactory(
            visit=visit,
            kind=ChargeKind.REGISTRATION,
            fee_item=FeeItemFactory(category=FeeCategory.REGISTRATION),
        )
        with pytest.raises(PermissionDenied):
            update_order(charge=fee, by=doctor_user, quantity=2)
        with pytest.raises(PermissionDenied):
            remove_order(charge=fee, by=doctor_user)
        assert Charge.objects.filter(pk=fee.pk).exists()


class TestAllergies:
    def test_a_structured_allergy_matches_the_class(self, visit, amoxicillin):
        PatientAllergyFactory(
            patient=visit.patient, substance="某药", allergy_class=AllergyClassFactory()
        )
        assert allergy_matches(visit.patient, amoxicillin) == ["某药 → 青霉素类"]

    @pytest.mark.parametrize(
        "substance",
        [
            "青霉素",
            "penicillin",
            "PENICILLINS",
            "Penicillin allergy",
            "青霉素类药物",
            "阿莫西林",
            "pen",
        ],
    )
    def test_a_free_text_allergy_matches_by_name(self, visit, amoxicillin, substance):
        PatientAllergyFactory(patient=visit.patient, substance=substance)
        assert allergy_matches(visit.patient, amoxicillin)

    @pytest.mark.parametrize("substance", ["花生", "磺胺", "x", "open wound", "pe"])
    def test_unrelated_allergies_do_not_match(self, visit, amoxicillin, substance):
        PatientAllergyFactory(patient=visit.patient, substance=substance)
        assert allergy_matches(visit.patient, amoxicillin) == []

    def test_a_three_character_class_matches_without_its_ending(self, visit):
        sulfa = drug(name="复方磺胺甲噁唑片")
        sulfa.allergy_classes.add(AllergyClassFactory(code="SUL", name="磺胺类", name_en=""))
        PatientAllergyFactory(patient=visit.patient, substance="磺胺")
        assert allergy_matches(visit.patient, sulfa) == ["磺胺 → 磺胺类"]

    def test_a_removed_allergy_does_not_match(self, visit, amoxicillin, doctor_user):
        from django.utils import timezone

        PatientAllergyFactory(
            patient=visit.patient,
            substance="青霉素",
            removed_at=timezone.now(),
            removed_by=doctor_user,
        )
        assert allergy_matches(visit.patient, amoxicillin) == []

    def test_a_match_without_reason_is_refused(self, visit, doctor_user, amoxicillin):
        PatientAllergyFactory(patient=visit.patient, substance="青霉素")
        with pytest.raises(AllergyWarning) as excinfo:
            add_order(visit=visit, by=doctor_user, fee_item=amoxicillin, quantity=1)
        assert excinfo.value.status == 409
        assert excinfo.value.details["allergy_matches"] == ["青霉素 → 青霉素类"]
        assert "allergy_override_reason" in excinfo.value.details
        assert not Charge.objects.exists()

    def test_with_a_reason_the_order_keeps_the_warning_and_the_reason(
        self, visit, doctor_user, amoxicillin
    ):
        PatientAllergyFactory(patient=visit.patient, substance="青霉素")
        result = add_order(
            visit=visit,
            by=doctor_user,
            fee_item=amoxicillin,
            quantity=1,
            allergy_override_reason="皮试阴性",
        )
        charge = Charge.objects.get()
        assert result.allergy_matches == ["青霉素 → 青霉素类"]
        assert (charge.allergy_warning, charge.allergy_override_reason) == (
            "青霉素 → 青霉素类",
            "皮试阴性",
        )
        event = AuditEvent.objects.get(action="charge.ordered")
        assert event.new_values["allergy_warning"] == "青霉素 → 青霉素类"
        assert event.new_values["allergy_override_reason"] == "皮试阴性"

    def test_a_reason_without_a_match_is_not_kept(self, visit, doctor_user, blood_test):
        charge = add_order(
            visit=visit,
            by=doctor_user,
            fee_item=blood_test,
            quantity=1,
            allergy_override_reason="whatever",
        ).charge
        assert (charge.allergy_warning, charge.allergy_override_reason) == ("", "")


# --- Administrators' corrections -------------------------------------------------------------


class TestCorrections:
    @pytest.fixture
    def awaiting(self, visit, doctor_user, blood_test):
        charge = add_order(visit=visit, by=doctor_user, fee_item=blood_test, quantity=1).charge
        diagnosed(visit)
        visit.finish_consultation(by=doctor_user)
        return charge

    def test_an_admin_corrects_the_quantity_with_a_reason(self, awaiting, admin_user):
        correct_charge(charge=awaiting, by=admin_user, quantity="2", reason="录入错误")
        awaiting.refresh_from_db()
        assert awaiting.quantity == Decimal(2)
        event = AuditEvent.objects.get(action="charge.corrected")
        assert event.old_values == {"quantity": "1.000"}
        assert event.new_values["reason"] == "录入错误"

    def test_a_reason_is_required(self, awaiting, admin_user):
        with pytest.raises(InvalidInput) as excinfo:
            correct_charge(charge=awaiting, by=admin_user, quantity="2", reason=" ")
        assert "reason" in errors_of(excinfo)

    def test_bad_quantity(self, awaiting, admin_user):
        with pytest.raises(InvalidInput):
            correct_charge(charge=awaiting, by=admin_user, quantity="0", reason="r")

    def test_only_administrators(self, awaiting, doctor_user, receptionist):
        for user in (doctor_user, receptionist):
            with pytest.raises(PermissionDenied):
                correct_charge(charge=awaiting, by=user, quantity="2", reason="r")
            with pytest.raises(PermissionDenied):
                remove_charge_by_admin(charge=awaiting, by=user, reason="r")

    def test_only_while_awaiting_payment(self, visit, doctor_user, blood_test, admin_user):
        charge = add_order(visit=visit, by=doctor_user, fee_item=blood_test, quantity=1).charge
        with pytest.raises(ChargesClosed):
            correct_charge(charge=charge, by=admin_user, quantity="2", reason="r")
        visit.status = VisitStatus.LEFT
        visit.save(update_fields=["status"])
        with pytest.raises(ChargesClosed):
            remove_charge_by_admin(charge=charge, by=admin_user, reason="r")
        assert Charge.objects.filter(pk=charge.pk, quantity=1).exists()

    def test_an_admin_removes_a_charge_with_a_reason(self, awaiting, admin_user):
        remove_charge_by_admin(charge=awaiting, by=admin_user, reason="未做检查")
        assert not Charge.objects.exists()
        event = AuditEvent.objects.get(action="charge.removed_by_admin")
        assert event.new_values == {"reason": "未做检查"}


def test_the_registration_fee_costs_a_walk_in_one_read_and_one_insert(chief_schedule, receptionist):
    """One read of the mapping with its item, one insert; its audit event joins the
    walk-in's own INSERT."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as without:
        _walk_in(chief_schedule, receptionist)
    item = FeeItemFactory(code="GH001", category=FeeCategory.REGISTRATION)
    RegistrationFee.objects.create(rank=DoctorRank.CHIEF, fee_item=item)
    with CaptureQueriesContext(connection) as with_fee:
        register_walk_in(
            by=receptionist,
            department=chief_schedule.department,
            name="路人乙",
            phone="13700000002",
            now=OPEN,
        )
    # The mapping is read either way; the charge is one INSERT more, its event none.
    assert len(with_fee) - len(without) == 1
    statements = [query["sql"] for query in with_fee.captured_queries]
    assert sum("registrationfee" in sql for sql in statements) == 1
    assert sum(sql.startswith("INSERT") and "visits_charge" in sql for sql in statements) == 1
    assert sum(sql.startswith("INSERT") and "auditevent" in sql for sql in statements) == 1
    assert Charge.objects.count() == 1


def test_locked_charges_are_the_visits_by_id(visit):
    from django.db import transaction

    from visits.charges import locked_charges

    second, first = ChargeFactory(visit=visit), ChargeFactory(visit=visit)
    ChargeFactory()
    with transaction.atomic():
        assert [charge.pk for charge in locked_charges(visit)] == sorted([first.pk, second.pk])


class TestAmountsABillCanHold:
    """DECIMAL(10, 2) holds up to 99,999,999.99: no order, correction or visit total beyond
    it reaches a bill (the settlement would fail on it)."""

    def test_a_line_beyond_the_largest_amount_is_a_field_error(self, visit, doctor_user):
        from clinic.exceptions import InvalidInput
        from clinic.tests.factories import FeeItemFactory

        dear = FeeItemFactory(unit_price=Decimal("99999999.99"))
        with pytest.raises(InvalidInput) as caught:
            add_order(visit=visit, by=doctor_user, fee_item=dear, quantity="2")
        assert "quantity" in caught.value.details
        assert not visit.charges.filter(fee_item=dear).exists()

    def test_a_visit_total_beyond_the_largest_amount_is_a_field_error(self, visit, doctor_user):
        from clinic.exceptions import InvalidInput
        from clinic.tests.factories import FeeItemFactory

        dear = FeeItemFactory(unit_price=Decimal("60000000.00"))
        add_order(visit=visit, by=doctor_user, fee_item=dear, quantity="1")
        with pytest.raises(InvalidInput):
            add_order(visit=visit, by=doctor_user, fee_item=dear, quantity="1")
        assert visit.charges.filter(fee_item=dear).count() == 1

    def test_an_administrators_correction_keeps_whole_units(self, visit, doctor_user, admin_user):
        from clinic.exceptions import InvalidInput
        from clinic.tests.factories import FeeItemFactory

        order = add_order(
            visit=visit, by=doctor_user, fee_item=FeeItemFactory(), quantity="1"
        ).charge
        type(visit).objects.filter(pk=visit.pk).update(status=VisitStatus.AWAITING_PAYMENT)
        with pytest.raises(InvalidInput) as caught:
            correct_charge(charge=order, by=admin_user, quantity="1.5", reason="typo")
        assert "quantity" in caught.value.details
        order.refresh_from_db()
        assert order.quantity == Decimal(1)


def test_the_database_refuses_a_dose_on_anything_but_a_drug():
    """The service's rule (only a drug takes a dose, a frequency and days) is also a CHECK."""
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        ChargeFactory(fee_item=FeeItemFactory(), dose=Decimal(1), frequency="bid", days=3)
