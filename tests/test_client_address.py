"""The client's address behind the documented proxy: the sign-in throttle, the login lockout
and the audit log read it through one rule (clinic.client_address), so that a header forged
per request slips past none of them, and an attacker elsewhere cannot lock out the desk."""

from __future__ import annotations

import itertools

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from rest_framework.throttling import ScopedRateThrottle

from clinic.client_address import client_ip
from clinic.models import AuditEvent
from clinic.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
API_LOGIN = "/api/auth/login"
NGINX = "127.0.0.1"


@pytest.fixture(autouse=True)
def _fresh_throttles(monkeypatch):
    cache.clear()
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/minute"})
    yield
    cache.clear()


def api_login(username: str, password: str, **meta: str):
    return Client().post(
        API_LOGIN,
        {"username": username, "password": password},
        content_type="application/json",
        **meta,
    )


def forged_addresses():
    return (f"198.51.100.{n}" for n in itertools.count(1))


class TestTheRule:
    @pytest.mark.parametrize(
        ("proxies", "forwarded", "expected"),
        [
            (0, "", "10.1.1.1"),
            (0, "203.0.113.9", "10.1.1.1"),  # no proxy: a client's header is never believed
            (1, "", "10.1.1.1"),
            (1, "203.0.113.9", "203.0.113.9"),
            (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # the client wrote the left part
            (2, "6.6.6.6, 203.0.113.9, 10.0.0.2", "203.0.113.9"),
            (2, "203.0.113.9", "203.0.113.9"),
            (1, "not-an-address", "10.1.1.1"),
        ],
    )
    def test_address(self, rf, settings, proxies, forwarded, expected):
        settings.CLINIC_NUM_PROXIES = proxies
        meta = {"REMOTE_ADDR": "10.1.1.1"}
        if forwarded:
            meta["HTTP_X_FORWARDED_FOR"] = forwarded
        assert client_ip(rf.get("/", **meta)) == expected


class TestWithoutAProxy:
    def test_a_forged_header_per_request_does_not_escape_the_sign_in_throttle(self, patient_user):
        statuses = [
            api_login(patient_user.username, "wrong", HTTP_X_FORWARDED_FOR=address).status_code
            for address in itertools.islice(forged_addresses(), 5)
        ]
        assert statuses[-1] == 429

    def test_the_audit_log_records_the_socket_address(self, patient_user):
        api_login(patient_user.username, TEST_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9")
        assert AuditEvent.objects.get(action="auth.login").client_ip == NGINX


class TestBehindOneProxy:
    @pytest.fixture(autouse=True)
    def _one_proxy(self, settings):
        settings.CLINIC_NUM_PROXIES = 1

    def test_each_client_has_its_own_sign_in_allowance(self, patient_user):
        for _ in range(3):
            api_login(patient_user.username, "wrong", HTTP_X_FORWARDED_FOR="203.0.113.9")
        attacker = api_login(patient_user.username, "wrong", HTTP_X_FORWARDED_FOR="203.0.113.9")
        assert attacker.status_code == 429
        desk = api_login(patient_user.username, TEST_PASSWORD, HTTP_X_FORWARDED_FOR="10.0.0.5")
        assert desk.status_code == 200

    def test_wrong_passwords_elsewhere_do_not_lock_out_the_desk(self, doctor_user, settings):
        settings.AXES_FAILURE_LIMIT = 5
        attacker = Client(HTTP_X_FORWARDED_FOR="203.0.113.9")
        for _ in range(5):
            attacker.post(LOGIN, {"username": doctor_user.username, "password": "wrong"})
        locked = attacker.post(LOGIN, {"username": doctor_user.username, "password": TEST_PASSWORD})
        assert locked.status_code == 429
        desk = Client(HTTP_X_FORWARDED_FOR="10.0.0.5")
        response = desk.post(LOGIN, {"username": doctor_user.username, "password": TEST_PASSWORD})
        assert response.status_code == 302
        assert AuditEvent.objects.filter(action="auth.login").latest("id").client_ip == "10.0.0.5"

    def test_a_client_cannot_choose_its_address_by_writing_the_header(self, doctor_user):
        # The proxy appends the real address; what the client wrote before it is ignored.
        for n in range(5):
            Client(HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.9").post(
                LOGIN, {"username": doctor_user.username, "password": "wrong"}
            )
        locked = Client(HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9").post(
            LOGIN, {"username": doctor_user.username, "password": TEST_PASSWORD}
        )
        assert locked.status_code == 429
