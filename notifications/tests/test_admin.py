"""Messages in Django Admin: read only, filtered and searched, "send again" through the
audited service; django-tasks-db's task results answer too."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clinic.models import AuditEvent
from clinic.tests.factories import PatientFactory
from notifications.models import NotificationStatus
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:notifications_notification_changelist")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def listed(response) -> set[int]:
    return {message.pk for message in response.context["cl"].result_list}


def test_the_list_filters_by_kind_status_and_channel(admin_client):
    failed = NotificationFactory(status="failed")
    offer = NotificationFactory(kind="waitlist_offer")
    email = NotificationFactory(channel="email", recipient="a@example.com")
    assert listed(admin_client.get(CHANGELIST, {"status__exact": "failed"})) == {failed.pk}
    assert listed(admin_client.get(CHANGELIST, {"kind__exact": "waitlist_offer"})) == {offer.pk}
    assert listed(admin_client.get(CHANGELIST, {"channel__exact": "email"})) == {email.pk}


def test_the_search_finds_a_recipient_or_a_patient(admin_client):
    wang = NotificationFactory(patient=PatientFactory(name="Wang Fang"))
    email = NotificationFactory(channel="email", recipient="li@example.com")
    NotificationFactory()
    assert listed(admin_client.get(CHANGELIST, {"q": "Wang"})) == {wang.pk}
    assert listed(admin_client.get(CHANGELIST, {"q": "li@exa"})) == {email.pk}
    assert listed(admin_client.get(CHANGELIST, {"q": wang.patient.phone})) == {wang.pk}


def test_send_again_action_resends_failed_ones_and_reports_the_rest(admin_client, admin_user):
    failed = NotificationFactory(status="failed")
    sent = NotificationFactory(status="sent")
    response = admin_client.post(
        CHANGELIST,
        {"action": "send_again", "_selected_action": [failed.pk, sent.pk]},
        follow=True,
    )
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    assert any("1 message is sent again" in text for text in shown)
    assert any("Only a message that failed" in text for text in shown)
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert failed.status in (NotificationStatus.PENDING, NotificationStatus.SENT)
    assert sent.status == NotificationStatus.SENT
    assert AuditEvent.objects.filter(action="notification.resent", actor=admin_user).count() == 1


def test_a_message_cannot_be_changed_in_admin(admin_client):
    message = NotificationFactory()
    url = reverse("admin:notifications_notification_change", args=[message.pk])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"status": "sent"}).status_code == 403
    message.refresh_from_db()
    assert message.status == NotificationStatus.PENDING


def test_the_task_results_answer(admin_client, settings):
    from django.core.management import call_command  # noqa: F401
    from django.test import override_settings

    from notifications.tasks import send_due_notifications

    with override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}):
        result = send_due_notifications.enqueue()
    changelist = reverse("admin:django_tasks_database_dbtaskresult_changelist")
    response = admin_client.get(changelist)
    assert response.status_code == 200
    assert "send_due_notifications" in response.content.decode()
    change = reverse("admin:django_tasks_database_dbtaskresult_change", args=[result.id])
    assert admin_client.get(change).status_code == 200


def test_a_manager_reads_the_messages(client):
    from clinic.tests.factories import ManagerUserFactory

    client.force_login(ManagerUserFactory())
    NotificationFactory()
    assert client.get(CHANGELIST).status_code == 200
