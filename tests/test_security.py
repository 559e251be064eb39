"""Security: login throttling, headers, idle sessions, deactivation, and a clean 503."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from axes.models import AccessAttempt
from django.db import OperationalError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEvent
from clinic.sessions import LAST_ACTIVITY_KEY, SIGNED_IN_AT_KEY
from clinic.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
API_LOGIN = "/api/auth/login"


def fail_login(client: Client, username: str, times: int) -> None:
    for _ in range(times):
        client.post(LOGIN, {"username": username, "password": "wrong-password"})


class TestLoginThrottling:
    def test_five_failures_lock_the_account_from_that_address(self, client, patient_user):
        fail_login(client, patient_user.username, 5)
        response = client.post(
            LOGIN, {"username": patient_user.username, "password": TEST_PASSWORD}
        )
        assert response.status_code == 429
        assert "15" in response.content.decode()
        assert "_auth_user_id" not in client.session

    def test_the_api_login_obeys_the_same_lock(self, client, patient_user):
        fail_login(client, patient_user.username, 5)
        response = client.post(
            API_LOGIN,
            {"username": patient_user.username, "password": TEST_PASSWORD},
            content_type="application/json",
        )
        assert response.status_code in (403, 429)
        assert "error" in response.json()
        assert "access" not in response.json()

    def test_the_lock_expires_after_the_cool_off(self, client, patient_user, settings):
        fail_login(client, patient_user.username, 5)
        AccessAttempt.objects.update(
            attempt_time=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16)
        )
        response = client.post(
            LOGIN, {"username": patient_user.username, "password": TEST_PASSWORD}
        )
        assert response.status_code == 302

    def test_four_failures_do_not_lock(self, client, patient_user):
        fail_login(client, patient_user.username, 4)
        response = client.post(
            LOGIN, {"username": patient_user.username, "password": TEST_PASSWORD}
        )
        assert response.status_code == 302

    def test_failures_are_audited(self, client, patient_user):
        fail_login(client, patient_user.username, 2)
        assert AuditEvent.objects.filter(action="auth.login_failed").count() == 2


class TestHeaders:
    def test_pages_carry_a_strict_csp_and_no_store(self, client):
        response = client.get(LOGIN)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert "no-store" in response.headers["Cache-Control"]
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"

    def test_api_answers_are_not_stored_either(self, client, patient_user):
        client.force_login(patient_user)
        response = client.get("/api/auth/profile")
        assert "no-store" in response.headers["Cache-Control"]

    def test_pages_have_no_inline_script(self, client, receptionist):
        client.force_login(receptionist)
        for url in (reverse("appointments:desk"), reverse("visits:board")):
            html = client.get(url).content.decode()
            assert "<script src=" in html
            assert "<script>" not in html


class TestStaffSessions:
    def test_an_idle_staff_session_ends(self, client, receptionist, settings):
        client.force_login(receptionist)
        session = client.session
        session[LAST_ACTIVITY_KEY] = time.time() - (settings.CLINIC_STAFF_IDLE_MINUTES * 60 + 5)
        session.save()
        response = client.get(reverse("appointments:desk"))
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)

    def test_polling_does_not_keep_a_session_alive(self, client, receptionist, settings):
        client.force_login(receptionist)
        stale = time.time() - 120
        session = client.session
        session[LAST_ACTIVITY_KEY] = stale
        session.save()
        client.get(reverse("visits:board"), headers={"HX-Request": "true", "X-Clinic-Poll": "1"})
        assert client.session[LAST_ACTIVITY_KEY] == stale
        client.get(reverse("visits:board"))
        assert client.session[LAST_ACTIVITY_KEY] > stale

    def test_patients_have_a_longer_idle_time_of_their_own(self, client, patient_user, settings):
        client.force_login(patient_user)
        session = client.session
        session[LAST_ACTIVITY_KEY] = time.time() - (settings.CLINIC_STAFF_IDLE_MINUTES + 10) * 60
        session.save()
        assert client.get(reverse("appointments:my-appointments")).status_code == 200
        session = client.session
        session[LAST_ACTIVITY_KEY] = time.time() - (settings.CLINIC_PATIENT_IDLE_MINUTES + 1) * 60
        session.save()
        response = client.get(reverse("appointments:my-appointments"))
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)

    @pytest.mark.parametrize("persona", ["receptionist", "patient_user"])
    def test_a_busy_session_still_ends_at_the_absolute_limit(self, client, persona, request):
        client.force_login(request.getfixturevalue(persona))
        session = client.session
        # Active a minute ago, as every minute since the sign-in 12 hours ago.
        session[SIGNED_IN_AT_KEY] = time.time() - 12 * 3600 - 5
        session[LAST_ACTIVITY_KEY] = time.time() - 60
        session.save()
        response = client.get(reverse("home"))
        assert response.status_code == 302
        assert response["Location"].startswith(LOGIN)
        assert "_auth_user_id" not in client.session

    def test_activity_does_not_move_the_absolute_limit(self, client, receptionist):
        client.force_login(receptionist)
        signed_in_at = client.session[SIGNED_IN_AT_KEY]
        session = client.session
        session[LAST_ACTIVITY_KEY] = time.time() - 120
        session.save()
        assert client.get(reverse("appointments:desk")).status_code == 200
        assert client.session[SIGNED_IN_AT_KEY] == signed_in_at
        assert client.session[LAST_ACTIVITY_KEY] > signed_in_at


class TestDeactivation:
    def test_deactivating_ends_the_session_and_the_tokens(self, client, receptionist):
        client.force_login(receptionist)
        tokens = client.post(
            API_LOGIN,
            {"username": receptionist.username, "password": TEST_PASSWORD},
            content_type="application/json",
        ).json()
        receptionist.is_active = False
        receptionist.save()
        assert client.get(reverse("appointments:desk")).status_code == 302
        api = Client()
        response = api.get(
            "/api/auth/profile", headers={"Authorization": f"Bearer {tokens['access']}"}
        )
        assert response.status_code == 401
        response = api.post(
            "/api/auth/refresh", {"refresh": tokens["refresh"]}, content_type="application/json"
        )
        assert response.status_code == 401


class TestDatabaseDown:
    def raise_unreachable(self, *args, **kwargs):
        raise OperationalError(2003, "Can't connect to MySQL server on '127.0.0.1'")

    def test_pages_answer_503_while_the_database_is_unreachable(self, receptionist, monkeypatch):
        client = Client(raise_request_exception=False)
        client.force_login(receptionist)
        monkeypatch.setattr("appointments.views.DeskFilterForm.is_valid", self.raise_unreachable)
        response = client.get(reverse("appointments:desk"))
        assert response.status_code == 503
        assert response["Retry-After"] == "30"
        assert "Traceback" not in response.content.decode()

    def test_the_api_answers_a_json_503(self, patient_user, monkeypatch):
        client = Client(raise_request_exception=False)
        client.force_login(patient_user)
        monkeypatch.setattr(
            "rest_framework.views.APIView.initial", self.raise_unreachable, raising=True
        )
        response = client.get("/api/auth/profile")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "service_unavailable"

    def test_other_errors_stay_a_plain_500_without_details(self, receptionist, monkeypatch):
        client = Client(raise_request_exception=False)
        client.force_login(receptionist)

        def boom(*args, **kwargs):
            raise RuntimeError("secret internals")

        monkeypatch.setattr("appointments.views.DeskFilterForm.is_valid", boom)
        response = client.get(reverse("appointments:desk"))
        assert response.status_code == 500
        assert "secret internals" not in response.content.decode()


class TestMasking:
    def test_the_walk_in_page_prefills_a_chosen_record_masked(self, client, receptionist):
        from clinic.privacy import mask_id_card, mask_phone
        from clinic.tests.factories import PatientFactory

        patient = PatientFactory(phone="13912345678")
        client.force_login(receptionist)
        html = client.get(reverse("visits:walk-in"), {"patient": patient.pk}).content.decode()
        assert patient.phone not in html
        assert patient.id_card not in html
        assert mask_phone(patient.phone) in html
        assert mask_id_card(patient.id_card) in html

    def test_the_doctors_queue_answers_phones_as_the_doctors_page_shows_them(self, doctor_user):
        from rest_framework.test import APIClient

        from clinic.privacy import mask_phone
        from scheduling.tests.factories import ScheduleFactory
        from visits.tests.factories import VisitFactory

        schedule = ScheduleFactory(doctor=doctor_user.employee, work_date=timezone.localdate())
        visit = VisitFactory(schedule=schedule, visit_date=schedule.work_date)
        api = APIClient()
        api.force_authenticate(doctor_user)
        rows = api.get("/api/doctor/queue").json()["results"]
        assert [row["phone"] for row in rows] == [mask_phone(visit.patient.phone)]
        assert visit.patient.phone not in str(rows)
