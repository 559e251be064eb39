"""Every API endpoint × every persona: the status each one gets, from one table.

The table is checked against the URL resolver: an /api/ route (or a method of one) without a
row here fails `test_every_api_route_has_a_row_in_the_matrix`, so a new endpoint cannot ship
without its access rules written down. Each row also says how to make a request that would
succeed for the roles allowed, so that a 2xx proves the role got through and a 403/404
proves it did not.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework_simplejwt.tokens import RefreshToken

from billing.cashier import close_shift, current_shift, open_shift
from billing.models import Bill, CashierShift
from billing.services import settle_visit
from clinic.models import FeeCategory, FeeItem, Role
from clinic.tests.factories import TEST_PASSWORD, FeeItemFactory, make_resident_id
from tests.api.conftest import PERSONAS, ClinicDay, bearer_client
from tests.support import WORK_DAY, clinic_time
from visits.charges import add_order
from visits.services import save_medical_record

pytestmark = pytest.mark.django_db

ANON, PAT, OPAT, DESK, DOC, ODOC, ADMIN = PERSONAS
SIGNED_IN = (PAT, OPAT, DESK, DOC, ODOC, ADMIN)
STAFF = (DESK, DOC, ODOC, ADMIN)


def expect(ok: int, *allowed: str, **others: int) -> dict[str, int]:
    """`ok` for the allowed personas, 401 for anonymous, 403 for the rest, unless overridden."""
    table = {persona: 403 for persona in PERSONAS}
    table[ANON] = 401
    table.update({persona: ok for persona in allowed})
    table.update(others)
    return table


def everyone(status: int) -> dict[str, int]:
    return {persona: status for persona in PERSONAS}


@dataclass
class Call:
    kwargs: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    query: dict[str, Any] | None = None


Prepare = Callable[[ClinicDay, Any], Call]


def no_input(day: ClinicDay, user: Any) -> Call:
    return Call()


@dataclass(frozen=True)
class Row:
    method: str
    route: str
    expected: dict[str, int]
    prepare: Prepare = no_input


def _refresh_of(user: Any) -> str:
    return str(RefreshToken.for_user(user))


def _login(day: ClinicDay, user: Any) -> Call:
    return Call(body={"username": day.users[PAT].username, "password": TEST_PASSWORD})


def _refresh(day: ClinicDay, user: Any) -> Call:
    return Call(body={"refresh": _refresh_of(day.users[PAT])})


def _register(day: ClinicDay, user: Any) -> Call:
    return Call(
        body={
            "username": "new.patient",
            "password": "a-long-enough-passphrase",
            "name": "New Patient",
            "phone": "13655556666",
            "gender": "female",
        }
    )


def _logout(day: ClinicDay, user: Any) -> Call:
    return Call(body={"refresh": _refresh_of(user)} if user is not None else {})


def _availability(day: ClinicDay, user: Any) -> Call:
    return Call(query={"dept_id": day.department.pk, "date": WORK_DAY.isoformat()})


def _book(day: ClinicDay, user: Any) -> Call:
    return Call(
        body={"dept_id": day.department.pk, "expected_time": clinic_time(14, 0).isoformat()}
    )


def _phone_book(day: ClinicDay, user: Any) -> Call:
    return Call(
        body={
            "dept_id": day.department.pk,
            "expected_time": "2030-03-04T15:00:00",
            "patient_name": "Phone Caller",
            "phone": "13811112222",
        }
    )


def _own_booking(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": day.booking.pk})


def _confirm(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": day.booking.pk}, body={"status": "confirmed"})


# The waitlist: the afternoon's first window made full, so that joining it is allowed.
WAITLIST_HOUR = 14
WAITLIST_TIME = f"2030-03-04T{WAITLIST_HOUR}:00:00"


def _full_window(day: ClinicDay) -> Any:
    from django.db.models import F

    from scheduling.models import Schedule, ScheduleWindow

    window = ScheduleWindow.objects.get(
        schedule=day.afternoon,
        start_time__lte=f"{WAITLIST_HOUR}:00",
        end_time__gt=f"{WAITLIST_HOUR}:00",
    )
    ScheduleWindow.objects.filter(pk=window.pk).update(used=F("quota"))
    Schedule.objects.filter(pk=day.afternoon.pk).update(
        current_patients=F("current_patients") + window.quota
    )
    return window


def _join_waitlist(day: ClinicDay, user: Any) -> Call:
    _full_window(day)
    return Call(body={"dept_id": day.department.pk, "expected_time": WAITLIST_TIME})


def _join_waitlist_by_phone(day: ClinicDay, user: Any) -> Call:
    _full_window(day)
    return Call(
        body={
            "dept_id": day.department.pk,
            "expected_time": WAITLIST_TIME,
            "patient_name": "Waiting Caller",
            "phone": "13899990000",
        }
    )


def _waiting_entry(day: ClinicDay, *, caller: bool = False, offered: bool = False) -> Any:
    """The patient persona (or a caller) on a full window's waitlist, offered a place."""
    from django.db import transaction

    from appointments import waitlist
    from scheduling.services import lock_schedule

    window = _full_window(day)
    person = (
        {"by": day.users[DESK], "patient_name": "Waiting Caller", "phone": "13899990000"}
        if caller
        else {"by": day.users[PAT]}
    )
    entry = waitlist.join(
        department=day.department, expected_time=clinic_time(WAITLIST_HOUR, 0), **person
    )
    if offered:
        with transaction.atomic():
            schedule = lock_schedule(day.afternoon.pk)
            schedule.release_place(window.pk)
            waitlist.offer_freed_place(schedule=schedule, window_id=window.pk)
    return entry


