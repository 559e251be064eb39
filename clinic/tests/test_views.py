from __future__ import annotations

import pytest
from django.urls import reverse

from appointments.tests.factories import AppointmentFactory
from clinic.models import AuditEvent
from clinic.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

HOME_PAGES = {
    "patient": "/appointments/mine/",
    "receptionist": "/appointments/desk/",
    "doctor": "/visits/queue/",
    "admin": "/admin/",
}


@pytest.mark.parametrize("persona", sorted(HOME_PAGES))
def test_login_lands_each_role_on_its_home_page(client, personas, persona):
    user = personas[persona]
    response = client.post(
        reverse("login"), {"username": user.username, "password": TEST_PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == HOME_PAGES[persona]
    assert response.status_code == 200


def test_home_sends_anonymous_visitors_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_renders_in_both_languages(client):
    chinese = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    english = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "登录" in chinese
    assert 'lang="zh-hans"' in chinese
    assert "Log in" in english
    assert 'lang="en"' in english


def test_unknown_browser_language_falls_back_to_simplified_chinese(client):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert 'lang="zh-hans"' in page


def test_language_switcher_sets_the_language(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert 'lang="en"' in page


def test_wrong_password_shows_an_error_and_is_audited(client, patient_user):
    response = client.post(reverse("login"), {"username": patient_user.username, "password": "no"})
    assert response.status_code == 200
    assert response.context["form"].errors
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.actor_username == patient_user.username


def test_successful_login_is_audited(client, receptionist):
    client.post(reverse("login"), {"username": receptionist.username, "password": TEST_PASSWORD})
    event = AuditEvent.objects.get(action="auth.login")
    assert event.actor == receptionist
    assert event.role == "receptionist"


def test_logout_needs_post_and_ends_the_session(client, patient_user):
    client.force_login(patient_user)
    assert client.get(reverse("logout")).status_code == 405
    client.post(reverse("logout"))
    assert client.get("/").status_code == 302


ROLE_PAGES = {
    "appointments:my-appointments": {"patient"},
    "appointments:book": {"patient"},
    "visits:my-visits": {"patient"},
    "appointments:desk": {"receptionist", "admin"},
    "visits:doctor-queue": {"doctor"},
}


@pytest.mark.parametrize("url_name", sorted(ROLE_PAGES))
@pytest.mark.parametrize("persona", ["anonymous", "patient", "receptionist", "doctor", "admin"])
def test_role_pages_are_served_only_to_their_roles(client, personas, url_name, persona):
    user = personas[persona]
    if user is not None:
        client.force_login(user)
    response = client.get(reverse(url_name))
    if persona == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    elif persona in ROLE_PAGES[url_name]:
        assert response.status_code == 200
    else:
        assert response.status_code == 403


def test_patient_sees_only_own_appointments(client, patient_user, other_patient_user):
    mine = AppointmentFactory(patient=patient_user.patient)
    theirs = AppointmentFactory(patient=other_patient_user.patient)
    client.force_login(patient_user)
    page = client.get(reverse("appointments:my-appointments")).content.decode()
    assert mine.reference in page
    assert theirs.reference not in page


def test_desk_lists_today_appointments(client, receptionist):
    appointment = AppointmentFactory()
    client.force_login(receptionist)
    page = client.get(reverse("appointments:desk")).content.decode()
    assert appointment.reference in page
