"""Tokens and sessions: sign-in, rotation with blacklisting, sign-out, the profile, the
session for same-origin use (with CSRF), the sign-in throttle and the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from clinic.models import AuditEvent
from clinic.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def login(user: Any, password: str = TEST_PASSWORD) -> Any:
    return APIClient().post(
        "/api/auth/login", {"username": user.username, "password": password}, format="json"
    )


def test_login_returns_both_tokens_and_the_profile(doctor_user: Any) -> None:
    response = login(doctor_user)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    assert body["user"]["role"] == "doctor"
    assert body["user"]["emp_id"] == doctor_user.employee.emp_id
    assert body["user"]["dept_id"] == doctor_user.employee.department_id
    event = AuditEvent.objects.get(action="auth.login")
    assert event.actor == doctor_user
    doctor_user.refresh_from_db()
    assert doctor_user.last_login is not None


def test_a_wrong_password_is_a_401_and_is_audited(patient_user: Any) -> None:
    response = login(patient_user, "wrong-password")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response.json()["error"]["details"]["reason"] == "no_active_account"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert AuditEvent.objects.filter(
        action="auth.login_failed", actor_username=patient_user.username
    ).exists()


def test_a_deactivated_user_cannot_sign_in(patient_user: Any) -> None:
    patient_user.is_active = False
    patient_user.save(update_fields=["is_active"])
    assert login(patient_user).status_code == 401


def test_a_stale_token_in_the_header_does_not_block_signing_in(patient_user: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")
    response = client.post(
        "/api/auth/login",
        {"username": patient_user.username, "password": TEST_PASSWORD},
        format="json",
    )
    assert response.status_code == 200


def test_refresh_rotates_and_the_old_refresh_token_is_dead(receptionist: Any) -> None:
    first = login(receptionist).json()
    client = APIClient()
    rotated = client.post("/api/auth/refresh", {"refresh": first["refresh"]}, format="json")
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != first["refresh"]
    replay = client.post("/api/auth/refresh", {"refresh": first["refresh"]}, format="json")
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "token_not_valid"
    again = client.post("/api/auth/refresh", {"refresh": rotated.json()["refresh"]}, format="json")
    assert again.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {again.json()['access']}")
    assert client.get("/api/auth/profile").json()["username"] == receptionist.username


def test_an_access_token_is_no_refresh_token(receptionist: Any) -> None:
    tokens = login(receptionist).json()
    response = APIClient().post("/api/auth/refresh", {"refresh": tokens["access"]}, format="json")
    assert response.status_code == 401


def test_logout_blacklists_the_refresh_token(patient_user: Any) -> None:
    tokens = login(patient_user).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert (
        client.post("/api/auth/logout", {"refresh": tokens["refresh"]}, format="json").status_code
        == 204
    )
    assert AuditEvent.objects.filter(action="auth.logout", actor=patient_user).exists()
    response = APIClient().post("/api/auth/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 401


def test_logout_with_only_the_refresh_token_works_after_the_access_token_expired(
    patient_user: Any,
) -> None:
    tokens = login(patient_user).json()
    response = APIClient().post("/api/auth/logout", {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 204


def test_logout_refuses_another_accounts_token(patient_user: Any, other_patient_user: Any) -> None:
    mine = login(patient_user).json()
    theirs = login(other_patient_user).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {mine['access']}")
    response = client.post("/api/auth/logout", {"refresh": theirs["refresh"]}, format="json")
    assert response.status_code == 400
    still = APIClient().post("/api/auth/refresh", {"refresh": theirs["refresh"]}, format="json")
    assert still.status_code == 200


def test_logout_of_a_token_client_needs_the_refresh_token(patient_user: Any) -> None:
    tokens = login(patient_user).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    response = client.post("/api/auth/logout", {}, format="json")
    assert response.status_code == 400
    assert "refresh" in response.json()["error"]["details"]


def test_the_session_works_same_origin_with_csrf(receptionist: Any) -> None:
    tokens = login(receptionist).json()
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(receptionist)
    assert client.get("/api/receptionist/visits").status_code == 200
    body = {"refresh": tokens["refresh"]}
    refused = client.post("/api/auth/logout", body, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    token = "a" * 32  # what the CSRF cookie of any page would hold
    client.cookies["csrftoken"] = token
    response = client.post("/api/auth/logout", body, format="json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 204
    # The token is revoked and the session ended.
    assert client.get("/api/receptionist/visits").status_code in (401, 403)


def test_profile_of_a_patient_names_the_patient_record(patient_user: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login(patient_user).json()['access']}")
    profile = client.get("/api/auth/profile").json()
    assert profile["patient_id"] == patient_user.patient.pk
    assert profile["emp_id"] is None


def test_sign_in_attempts_are_throttled(patient_user: Any, monkeypatch: Any) -> None:
    # The rates are read once, when the throttle class is defined.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/minute"})
    statuses = [login(patient_user, "wrong").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    response = login(patient_user)
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_token_of_a_deactivated_account_is_refused(receptionist: Any) -> None:
    client = _bearer(login(receptionist).json()["access"])
    assert client.get("/api/auth/profile").status_code == 200
    receptionist.is_active = False
    receptionist.save(update_fields=["is_active"])
    assert client.get("/api/auth/profile").status_code == 401
