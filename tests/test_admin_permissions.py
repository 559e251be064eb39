"""Who may do what in Django Admin: administrators and clinic managers (clinic.groups).

A clinic manager runs the clinic's data (rooms, staff, schedules, patients) but reads no
medical record and neither creates nor changes administrator accounts; an administrator
does all of it. Every change is an audit event (tests/test_admin_audit.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.test import APIClient

from clinic.groups import ADMINISTRATORS, MANAGERS
from clinic.models import AuditEvent, Role, User
from clinic.tests.factories import AdminUserFactory, ManagerUserFactory, RoomFactory
from visits.models import VisitStatus
from visits.tests.factories import MedicalRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client):
    user = ManagerUserFactory()
    client.force_login(user)
    return user


def test_a_manager_runs_the_clinic_data(client, manager):
    room = RoomFactory()
    response = client.post(
        reverse("admin:clinic_room_change", args=[room.pk]),
        {"room_number": "B202", "department": room.department_id, "status": "active"},
    )
    assert response.status_code == 302
    room.refresh_from_db()
    assert room.room_number == "B202"
    assert AuditEvent.objects.filter(action="room.updated", actor=manager).exists()


def test_a_manager_reads_no_medical_record(client, manager):
    record = MedicalRecordFactory(visit__status=VisitStatus.LEFT)
    assert client.get(reverse("admin:visits_medicalrecord_changelist")).status_code == 403
    assert (
        client.get(reverse("admin:visits_medicalrecord_change", args=[record.pk])).status_code
        == 403
    )
    assert "medicalrecord" not in client.get(reverse("admin:index")).content.decode()
    assert client.get(reverse("visits:record-correct", args=[record.pk])).status_code in (
        403,
        404,
    )
    api = APIClient()
    api.force_authenticate(manager)
    url = f"/api/admin/visits/{record.visit_id}/medical-record"
    assert api.get(url).status_code == 404
    assert not AuditEvent.objects.filter(action="medical_record.viewed").exists()


def test_an_administrator_reads_it(client):
    administrator = AdminUserFactory()
    record = MedicalRecordFactory(visit__status=VisitStatus.LEFT)
    client.force_login(administrator)
    assert client.get(reverse("admin:visits_medicalrecord_changelist")).status_code == 200
    api = APIClient()
    api.force_authenticate(administrator)
    assert api.get(f"/api/admin/visits/{record.visit_id}/medical-record").status_code == 200


def test_a_manager_cannot_create_an_administrator(client, manager):
    form = client.get(reverse("admin:clinic_user_add")).content.decode()
    assert 'value="receptionist"' in form
    assert 'value="admin"' not in form
    response = client.post(
        reverse("admin:clinic_user_add"),
        {"username": "boss", "role": Role.ADMIN, "password1": "x-Orchid-2026-lantern",
         "password2": "x-Orchid-2026-lantern"},
    )  # fmt: skip
    assert response.status_code == 200
    assert not User.objects.filter(username="boss").exists()


def test_a_manager_cannot_change_an_administrator(client, manager):
    administrator = AdminUserFactory()
    url = reverse("admin:clinic_user_change", args=[administrator.pk])
    response = client.post(url, {"username": administrator.username, "role": Role.ADMIN})
    assert response.status_code == 403
    assert (
        client.post(
            reverse("admin:clinic_user_delete", args=[administrator.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert User.objects.filter(pk=administrator.pk, is_active=True).exists()


def test_an_administrator_changes_an_accounts_group_and_it_is_recorded(client):
    administrator = AdminUserFactory()
    client.force_login(administrator)
    staff = AdminUserFactory(group=MANAGERS)
    response = client.post(
        reverse("admin:clinic_user_change", args=[staff.pk]),
        {
            "username": staff.username,
            "role": Role.ADMIN,
            "employee": staff.employee_id,
            "is_active": "on",
            "groups": [Group.objects.get(name=ADMINISTRATORS).pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "08:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(staff.groups.values_list("name", flat=True)) == [ADMINISTRATORS]
    event = AuditEvent.objects.get(action="user.updated", object_id=str(staff.pk))
    assert event.new_values["groups"] == [ADMINISTRATORS]
