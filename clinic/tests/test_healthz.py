"""/healthz, the load balancer's check of an app server: the database (on Galera, a ready
node) and the cache, 200 or a 503 with the unified error body, never a 500."""

from __future__ import annotations

import contextlib
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import OperationalError, connection
from django.test import Client, override_settings
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from clinic.models import AuditEvent

pytestmark = pytest.mark.django_db

OK = {"status": "ok", "database": "ok", "cache": "ok"}
MESSAGE = "The clinic system is briefly unavailable. Please try again in a minute."


def unavailable(database: str, cache: str) -> dict:
    details = {"database": database, "cache": cache}
    return {"error": {"code": "service_unavailable", "message": MESSAGE, "details": details}}


@pytest.fixture
def client():
    return Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")


class GaleraCursor:
    """A cursor on a MySQL-family server answering the health check's statements."""

    def __init__(self, *, wsrep_on: str | None, wsrep_ready: str | None):
        self.answers = {
            "SELECT 1": (1,),
            "SHOW GLOBAL VARIABLES LIKE 'wsrep_on'": wsrep_on and ("wsrep_on", wsrep_on),
            "SHOW GLOBAL STATUS LIKE 'wsrep_ready'": wsrep_ready and ("wsrep_ready", wsrep_ready),
        }
        self.last = ""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False

    def execute(self, sql, params=None):
        self.last = sql

    def fetchone(self):
        return self.answers[self.last]


@contextlib.contextmanager
def on_mysql(cursor: GaleraCursor):
    with (
        mock.patch.object(connection, "vendor", "mysql"),
        mock.patch.object(connection, "cursor", return_value=cursor),
    ):
        yield


def test_the_url_has_no_language_prefix_and_no_trailing_slash():
    assert reverse("healthz") == "/healthz"


def test_ok_without_sign_in_session_cookie_or_audit(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == OK
    assert not response.cookies
    assert not Session.objects.exists()
    assert not AuditEvent.objects.exists()
    assert response["Cache-Control"] == "no-store"


def test_head_is_answered(client):
    assert client.head("/healthz").status_code == 200


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_other_methods_are_not_allowed_even_with_csrf_checks(method):
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)("/healthz")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_answered_over_plain_http_when_https_is_required():
    with override_settings(SECURE_SSL_REDIRECT=True):
        client = Client()  # its middleware is built with the setting
        assert client.get(reverse("login")).status_code == 301
        assert client.get("/healthz").status_code == 200


def test_503_when_the_database_cannot_be_reached(client):
    lost = OperationalError(2003, "Can't connect to server on '10.0.0.7'")
    with mock.patch.object(connection, "cursor", side_effect=lost):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == unavailable("error", "ok")


def test_503_when_the_galera_node_is_not_ready(client):
    with on_mysql(GaleraCursor(wsrep_on="ON", wsrep_ready="OFF")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == unavailable("error", "ok")


@pytest.mark.parametrize(
    ("wsrep_on", "wsrep_ready"),
    [
        ("ON", "ON"),  # a ready Galera node
        ("OFF", "OFF"),  # a standalone MariaDB (it reports wsrep_ready OFF too)
        (None, None),  # MySQL: no such variables
    ],
)
def test_ok_on_a_ready_galera_node_and_on_a_standalone_server(client, wsrep_on, wsrep_ready):
    with on_mysql(GaleraCursor(wsrep_on=wsrep_on, wsrep_ready=wsrep_ready)):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == OK


def test_503_when_the_cache_fails(client):
    with mock.patch.object(caches["default"], "set", side_effect=RedisConnectionError("down")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == unavailable("ok", "error")


def test_503_when_the_redis_server_does_not_answer(client):
    nowhere = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/7",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    with override_settings(CACHES=nowhere):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == unavailable("ok", "error")


def test_503_when_both_fail(client):
    lost = OperationalError(2013, "Lost connection to server during query")
    with (
        mock.patch.object(connection, "cursor", side_effect=lost),
        mock.patch.object(caches["default"], "get", return_value=None),
    ):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == unavailable("error", "error")
