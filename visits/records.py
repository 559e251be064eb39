"""Who may read and write a medical record: the one rule, for the doctor's pages, Django Admin
and the API alike.

Reading: an administrator reads every record. A doctor reads the records of the patients they
are seeing or have seen — the patient has a visit on one of the doctor's own schedules that got
past the waiting room (SEEN_STATUSES) — whichever doctor wrote them. Anyone else reads none
here. A record that cannot be read does not exist for the reader (404), so that nobody else's
patients can even be shown to exist.

Writing: a doctor writes the record of their own visit, once the consultation has started, on
the day of the visit (in the clinic's time zone): the record is the doctor's account of that
day. Later changes are corrections, and corrections are an administrator's: an administrator
may write the record of any visit whose consultation has started, audited as
`medical_record.corrected`.

Every page, endpoint and admin view fetches through the querysets and getters below;
visits.services.save_medical_record() enforces ensure_can_write_record() on the locked visit,
and views ask can_write_record() only to decide what to show. Every display of a record's
content is one `medical_record.viewed` audit event (visits.services.record_medical_record_view).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from clinic.exceptions import ClinicError, PermissionDenied
from clinic.models import Role, User
from visits.exceptions import RecordClosed, RecordNotEditable
from visits.models import MedicalRecord, Visit, VisitStatus

# A patient the doctor "is seeing or has seen": a visit on the doctor's own schedule that got
# past the waiting room. Waiting and cancelled (left unseen) visits do not count. These are also
# the visits that may have a record: it is written once the consultation has started.
SEEN_STATUSES = (VisitStatus.IN_CONSULTATION, VisitStatus.AWAITING_PAYMENT, VisitStatus.LEFT)

AUDIT_CORRECTED = "medical_record.corrected"


def _active(user: User | Any) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def _is_admin(user: User | Any) -> bool:
    """An administrator with the right to medical records (a clinic manager has none: the
    "Clinic manager" group, clinic.groups)."""
    return _active(user) and user.role == Role.ADMIN and user.has_perm("visits.view_medicalrecord")


def _corrects_records(user: User | Any) -> bool:
    return _is_admin(user) and user.has_perm("visits.change_medicalrecord")


def _is_doctor(user: User | Any) -> bool:
    return _active(user) and user.role == Role.DOCTOR and user.employee_id is not None


def clinic_today(now: dt.datetime | None = None) -> dt.date:
    """The clinic's date at `now` (default: now), whatever time zone is active."""
    return timezone.localdate(now or timezone.now(), timezone.get_default_timezone())


def visits_of_doctor(user: User) -> QuerySet[Visit]:
    """Visits on the doctor's own schedules (any day, any status); none for anyone else."""
    if not _is_doctor(user):
        return Visit.objects.none()
    return Visit.objects.filter(schedule__doctor_id=user.employee_id)


# --- Reading ----------------------------------------------------------------------------------


def _read_rule(user: User, *, patient: str) -> Q | Exists | None:
    """The read rule as a filter on rows whose patient is reached by `patient`; None when the
    user reads nothing."""
    if _is_admin(user):
        return Q()
    if _is_doctor(user):
        return Exists(
            visits_of_doctor(user).filter(status__in=SEEN_STATUSES, patient=OuterRef(patient))
        )
    return None


def readable_visits(user: User) -> QuerySet[Visit]:
    """Visits whose record `user` may read (written yet or not)."""
    rule = _read_rule(user, patient="patient")
    return Visit.objects.filter(rule) if rule is not None else Visit.objects.none()


def records_readable_by(user: User) -> QuerySet[MedicalRecord]:
    """The records `user` may read, with what a record page shows loaded."""
    records = MedicalRecord.objects.select_related(
        "visit__patient",
        "visit__department",
        "visit__schedule__doctor",
        "updated_by",
        "diagnosis_code",
    )
    rule = _read_rule(user, patient="visit__patient")
    return records.filter(rule) if rule is not None else records.none()


def can_read_record(user: User, visit: Visit) -> bool:
    """Whether `user` may read `visit`'s record (one query)."""
    return readable_visits(user).filter(pk=visit.pk).exists()


def get_record_for(user: User, pk: int) -> MedicalRecord:
    """A record by id, if `user` may read it; 404 otherwise."""
    try:
        return records_readable_by(user).get(pk=pk)
    except MedicalRecord.DoesNotExist:
        raise Http404 from None


def readable_record_of(user: User, visit: Visit) -> MedicalRecord | None:
    """`visit`'s record, if it has one and `user` may read it."""
    record = records_readable_by(user).filter(visit=visit).first()
    if record is not None:
        record.visit = visit
    return record


def visits_for_records(user: User) -> QuerySet[Visit]:
    """The visits whose record `user` may address (open, or try to write): those whose
    record they may read, and a doctor's own visits in any status, so that writing too early
    is told apart from someone else's patient (409, not 404)."""
    if _is_doctor(user):
        return Visit.objects.filter(
            Q(schedule__doctor_id=user.employee_id) | _read_rule(user, patient="patient")
        )
    return readable_visits(user)


def get_visit_for_records(user: User, pk: int, *, relations: tuple[str, ...] = ()) -> Visit:
    """A visit by id from visits_for_records(); 404 otherwise."""
    try:
        return visits_for_records(user).select_related(*relations).get(pk=pk)
    except Visit.DoesNotExist:
        raise Http404 from None


# --- Writing ----------------------------------------------------------------------------------


def write_refusal(
    user: User, visit: Visit, *, now: dt.datetime | None = None
) -> ClinicError | None:
    """Why `user` may not write `visit`'s record at `now` (the domain error to raise or to
    show), or None when they may. Reads `visit.schedule` for its doctor."""
    if _is_doctor(user):
        if visit.schedule.doctor_id != user.employee_id:
            return PermissionDenied()
    elif not _corrects_records(user):
        return PermissionDenied()
    if visit.status not in SEEN_STATUSES:
        return RecordNotEditable()
    if not _is_admin(user) and visit.visit_date != clinic_today(now):
        return RecordClosed(details={"visit_date": visit.visit_date.isoformat()})
    return None


def can_write_record(user: User, visit: Visit, *, now: dt.datetime | None = None) -> bool:
    return write_refusal(user, visit, now=now) is None


def ensure_can_write_record(user: User, visit: Visit, *, now: dt.datetime | None = None) -> None:
    """Raise the domain error of write_refusal(), if any. The caller holds the visit's lock."""
    refusal = write_refusal(user, visit, now=now)
    if refusal is not None:
        raise refusal


def is_correction(user: User) -> bool:
    """An administrator's write is a correction (its own action in the audit trail)."""
    return _is_admin(user)
