"""API sign-ins end like site sessions: each refresh token lives only its role's idle time,
and no chain of refreshes outlives SESSION_MAX_HOURS from the original sign-in (carried in
the token as `auth_time`). The clock is moved by patching simplejwt's notion of now."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import aware_utcnow

from clinic.sessions import AUTH_TIME_CLAIM
from clinic.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def sign_in(user: Any) -> dict[str, str]:
    response = APIClient().post(
        "/api/auth/login", {"username": user.username, "password": TEST_PASSWORD}, format="json"
    )
    assert response.status_code == 200
    return response.json()


def refresh(token: str) -> Any:
    return APIClient().post(
        "/api/auth/refresh", {"refresh": token}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )


def later(monkeypatch: Any, **delta: float) -> None:
    moment = aware_utcnow() + dt.timedelta(**delta)
    monkeypatch.setattr(tokens, "aware_utcnow", lambda: moment)


def lifetime(raw: str) -> dt.timedelta:
    token = RefreshToken(raw, verify=False)
    return dt.timedelta(seconds=token["exp"] - token["iat"])


@pytest.mark.parametrize(
    ("persona", "setting"),
    [
        ("receptionist", "CLINIC_STAFF_IDLE_MINUTES"),
        ("patient_user", "CLINIC_PATIENT_IDLE_MINUTES"),
    ],
)
def test_a_refresh_token_lives_its_roles_idle_time(persona, setting, request, settings):
    pair = sign_in(request.getfixturevalue(persona))
    assert lifetime(pair["refresh"]) == dt.timedelta(minutes=getattr(settings, setting))
    renewed = refresh(pair["refresh"])
    assert renewed.status_code == 200
    assert lifetime(renewed.json()["refresh"]) == dt.timedelta(minutes=getattr(settings, setting))


def test_an_idle_staff_client_cannot_refresh(receptionist, monkeypatch, settings):
    pair = sign_in(receptionist)
    later(monkeypatch, minutes=settings.CLINIC_STAFF_IDLE_MINUTES + 1)
    response = refresh(pair["refresh"])
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"


def test_refreshing_keeps_the_original_sign_in_time(receptionist, monkeypatch):
    pair = sign_in(receptionist)
    signed_in_at = RefreshToken(pair["refresh"], verify=False)[AUTH_TIME_CLAIM]
    later(monkeypatch, minutes=20)
    renewed = refresh(pair["refresh"]).json()["refresh"]
    assert RefreshToken(renewed, verify=False)[AUTH_TIME_CLAIM] == signed_in_at


def test_near_the_end_of_a_sign_in_a_refresh_token_lives_only_until_that_end(
    receptionist, settings
):
    token = RefreshToken.for_user(receptionist)
    now = int(token.current_time.timestamp())
    # Signed in almost SESSION_MAX_HOURS ago, refreshed ever since: ten minutes are left.
    token[AUTH_TIME_CLAIM] = now - settings.SESSION_COOKIE_AGE + 600
    response = refresh(str(token))
    assert response.status_code == 200
    renewed = RefreshToken(response.json()["refresh"], verify=False)
    assert renewed[AUTH_TIME_CLAIM] == token[AUTH_TIME_CLAIM]
    assert renewed["exp"] == token[AUTH_TIME_CLAIM] + settings.SESSION_COOKIE_AGE
    assert lifetime(response.json()["refresh"]) < dt.timedelta(
        minutes=settings.CLINIC_STAFF_IDLE_MINUTES
    )


def test_a_token_of_a_sign_in_older_than_the_limit_is_refused(receptionist, settings):
    token = RefreshToken.for_user(receptionist)
    token[AUTH_TIME_CLAIM] = int(token.current_time.timestamp()) - settings.SESSION_COOKIE_AGE - 1
    response = refresh(str(token))
    assert response.status_code == 401
    assert (
        "sign in again" in response.json()["error"]["message"]
        or response.json()["error"]["details"]
    )