def _own_entry(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": _waiting_entry(day).pk})


def _own_offer(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": _waiting_entry(day, offered=True).pk})


def _caller_offer(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": _waiting_entry(day, caller=True, offered=True).pk})


def _caller_entry(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": _waiting_entry(day, caller=True).pk})


def _check_in(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"appt_id": day.phone_booking.pk}, body={"phone": "13712345678"})


def _walk_in(day: ClinicDay, user: Any) -> Call:
    return Call(
        body={
            "name": "Walk In",
            "phone": "13566667777",
            "dept_id": day.department.pk,
            "gender": "male",
            "id_card": make_resident_id(seed=904_242),
        }
    )


def _send_to_payment(day: ClinicDay) -> None:
    """The doctor writes the diagnosis of the patient in consultation and sends them to pay."""
    doctor = day.users[DOC]
    save_medical_record(visit=day.in_consultation, by=doctor, diagnosis="Bronchitis")
    day.in_consultation.finish_consultation(by=doctor)


def _start_waiting(day: ClinicDay, user: Any) -> Call:
    # The doctor's current patient goes to pay first, so the waiting one can be seen.
    _send_to_payment(day)
    return Call(kwargs={"id": day.waiting.pk}, body={"status": "in_consultation"})


def _with_a_shift(user: Any) -> None:
    """Money is taken in one's open shift: the receptionist persona has one (the factory
    opens it), an administrator opens theirs here, with cash in the drawer to give back."""
    if user is not None and user.role == Role.ADMIN and current_shift(user) is None:
        open_shift(by=user, opening_float="100.00")


def _desk_shift(day: ClinicDay) -> CashierShift:
    shift = current_shift(day.users[DESK])
    assert shift is not None
    return shift


def _my_shift(day: ClinicDay, user: Any) -> Call:
    _with_a_shift(user)
    return Call()


def _open_shift(day: ClinicDay, user: Any) -> Call:
    if user is not None and (shift := current_shift(user)) is not None:
        close_shift(shift=shift, counted_cash="0.00", by=user)
    return Call(body={"opening_float": "200.00"})


def _close_shift(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": _desk_shift(day).pk}, body={"counted_cash": "0.00"})


def _shift_report(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": _desk_shift(day).pk})


def _reopen_shift(day: ClinicDay, user: Any) -> Call:
    shift = close_shift(shift=_desk_shift(day), counted_cash="0.00", by=day.users[DESK])
    return Call(kwargs={"id": shift.pk}, body={"reason": "A card payment was forgotten"})


def _paid_bill(day: ClinicDay) -> Bill:
    """The visit awaiting payment, paid at the receptionist persona's counter this morning."""
    bill = Bill.objects.filter(visit=day.awaiting_payment).first()
    if bill is None:
        bill = settle_visit(
            visit=day.awaiting_payment,
            total_amount="120.00",
            insurance_amount="70.00",
            by=day.users[DESK],
        )
    return bill


def _bill_refunds(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": _paid_bill(day).pk})


def _refund(day: ClinicDay, user: Any) -> Call:
    _with_a_shift(user)
    bill = _paid_bill(day)
    return Call(
        kwargs={"id": bill.pk},
        body={
            "lines": [{"line": bill.lines.get().pk}],
            "reason": "Charged twice",
            "method": "cash",
        },
    )


def _pay(day: ClinicDay, user: Any) -> Call:
    _with_a_shift(user)
    return Call(
        kwargs={"visit_id": day.awaiting_payment.pk},
        body={"total_amount": "120.00", "insurance_amount": 70},
    )


def _bill_preview(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"visit_id": day.awaiting_payment.pk})


def _correct_patient(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": day.waiting.patient_id}, body={"name": "Corrected Name"})


def _lift_no_show_block(day: ClinicDay, user: Any) -> Call:
    from appointments.tests.test_no_show_policy import blocked_patient

    return Call(kwargs={"id": blocked_patient().pk})


def _failed_message(day: ClinicDay, user: Any) -> Call:
    from notifications.tests.factories import NotificationFactory

    return Call(kwargs={"id": NotificationFactory(status="failed", attempts=3).pk})


def _message_settings(day: ClinicDay, user: Any) -> Call:
    return Call(body={"reminders_enabled": False})


def _call_next(day: ClinicDay, user: Any) -> Call:
    _send_to_payment(day)
    return Call()


def _record(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": day.awaiting_payment.pk})


def _write_record(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": day.awaiting_payment.pk}, body={"plan": "Rest and fluids"})


def _finish(day: ClinicDay, user: Any) -> Call:
    save_medical_record(visit=day.in_consultation, by=day.users[DOC], diagnosis="Bronchitis")
    return Call(kwargs={"id": day.in_consultation.pk})


def _allergies(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": day.awaiting_payment.pk})


def _add_allergy(day: ClinicDay, user: Any) -> Call:
    return Call(
        kwargs={"id": day.awaiting_payment.pk},
        body={"substance": "Aspirin", "reaction": "Hives", "severity": "mild"},
    )


def _remove_allergy(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": day.awaiting_payment.pk, "allergy_id": day.allergy.pk})


def _blood_test() -> FeeItem:
    item, _created = FeeItem.objects.get_or_create(
        code="JY-MATRIX",
        defaults={
            "name": "Blood count",
            "category": FeeCategory.LABORATORY,
            "unit": "test",
            "unit_price": "20.00",
            "insurance_class": "A",
        },
    )
    return item


def _orders(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": day.in_consultation.pk})


def _add_order(day: ClinicDay, user: Any) -> Call:
    return Call(
        kwargs={"id": day.in_consultation.pk}, body={"fee_item": _blood_test().pk, "quantity": 1}
    )


def _an_order(day: ClinicDay) -> int:
    result = add_order(
        visit=day.in_consultation, by=day.users[DOC], fee_item=_blood_test(), quantity=1
    )
    return result.charge.pk


def _change_order(day: ClinicDay, user: Any) -> Call:
    return Call(
        kwargs={"id": day.in_consultation.pk, "order_id": _an_order(day)}, body={"quantity": 2}
    )


def _remove_order(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": day.in_consultation.pk, "order_id": _an_order(day)})


def _new_room(day: ClinicDay, user: Any) -> Call:
    return Call(body={"room_number": "R-900", "dept_id": day.department.pk})


def _room(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": day.schedule.room_id}, body={"status": "active"})


def _whole_room(day: ClinicDay, user: Any) -> Call:
    room = day.schedule.room
    return Call(
        kwargs={"id": room.pk},
        body={"room_number": room.room_number, "dept_id": room.department_id, "status": "active"},
    )


def _new_schedule(day: ClinicDay, user: Any) -> Call:
    return Call(
        body={
            "room_id": day.schedule.room_id,
            "doctor_id": day.schedule.doctor.emp_id,
            "work_date": "2030-03-05",
            "time_slot": "morning",
            "max_patients": 12,
        }
    )


def _schedule(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": day.afternoon.pk}, body={"max_patients": 30})


def _whole_schedule(day: ClinicDay, user: Any) -> Call:
    schedule = day.afternoon
    return Call(
        kwargs={"id": schedule.pk},
        body={
            "room_id": schedule.room_id,
            "doctor_id": schedule.doctor.emp_id,
            "work_date": schedule.work_date.isoformat(),
            "time_slot": schedule.time_slot,
            "max_patients": 30,
        },
    )


def _empty_schedule(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": day.afternoon.pk})


def _new_employee(day: ClinicDay, user: Any) -> Call:
    return Call(
        body={
            "emp_id": "N900",
            "name": "New Nurse",
            "gender": "female",
            "position": "nurse",
            "phone": "13900001111",
        }
    )


def _employee(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"emp_id": day.schedule.doctor.emp_id}, body={"title": "Chief physician"})


def _whole_employee(day: ClinicDay, user: Any) -> Call:
    doctor = day.schedule.doctor
    return Call(
        kwargs={"emp_id": doctor.emp_id},
        body={
            "name": doctor.name,
            "gender": doctor.gender,
            "phone": doctor.phone,
            "position": doctor.position,
            "dept_id": doctor.department_id,
            "title": "Chief physician",
            "status": doctor.status,
        },
    )


def _schedule_windows(day: ClinicDay, user: Any) -> Call:
    return Call(kwargs={"id": day.afternoon.pk})


def _window_quotas(day: ClinicDay, user: Any) -> Call:
    window = day.afternoon.windows.order_by("start_time").first()
    return Call(
        kwargs={"id": day.afternoon.pk},
        body={"windows": [{"id": window.pk, "quota": window.quota + 1, "desk_only": True}]},
    )


def _statistics(day: ClinicDay, user: Any) -> Call:
    return Call(query={"start_date": "2030-03-01", "end_date": "2030-03-31", "group_by": "dept"})


def _new_fee_item(day: ClinicDay, user: Any) -> Call:
    return Call(
        body={
            "code": "M900",
            "name": "Gauze",
            "category": "material",
            "unit": "pack",
            "unit_price": "3.50",
            "insurance_class": "C",
        }
    )


def _fee_item(day: ClinicDay, user: Any) -> Call:
    item = FeeItemFactory(code="X900")
    return Call(kwargs={"id": item.pk}, body={"unit_price": "61.00"})


def _whole_fee_item(day: ClinicDay, user: Any) -> Call:
    item = FeeItemFactory(code="X900")
    return Call(
        kwargs={"id": item.pk},
        body={
            "code": item.code,
            "name": "Chest X-ray",
            "category": item.category,
            "unit": item.unit,
            "unit_price": "61.00",
            "insurance_class": "B",
            "is_active": True,
        },
    )


MATRIX: tuple[Row, ...] = (
    # Auth: open endpoints answer everyone alike.
    Row("POST", "auth-login", everyone(200), _login),
    Row("POST", "auth-refresh", everyone(200), _refresh),
    Row("POST", "auth-register", everyone(201), _register),
    Row("GET", "auth-profile", expect(200, *SIGNED_IN)),
    Row("POST", "auth-logout", expect(204, *SIGNED_IN, **{ANON: 400}), _logout),
    # Patient: reference data for every role; bookings and visits of one's own only.
    Row("GET", "patient-departments", expect(200, *SIGNED_IN)),
    Row("GET", "patient-availability", expect(200, *SIGNED_IN), _availability),
    Row("GET", "patient-appointments", expect(200, PAT, OPAT)),
    Row("POST", "patient-appointments", expect(201, PAT, OPAT), _book),
    Row("DELETE", "patient-appointment", expect(200, PAT, **{OPAT: 404}), _own_booking),
    Row("GET", "patient-visits", expect(200, PAT, OPAT)),
    Row("GET", "patient-message-settings", expect(200, PAT, OPAT)),
    Row("PATCH", "patient-message-settings", expect(200, PAT, OPAT), _message_settings),
    Row("GET", "patient-waitlist", expect(200, PAT, OPAT)),
    Row("POST", "patient-waitlist", expect(201, PAT, OPAT), _join_waitlist),
    Row("DELETE", "patient-waitlist-entry", expect(200, PAT, **{OPAT: 404}), _own_entry),
    Row("POST", "patient-waitlist-accept", expect(201, PAT, **{OPAT: 404}), _own_offer),
    Row("POST", "patient-waitlist-decline", expect(200, PAT, **{OPAT: 404}), _own_offer),
    # Front desk (administrators too, as on the pages).
    Row("GET", "receptionist-appointments", expect(200, DESK, ADMIN)),
    Row("POST", "receptionist-appointments", expect(201, DESK, ADMIN), _phone_book),
    Row("PUT", "receptionist-appointment-status", expect(200, DESK, ADMIN), _confirm),
    Row("GET", "receptionist-waitlist", expect(200, DESK, ADMIN)),
    Row("POST", "receptionist-waitlist", expect(201, DESK, ADMIN), _join_waitlist_by_phone),
    Row("POST", "receptionist-waitlist-accept", expect(201, DESK, ADMIN), _caller_offer),
    Row("POST", "receptionist-waitlist-cancel", expect(200, DESK, ADMIN), _caller_entry),
    Row("POST", "receptionist-checkin", expect(201, DESK, ADMIN), _check_in),
    Row("POST", "receptionist-register", expect(201, DESK, ADMIN), _walk_in),
    Row("GET", "receptionist-visits", expect(200, DESK, ADMIN)),
    Row("GET", "receptionist-notifications", expect(200, DESK, ADMIN)),
    Row("POST", "receptionist-notification-resend", expect(200, DESK, ADMIN), _failed_message),
    Row("PUT", "receptionist-visit-status", expect(200, DESK, ADMIN), _start_waiting),
    Row("POST", "receptionist-payment", expect(201, DESK, ADMIN), _pay),
    Row("GET", "receptionist-bill-preview", expect(200, DESK, ADMIN), _bill_preview),
    Row("GET", "receptionist-payment-methods", expect(200, DESK, ADMIN)),
    Row("GET", "receptionist-patients", expect(200, DESK, ADMIN)),
    Row("PATCH", "receptionist-patient", expect(200, DESK, ADMIN), _correct_patient),
    Row(
        "POST",
        "receptionist-patient-lift-no-show-block",
        expect(200, DESK, ADMIN),
        _lift_no_show_block,
    ),
    Row("GET", "receptionist-bills", expect(200, DESK, ADMIN)),
    Row("GET", "receptionist-income-records", expect(200, DESK, ADMIN)),
    # The cashier's shifts: one's own at the desk; any for an administrator (a manager).
    Row("GET", "receptionist-bill-refunds", expect(200, DESK, ADMIN), _bill_refunds),
    Row("POST", "receptionist-bill-refunds", expect(201, DESK, ADMIN), _refund),
    Row("GET", "receptionist-shift", expect(200, DESK, ADMIN), _my_shift),
    Row("POST", "receptionist-shift", expect(201, DESK, ADMIN), _open_shift),
    Row("POST", "receptionist-shift-close", expect(200, DESK, ADMIN), _close_shift),
    Row("GET", "receptionist-shift-report", expect(200, DESK, ADMIN), _shift_report),
    # Doctor: their own schedules only; another doctor's visits do not exist for them.
    Row("GET", "doctor-queue", expect(200, DOC, ODOC)),
    Row("POST", "doctor-call-next", expect(200, DOC, **{ODOC: 409}), _call_next),
    Row("GET", "doctor-medical-record", expect(200, DOC, **{ODOC: 404}), _record),
    Row("PUT", "doctor-medical-record", expect(200, DOC, **{ODOC: 404}), _write_record),
    Row("POST", "doctor-visit-finish", expect(200, DOC, **{ODOC: 404}), _finish),
    Row("GET", "doctor-allergies", expect(200, DOC, **{ODOC: 404}), _allergies),
    Row("POST", "doctor-allergies", expect(201, DOC, **{ODOC: 404}), _add_allergy),
    Row("DELETE", "doctor-allergy", expect(204, DOC, **{ODOC: 404}), _remove_allergy),
    Row("GET", "doctor-orders", expect(200, DOC, **{ODOC: 404}), _orders),
    Row("POST", "doctor-orders", expect(201, DOC, **{ODOC: 404}), _add_order),
    Row("PATCH", "doctor-order", expect(200, DOC, **{ODOC: 404}), _change_order),
    Row("DELETE", "doctor-order", expect(204, DOC, **{ODOC: 404}), _remove_order),
    # The fee catalogue and its reference data: the staff read, administrators write.
    Row("GET", "catalogue-fee-items", expect(200, *STAFF)),
    Row("POST", "catalogue-fee-items", expect(201, ADMIN), _new_fee_item),
    Row("GET", "catalogue-fee-item", expect(200, *STAFF), _fee_item),
    Row("PUT", "catalogue-fee-item", expect(200, ADMIN), _whole_fee_item),
    Row("PATCH", "catalogue-fee-item", expect(200, ADMIN), _fee_item),
    Row("GET", "catalogue-insurance-plans", expect(200, *STAFF)),
    Row("GET", "catalogue-allergy-classes", expect(200, *STAFF)),
    # Administration.
    Row("GET", "admin-rooms", expect(200, ADMIN)),
    Row("POST", "admin-rooms", expect(201, ADMIN), _new_room),
    Row("PUT", "admin-room", expect(200, ADMIN), _whole_room),
    Row("PATCH", "admin-room", expect(200, ADMIN), _room),
    Row("GET", "admin-schedules", expect(200, ADMIN)),
    Row("POST", "admin-schedules", expect(201, ADMIN), _new_schedule),
    Row("PUT", "admin-schedule", expect(200, ADMIN), _whole_schedule),
    Row("PATCH", "admin-schedule", expect(200, ADMIN), _schedule),
    Row("DELETE", "admin-schedule", expect(204, ADMIN), _empty_schedule),
    Row("GET", "admin-schedule-windows", expect(200, ADMIN), _schedule_windows),
    Row("PUT", "admin-schedule-windows", expect(200, ADMIN), _window_quotas),
    Row("PATCH", "admin-schedule-windows", expect(200, ADMIN), _window_quotas),
    Row("GET", "admin-employees", expect(200, ADMIN)),
    Row("POST", "admin-employees", expect(201, ADMIN), _new_employee),
    Row("PUT", "admin-employee", expect(200, ADMIN), _whole_employee),
    Row("PATCH", "admin-employee", expect(200, ADMIN), _employee),
    Row("GET", "admin-patients-search", expect(200, ADMIN)),
    Row("GET", "admin-visits-search", expect(200, ADMIN)),
    Row("GET", "admin-medical-record", expect(200, ADMIN), _record),
    Row("PUT", "admin-medical-record", expect(200, ADMIN), _write_record),
    Row("GET", "admin-bills", expect(200, ADMIN)),
    Row("GET", "admin-income-records", expect(200, ADMIN)),
    Row("GET", "admin-statistics-income", expect(200, ADMIN), _statistics),
    Row("GET", "admin-statistics-income-by-category", expect(200, ADMIN), _statistics),
    Row("GET", "admin-statistics-income-by-method", expect(200, ADMIN), _statistics),
    Row("POST", "admin-shift-reopen", expect(200, ADMIN), _reopen_shift),
    Row("GET", "admin-day-end", expect(200, ADMIN)),
    Row("GET", "admin-statistics-visits", expect(200, ADMIN), _statistics),
    Row("GET", "admin-statistics-visits-by-window", expect(200, ADMIN), _statistics),
    # The published schema and its documentation page.
    Row("GET", "schema", everyone(200)),
    Row("GET", "docs", everyone(200)),
)

# Routes that are not endpoints: the JSON 404 for unknown paths.
NOT_ENDPOINTS = {"not-found"}


def _api_routes() -> set[tuple[str, str]]:
    """(method, URL name) of every route under /api/, read from the resolver."""
    found: set[tuple[str, str]] = set()

    def walk(patterns: list[Any], inside_api: bool) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, inside_api or pattern.namespace == "api")
            elif isinstance(pattern, URLPattern) and inside_api:
                if pattern.name in NOT_ENDPOINTS:
                    continue
                view_class = getattr(pattern.callback, "view_class", None)
                assert view_class is not None, f"/api/ route {pattern.name} is not a class view"
                for method in view_class.http_method_names:
                    if method in ("options", "head", "trace"):
                        continue
                    if hasattr(view_class, method):
                        found.add((method.upper(), pattern.name))

    walk(get_resolver().url_patterns, False)
    return found


def test_every_api_route_has_a_row_in_the_matrix() -> None:
    routes = _api_routes()
    table = {(row.method, row.route) for row in MATRIX}
    assert routes - table == set(), "endpoints without a row in MATRIX"
    assert table - routes == set(), "rows in MATRIX for endpoints that do not exist"
    assert len(table) == len(MATRIX), "duplicate rows in MATRIX"


def test_every_row_names_every_persona() -> None:
    for row in MATRIX:
        assert set(row.expected) == set(PERSONAS), row


@pytest.mark.parametrize(
    ("row", "persona"),
    list(itertools.product(MATRIX, PERSONAS)),
    ids=[f"{row.method} {row.route} as {p}" for row, p in itertools.product(MATRIX, PERSONAS)],
)
def test_status_of_each_endpoint_for_each_persona(
    row: Row, persona: str, clinic_day: ClinicDay
) -> None:
    user = clinic_day.users[persona]
    call = row.prepare(clinic_day, user)
    url = reverse(f"api:{row.route}", kwargs=call.kwargs)
    client = bearer_client(user)
    method = getattr(client, row.method.lower())
    if row.method == "GET":
        response = method(url, call.query or {})
    elif call.query:
        response = method(f"{url}?{'&'.join(f'{k}={v}' for k, v in call.query.items())}")
    else:
        response = method(url, call.body or {}, format="json")
    expected = row.expected[persona]
    assert response.status_code == expected, (
        f"{row.method} {url} as {persona}: {response.status_code}, expected {expected}: "
        f"{getattr(response, 'data', response.content)!r}"
    )
    if expected >= 400:
        assert set(response.json()["error"]) == {"code", "message", "details"}


# The schema and its browser answer in their own formats (OpenAPI, HTML).
ROUTES = sorted({row.route for row in MATRIX} - {"schema", "docs"})


@pytest.mark.parametrize(
    ("route", "persona"),
    list(itertools.product(ROUTES, PERSONAS)),
    ids=[f"OPTIONS {route} as {p}" for route, p in itertools.product(ROUTES, PERSONAS)],
)
def test_options_answers_every_route_for_every_persona(
    route: str, persona: str, clinic_day: ClinicDay
) -> None:
    """OPTIONS describes the route (its methods in Allow) to whoever passes its permission
    check, and is refused like any other method to whoever does not: never a 500."""
    rows = [row for row in MATRIX if row.route == route]
    user = clinic_day.users[persona]
    url = reverse(f"api:{route}", kwargs=rows[0].prepare(clinic_day, user).kwargs)
    response = bearer_client(user).options(url)
    assert response["Content-Type"] == "application/json"
    if any(row.expected[persona] < 400 for row in rows):
        assert response.status_code == 200
    if response.status_code == 200:
        methods = {method.strip() for method in response["Allow"].split(",")}
        assert {row.method for row in rows} <= methods
        assert {"name", "renders", "parses"} <= set(response.json())
    else:
        assert response.status_code in (401, 403)
        assert set(response.json()["error"]) == {"code", "message", "details"}
