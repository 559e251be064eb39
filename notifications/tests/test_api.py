"""The messages' API: the desk's log and "send again", and a patient's message settings."""

from __future__ import annotations

import pytest

from clinic.models import AuditEvent
from clinic.tests.factories import PatientFactory
from notifications.models import NotificationStatus
from notifications.tests.factories import NotificationFactory
from tests.api.conftest import bearer_client

pytestmark = pytest.mark.django_db

LIST = "/api/receptionist/notifications"
SETTINGS = "/api/patient/message-settings"


def resend_url(pk: int) -> str:
    return f"/api/receptionist/notifications/{pk}/resend"


@pytest.fixture
def desk(receptionist):
    return bearer_client(receptionist)


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def test_the_desk_lists_messages_newest_first(desk):
    old = NotificationFactory()
    new = NotificationFactory(kind="waitlist_offer")
    response = desk.get(LIST, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert ids(response) == [new.pk, old.pk]
    row = body["results"][0]
    assert row["kind"] == "waitlist_offer"
    assert row["kind_label"] == "Waitlist offer"
    assert row["patient_id"] == new.patient_id
    assert row["patient_name"] == new.patient.name
    assert row["status"] == "pending"


def test_the_list_filters_by_patient_kind_and_status(desk):
    patient = PatientFactory()
    mine = NotificationFactory(patient=patient, status="failed")
    NotificationFactory(patient=patient, kind="waitlist_offer")
    NotificationFactory(status="failed")
    response = desk.get(LIST, {"patient_id": patient.pk, "status": "failed", "kind": "reminder"})
    assert ids(response) == [mine.pk]


def test_the_list_is_paginated(desk):
    NotificationFactory.create_batch(3)
    response = desk.get(LIST, {"limit": 2, "offset": 2})
    assert response.json()["count"] == 3
    assert len(response.json()["results"]) == 1


@pytest.mark.parametrize(
    "query", [{"status": "lost"}, {"kind": "spam"}, {"patient_id": "x"}, {"status": ""}]
)
def test_bad_filters_are_a_400(desk, query):
    response = desk.get(LIST, query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


def test_the_desk_resends_a_failed_message(desk, receptionist):
    failed = NotificationFactory(status="failed", attempts=3)
    response = desk.post(resend_url(failed.pk))
    assert response.status_code == 200
    assert response.json()["id"] == failed.pk
    assert response.json()["status"] == "pending"
    failed.refresh_from_db()
    assert failed.status == NotificationStatus.PENDING
    assert AuditEvent.objects.filter(action="notification.resent", actor=receptionist).exists()


@pytest.mark.parametrize("status", ["pending", "sent"])
def test_resending_a_message_not_failed_is_a_409(desk, status):
    message = NotificationFactory(status=status)
    response = desk.post(resend_url(message.pk))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "cannot_resend"
    message.refresh_from_db()
    assert message.status == status


def test_resending_no_message_is_a_404(desk):
    assert desk.post(resend_url(999_999)).status_code == 404


# --- a patient's message settings ------------------------------------------------------------


@pytest.fixture
def patient_api(patient_user):
    return bearer_client(patient_user)


def test_a_patient_reads_their_settings(patient_api, patient_user):
    response = patient_api.get(SETTINGS, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response.json() == {
        "notify_channel": "sms",
        "notify_channel_label": "Text message",
        "email": "",
        "language": "zh-hans",
        "language_label": "简体中文",
        "reminders_enabled": True,
    }


def test_a_patient_changes_the_fields_given(patient_api, patient_user):
    response = patient_api.patch(
        SETTINGS, {"notify_channel": "email", "email": "wang@example.com"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["notify_channel"] == "email"
    record = patient_user.patient
    record.refresh_from_db()
    assert (record.notify_channel, record.email, record.language) == (
        "email",
        "wang@example.com",
        "zh-hans",
    )
    event = AuditEvent.objects.get(action="patient.message_settings_changed")
    assert event.new_values == {"notify_channel": "email", "email": "wang@example.com"}
    # The address on file now serves: e-mail stays chosen when only the language changes.
    assert patient_api.patch(SETTINGS, {"language": "en"}, format="json").status_code == 200


def test_email_without_an_address_is_a_field_error(patient_api, patient_user):
    response = patient_api.patch(SETTINGS, {"notify_channel": "email"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "email" in error["details"]
    patient_user.patient.refresh_from_db()
    assert patient_user.patient.notify_channel == "sms"


@pytest.mark.parametrize(
    "body",
    [
        {"notify_channel": "fax"},
        {"language": "fr"},
        {"email": "not an address"},
        {"reminders_enabled": "yes"},
        {"reminders_enabled": 1},
        {"email": 5},
    ],
)
def test_bad_settings_are_a_400(patient_api, body):
    response = patient_api.patch(SETTINGS, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert not AuditEvent.objects.filter(action="patient.message_settings_changed").exists()


def test_an_account_without_a_record_gets_a_404():
    from clinic.tests.factories import UserFactory

    client = bearer_client(UserFactory(role="patient"))
    assert client.get(SETTINGS).status_code == 404
    assert client.patch(SETTINGS, {"language": "en"}, format="json").status_code == 404


def test_the_desk_cannot_use_the_patients_settings(desk):
    assert desk.get(SETTINGS).status_code == 403
