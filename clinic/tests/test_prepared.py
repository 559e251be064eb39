"""Prepared queries answer exactly what the querysets they were compiled from answer."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.apps import apps
from django.db import transaction
from django.db.transaction import TransactionManagementError

from clinic.models import Patient
from clinic.prepared import PreparedInsert, PreparedQuery, insert_sql
from visits.models import Visit
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

CONCRETE = [field.attname for field in Visit._meta.concrete_fields]


def values(instance) -> dict:
    return {name: getattr(instance, name) for name in CONCRETE}


def test_instances_with_their_joined_relations_equal_the_orm_ones(django_assert_num_queries):
    visit = VisitFactory()
    prepared = PreparedQuery(
        lambda pk: Visit.objects.select_related("patient", "schedule__doctor").filter(pk=pk),
        pk=int,
    )
    expected = Visit.objects.select_related("patient", "schedule__doctor").get(pk=visit.pk)
    for _ in range(2):  # compiled on the first call, reused on the second
        with django_assert_num_queries(1):
            found = prepared.get(pk=visit.pk)
            assert found.patient.name == expected.patient.name
            assert found.schedule.doctor.name == expected.schedule.doctor.name
        assert values(found) == values(expected)
        assert found.check_in_time.tzinfo is not None  # converted as the ORM converts
        assert not found._state.adding and found._state.db == "default"


def test_other_arguments_reuse_the_compiled_sql():
    first, second = VisitFactory(), VisitFactory()
    prepared = PreparedQuery(lambda pk: Visit.objects.filter(pk=pk), pk=int)
    assert prepared.get(pk=first.pk).pk == first.pk
    assert prepared.get(pk=second.pk).pk == second.pk
    assert len(prepared._compiled) == 1


def test_values_list_rows_and_date_arguments():
    visit = VisitFactory()
    day = visit.visit_date
    flat = PreparedQuery(
        lambda patient, day: (
            Visit.objects.filter(patient_id=patient, visit_date=day)
            .order_by("-queue_number")
            .values_list("queue_number", flat=True)[:1]
        ),
        patient=int,
        day=dt.date,
    )
    assert flat.first(patient=visit.patient_id, day=day) == visit.queue_number
    assert flat.first(patient=visit.patient_id, day=day + dt.timedelta(days=1)) is None
    rows = PreparedQuery(
        lambda pk: Visit.objects.filter(pk=pk).values_list("pk", "status", "visit_date"), pk=int
    )
    assert rows.fetch(pk=visit.pk) == [(visit.pk, visit.status, day)]


def test_datetime_arguments_are_compared_like_the_orm_compares_them():
    visit = VisitFactory()
    checked_in_between = PreparedQuery(
        lambda start, end: Visit.objects.filter(check_in_time__gte=start, check_in_time__lt=end),
        start=dt.datetime,
        end=dt.datetime,
    )
    moment = visit.check_in_time
    for start, end in [
        (moment, moment + dt.timedelta(seconds=1)),
        (moment - dt.timedelta(hours=1), moment),
        (moment + dt.timedelta(microseconds=1), moment + dt.timedelta(hours=1)),
    ]:
        orm = list(Visit.objects.filter(check_in_time__gte=start, check_in_time__lt=end))
        assert checked_in_between.fetch(start=start, end=end) == orm


def test_string_arguments():
    visit = VisitFactory()
    by_phone = PreparedQuery(
        lambda phone, name: Patient.objects.filter(phone=phone, name=name), phone=str, name=str
    )
    patient = visit.patient
    assert by_phone.get(phone=patient.phone, name=patient.name).pk == patient.pk
    assert by_phone.fetch(phone=patient.phone, name=patient.name + "x") == []


def test_no_row_and_too_many_rows_raise_as_get_does():
    visit = VisitFactory()
    VisitFactory(patient=visit.patient)
    by_pk = PreparedQuery(lambda pk: Visit.objects.filter(pk=pk), pk=int)
    with pytest.raises(Visit.DoesNotExist):
        by_pk.get(pk=visit.pk + 1000)
    with pytest.raises(Visit.DoesNotExist):  # beyond any integer column: no row, no error
        by_pk.get(pk=2**64)
    by_patient = PreparedQuery(
        lambda patient: Visit.objects.filter(patient_id=patient), patient=int
    )
    with pytest.raises(Visit.MultipleObjectsReturned):
        by_patient.get(patient=visit.patient_id)


@pytest.mark.django_db(transaction=True)
def test_a_locking_query_outside_a_transaction_is_refused_even_once_compiled():
    patient = Patient.objects.create(name="Lock", phone="13800000001")
    locked = PreparedQuery(lambda pk: Patient.objects.select_for_update().filter(pk=pk), pk=int)
    with transaction.atomic():
        assert locked.get(pk=patient.pk).name == "Lock"
    if locked._compiled_for_default().locks:  # SQLite has no row locks, nothing to refuse
        with pytest.raises(TransactionManagementError):
            locked.get(pk=patient.pk)


def test_wrong_arguments_and_unsupported_shapes_are_refused():
    prepared = PreparedQuery(lambda pk: Visit.objects.filter(pk=pk), pk=int)
    with pytest.raises(TypeError):
        prepared.fetch(id=1)
    for wrong in ("1", 1.0, True, None):  # the ORM would convert these; a statement would not
        with pytest.raises(TypeError):
            prepared.fetch(pk=wrong)
    by_time = PreparedQuery(
        lambda when: Visit.objects.filter(check_in_time__lt=when), when=dt.datetime
    )
    with pytest.raises(TypeError, match="aware"):
        by_time.fetch(when=dt.datetime(2030, 3, 4, 9))
    by_day = PreparedQuery(lambda day: Visit.objects.filter(visit_date=day), day=dt.date)
    with pytest.raises(TypeError):
        by_day.fetch(day=dt.datetime(2030, 3, 4, 9, tzinfo=dt.UTC))
    with pytest.raises(TypeError):
        PreparedQuery(lambda when: Visit.objects.filter(check_in_time__lt=when), when=float)
    with pytest.raises(ValueError, match="once"):  # a pattern is not the argument itself
        PreparedQuery(
            lambda name: Visit.objects.filter(patient__name__contains=name), name=str
        ).fetch(name="x")
    with pytest.raises(ValueError, match="once"):
        PreparedQuery(
            lambda pk: Visit.objects.filter(pk=pk) | Visit.objects.filter(id=pk), pk=int
        ).fetch(pk=1)
    with pytest.raises(TypeError, match="values_list"):
        PreparedQuery(lambda pk: Visit.objects.filter(pk=pk).values("pk"), pk=int).fetch(pk=1)


def test_an_update_counts_its_rows_and_changes_what_queryset_update_changes():
    from django.db.models import F

    from scheduling.models import Schedule

    visit = VisitFactory()
    schedule = Schedule.objects.get(pk=visit.schedule_id)
    take = PreparedQuery(
        lambda pk: Schedule.objects.filter(pk=pk, current_patients__lt=F("max_patients")),
        updates={"current_patients": F("current_patients") + 1},
        pk=int,
    )
    Schedule.objects.filter(pk=schedule.pk).update(current_patients=schedule.max_patients - 2)
    assert take.update(pk=schedule.pk) == 1
    assert take.update(pk=schedule.pk) == 1
    assert take.update(pk=schedule.pk) == 0  # full: the condition holds no more
    schedule.refresh_from_db()
    assert schedule.current_patients == schedule.max_patients
    assert take.update(pk=2**64) == 0
    with pytest.raises(TypeError):
        take.fetch(pk=schedule.pk)


# --- PreparedInsert -------------------------------------------------------------------------


def _stored(model, pk) -> dict:
    row = model.objects.get(pk=pk)
    return {field.attname: getattr(row, field.attname) for field in model._meta.concrete_fields}


def test_a_prepared_insert_stores_what_djangos_own_insert_stores(
    django_assert_num_queries, receptionist
):
    from django.db.models import Model

    from clinic.models import AuditEvent
    from clinic.prepared import _INSERTS

    patient = Patient.objects.create(name="李雷", phone="13800138000")
    made = {
        "actor": receptionist,
        "actor_username": receptionist.username,
        "role": receptionist.role,
        "action": "visit.check_in",
        "object_type": "visits.visit",
        "object_id": "17",
        "patient": patient,
        "old_values": {"status": "pending"},
        "new_values": {"status": "完成", "n": [1, 2.5, None]},
        "client_ip": "10.0.0.7",
    }
    prepared = AuditEvent(**made)
    _INSERTS.clear()
    with django_assert_num_queries(1):
        prepared.save(force_insert=True)
    assert any(key[0] is AuditEvent for key in _INSERTS)  # the prepared path ran
    django_own = AuditEvent(**made)
    with mock.patch.object(PreparedInsert, "_do_insert", Model._do_insert):
        django_own.save(force_insert=True)  # the insert Django compiles
    assert prepared.pk and django_own.pk == prepared.pk + 1
    for instance in (prepared, django_own):
        assert not instance._state.adding and instance._state.db == "default"
    assert {k: v for k, v in vars(prepared).items() if k not in ("id", "created_at", "_state")} == {
        k: v for k, v in vars(django_own).items() if k not in ("id", "created_at", "_state")
    }
    ours, theirs = _stored(AuditEvent, prepared.pk), _stored(AuditEvent, django_own.pk)
    for stored in (ours, theirs):
        stored.pop("id")
        assert stored.pop("created_at") is not None
    assert ours == theirs


def test_a_models_own_save_and_defaults_still_apply():
    # Patient.save normalizes an empty ID number to NULL; auto fields and defaults fill in.
    from clinic.prepared import _INSERTS

    _INSERTS.clear()
    patient = Patient(name="韩梅梅", phone="13900139000", id_card="")
    patient.save()
    assert any(key[0] is Patient for key in _INSERTS)  # the prepared path ran
    stored = Patient.objects.get(pk=patient.pk)
    assert stored.id_card is None
    assert stored.name == "韩梅梅"


def test_expressions_go_through_djangos_insert():
    from django.db.models.functions import Now

    from clinic.models import AuditEvent

    event = AuditEvent(action="test.expression", created_at=Now())
    event.save(force_insert=True)
    assert AuditEvent.objects.get(pk=event.pk).created_at is not None


def test_a_refused_insert_raises_and_leaves_nothing(receptionist):
    from django.db import IntegrityError

    from appointments.models import Appointment
    from appointments.tests.factories import AppointmentFactory

    taken = AppointmentFactory()
    copy = Appointment(
        reference=taken.reference,  # unique
        patient_name="x",
        phone="13800000000",
        department_id=taken.department_id,
        schedule_id=taken.schedule_id,
        expected_time=taken.expected_time,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        copy.save()
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize(
    "model",
    [model for model in apps.get_models() if issubclass(model, PreparedInsert)],
    ids=lambda model: model._meta.label,
)
def test_the_prepared_sql_is_the_sql_django_compiles(model):
    # Guards the mixin against a Django upgrade that changes how an INSERT is written.
    from django.db import connection
    from django.db.models.sql.subqueries import InsertQuery

    meta = model._meta
    fields = [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]
    query = InsertQuery(model)
    query.insert_values(fields, [model()])
    [(django_sql, _params)] = query.get_compiler(connection=connection).as_sql()
    assert insert_sql(model, fields, connection) == django_sql
