"""The desk's message log and "send again", the patient's message settings page, and the
messages panel of the desk's patient page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEvent
from clinic.tests.factories import PatientFactory
from notifications.models import NotificationStatus
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

LOG = reverse("notifications:log")
RESEND = reverse("notifications:resend")


def rows(response) -> list[int]:
    return [message.pk for message in response.context["page"]]


# --- the message log -------------------------------------------------------------------------


def test_the_log_lists_newest_first(desk_client):
    old = NotificationFactory()
    new = NotificationFactory()
    response = desk_client.get(LOG)
    assert response.status_code == 200
    assert rows(response) == [new.pk, old.pk]
    assert b"Message log" in response.content


def test_the_log_filters_by_patient_name_or_phone_kind_and_status(desk_client):
    wang = PatientFactory(name="Wang Fang", phone="13711112222")
    li = PatientFactory(name="Li Lei", phone="13833334444")
    reminder = NotificationFactory(patient=wang)
    offer = NotificationFactory(patient=wang, kind="waitlist_offer", status="failed")
    other = NotificationFactory(patient=li)
    assert set(rows(desk_client.get(LOG, {"patient": "Wang"}))) == {reminder.pk, offer.pk}
    assert set(rows(desk_client.get(LOG, {"patient": "1371"}))) == {reminder.pk, offer.pk}
    assert rows(desk_client.get(LOG, {"patient": "13833334444"})) == [other.pk]
    assert rows(desk_client.get(LOG, {"kind": "waitlist_offer"})) == [offer.pk]
    assert rows(desk_client.get(LOG, {"status": "failed"})) == [offer.pk]
    assert rows(desk_client.get(LOG, {"patient": "wang", "status": "pending"})) == [reminder.pk]


def test_a_phone_search_too_short_is_a_field_error(desk_client):
    NotificationFactory()
    response = desk_client.get(LOG, {"patient": "13"})
    assert response.status_code == 200
    assert "patient" in response.context["form"].errors
    partial = desk_client.get(LOG, {"patient": "13"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'role="alert"' in partial


def test_the_log_is_paginated(desk_client):
    NotificationFactory.create_batch(51)
    first = desk_client.get(LOG)
    assert len(rows(first)) == 50
    assert b"page=2" in first.content
    assert len(rows(desk_client.get(LOG, {"page": 2}))) == 1


def test_the_log_runs_a_fixed_number_of_queries(desk_client):
    NotificationFactory.create_batch(3)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert desk_client.get(LOG).status_code == 200
        return len(queries)

    few = count()
    NotificationFactory.create_batch(20)
    assert count() == few


def test_htmx_gets_the_list_only(desk_client):
    NotificationFactory()
    response = desk_client.get(LOG, {"status": "pending"}, HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="message-list">')
    assert "<html" not in content


def test_send_again_appears_only_for_failed_messages(desk_client):
    """A cancelled message was cancelled because it no longer held (a booking cancelled, an
    offer over): it is not sent again."""
    failed = NotificationFactory(status="failed")
    cancelled = NotificationFactory(status="cancelled")
    pending = NotificationFactory()
    sent = NotificationFactory(status="sent")
    content = desk_client.get(LOG).content.decode()
    assert f'name="message" value="{failed.pk}"' in content
    for message in (pending, sent, cancelled):
        assert f'name="message" value="{message.pk}"' not in content


def test_send_again_resends_and_returns_to_the_log(desk_client, receptionist, settings):
    failed = NotificationFactory(status="failed", attempts=3)
    response = desk_client.post(
        RESEND, {"message": failed.pk}, HTTP_REFERER=f"http://testserver{LOG}?status=failed"
    )
    assert response.status_code == 302
    assert response["Location"] == f"{LOG}?status=failed"
    failed.refresh_from_db()
    assert failed.status in (NotificationStatus.PENDING, NotificationStatus.SENT)
    assert AuditEvent.objects.filter(action="notification.resent", actor=receptionist).exists()


def test_send_again_with_htmx_answers_the_list(desk_client, django_capture_on_commit_callbacks):
    failed = NotificationFactory(status="failed", attempts=3, kind="waitlist_offer")
    NotificationFactory(kind="reminder")
    with django_capture_on_commit_callbacks(execute=True):
        response = desk_client.post(
            RESEND,
            {"message": failed.pk},
            HTTP_HX_REQUEST="true",
            HTTP_HX_CURRENT_URL=f"http://testserver{LOG}?kind=waitlist_offer",
        )
    assert response.status_code == 200
    failed.refresh_from_db()
    assert failed.status == NotificationStatus.SENT
    # The list keeps the filter of the page it was asked from.
    assert rows(response) == [failed.pk]
    assert "being sent again" in response.content.decode()


def test_send_again_of_a_sent_message_is_refused(desk_client):
    sent = NotificationFactory(status="sent")
    response = desk_client.post(RESEND, {"message": sent.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "Only a message that failed" in response.content.decode()
    without_js = desk_client.post(RESEND, {"message": sent.pk}, follow=True)
    assert "Only a message that failed" in without_js.content.decode()
    sent.refresh_from_db()
    assert sent.status == NotificationStatus.SENT
    assert not AuditEvent.objects.filter(action="notification.resent").exists()


@pytest.mark.parametrize("value", ["", "x", "999999"])
def test_send_again_of_no_message_is_a_404(desk_client, value):
    assert desk_client.post(RESEND, {"message": value}).status_code == 404


def test_send_again_needs_the_csrf_token(receptionist):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(receptionist)
    failed = NotificationFactory(status="failed")
    assert client.post(RESEND, {"message": failed.pk}).status_code == 403
    failed.refresh_from_db()
    assert failed.status == NotificationStatus.FAILED


@pytest.mark.parametrize("persona", ["patient", "doctor"])
def test_only_the_desk_sends_again(client, personas, persona):
    client.force_login(personas[persona])
    failed = NotificationFactory(status="failed")
    assert client.post(RESEND, {"message": failed.pk}).status_code == 403
    failed.refresh_from_db()
    assert failed.status == NotificationStatus.FAILED


def test_the_desk_navigation_links_the_log(desk_client):
    assert f'href="{LOG}"'.encode() in desk_client.get(reverse("visits:patients")).content


# --- the patient's settings page -------------------------------------------------------------

MY_SETTINGS = reverse("notifications:my-settings")


@pytest.fixture
def patient_client(client, patient_user):
    client.force_login(patient_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_the_patient_sees_their_settings(patient_client, patient_user):
    response = patient_client.get(MY_SETTINGS)
    assert response.status_code == 200
    assert response.context["form"].initial["notify_channel"] == "sms"
    assert patient_user.patient.phone in response.content.decode()
    assert f'href="{MY_SETTINGS}"' in response.content.decode()  # in the navigation


def test_the_patient_chooses_email(patient_client, patient_user):
    response = patient_client.post(
        MY_SETTINGS,
        {"notify_channel": "email", "email": "wang@example.com", "language": "en"},
    )
    assert response.status_code == 302
    record = patient_user.patient
    record.refresh_from_db()
    assert (record.notify_channel, record.email, record.language, record.reminders_enabled) == (
        "email",
        "wang@example.com",
        "en",
        False,
    )
    event = AuditEvent.objects.get(action="patient.message_settings_changed")
    assert event.actor == patient_user


def test_email_without_an_address_is_a_field_error(patient_client, patient_user):
    response = patient_client.post(
        MY_SETTINGS, {"notify_channel": "email", "email": "", "language": "en"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["email"]
    assert not AuditEvent.objects.filter(action="patient.message_settings_changed").exists()


@pytest.mark.parametrize(
    "data",
    [
        {"notify_channel": "fax", "language": "en"},
        {"notify_channel": "sms", "language": "fr"},
        {"notify_channel": "sms", "language": "en", "email": "not an address"},
        {},
    ],
)
def test_bad_settings_are_field_errors(patient_client, data):
    response = patient_client.post(MY_SETTINGS, data)
    assert response.status_code == 400
    assert response.context["form"].errors
    assert not AuditEvent.objects.filter(action="patient.message_settings_changed").exists()


def test_a_patient_account_without_a_record_gets_a_404(client):
    from clinic.tests.factories import UserFactory

    client.force_login(UserFactory(role="patient"))
    assert client.get(MY_SETTINGS).status_code == 404


# --- the desk's patient page -----------------------------------------------------------------


def desk_settings_url(record) -> str:
    return reverse("notifications:patient-settings", args=[record.pk])


def test_the_patient_page_shows_settings_and_recent_messages(desk_client):
    record = PatientFactory(notify_channel="email", email="wang@example.com")
    NotificationFactory(patient=record, channel="email", recipient="wang@example.com")
    response = desk_client.get(reverse("visits:patient", args=[record.pk]))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="messages"' in content
    assert f'action="{desk_settings_url(record)}"' in content
    assert "wang@example.com" in content
    assert "Appointment reminder" in content


def test_the_desk_changes_the_settings_without_javascript(desk_client, receptionist):
    record = PatientFactory()
    response = desk_client.post(
        desk_settings_url(record),
        {"messages-notify_channel": "sms", "messages-language": "en"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("visits:patient", args=[record.pk]) + "#messages"
    record.refresh_from_db()
    assert (record.language, record.reminders_enabled) == ("en", False)
    event = AuditEvent.objects.get(action="patient.message_settings_changed")
    assert (event.actor, event.patient) == (receptionist, record)


def test_the_desk_form_errors_show_on_a_page_of_their_own(desk_client):
    record = PatientFactory()
    data = {"messages-notify_channel": "email", "messages-language": "en"}
    response = desk_client.post(desk_settings_url(record), data)
    assert response.status_code == 400
    assert "Give an e-mail address" in response.content.decode()
    assert "<html" in response.content.decode()


def test_the_desk_form_with_htmx_answers_the_panel(desk_client):
    record = PatientFactory()
    url = desk_settings_url(record)
    bad = desk_client.post(
        url, {"messages-notify_channel": "email", "messages-language": "en"}, HTTP_HX_REQUEST="true"
    )
    assert bad.status_code == 400
    assert bad.content.decode().lstrip().startswith('<section class="card"')
    good = desk_client.post(
        url,
        {
            "messages-notify_channel": "email",
            "messages-email": "li@example.com",
            "messages-language": "zh-hans",
            "messages-reminders_enabled": "on",
        },
        HTTP_HX_REQUEST="true",
    )
    assert good.status_code == 200
    assert "are saved" in good.content.decode()
    record.refresh_from_db()
    assert (record.notify_channel, record.email) == ("email", "li@example.com")


def test_a_pending_message_shows_when_it_is_sent(desk_client):
    NotificationFactory(send_after=timezone.now() + dt.timedelta(hours=3))
    assert "from " in desk_client.get(LOG).content.decode()
