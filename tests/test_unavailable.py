"""A database (or cache) lost under a running request answers 503, never 500: the API's
unified error body, a short page for the site, whether the error comes from a view, from
REST framework's handling around it, or from a middleware before the view."""

from __future__ import annotations

import contextlib
from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import InterfaceError, OperationalError, connection
from django.test import Client
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError as RedisReadOnlyError
from redis.exceptions import ResponseError as RedisResponseError

from appointments.models import Appointment
from clinic.availability import is_unavailable

MESSAGE = "The clinic system is briefly unavailable. Please try again in a minute."
UNAVAILABLE = {"error": {"code": "service_unavailable", "message": MESSAGE, "details": {}}}


def lost_connection_on(table: str) -> contextlib.AbstractContextManager:
    """Every query that names `table` fails as a Galera node killed mid-request does."""

    def wrapper(execute, sql, params, many, context):
        if table in sql:
            raise OperationalError(2013, "Lost connection to server during query")
        return execute(sql, params, many, context)

    return connection.execute_wrapper(wrapper)


def client_for(user) -> Client:
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def assert_unavailable_page(response) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert MESSAGE in html
    assert "Traceback" not in html


def assert_unavailable_json(response) -> None:
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json() == UNAVAILABLE


@pytest.mark.django_db
class TestLostDatabase:
    def test_a_page_whose_query_loses_the_connection_answers_503(self, receptionist):
        client = client_for(receptionist)
        with lost_connection_on(Appointment._meta.db_table):
            response = client.get(reverse("appointments:desk"))
        assert_unavailable_page(response)

    def test_an_api_route_whose_query_loses_the_connection_answers_503_json(self, patient_user):
        client = client_for(patient_user)
        with lost_connection_on(Appointment._meta.db_table):
            response = client.get("/api/patient/appointments")
        assert_unavailable_json(response)

    def test_a_session_that_cannot_be_loaded_answers_a_503_page(self, receptionist):
        """The session is read by a middleware, before any view: Django's handler500."""
        client = client_for(receptionist)
        with lost_connection_on(Session._meta.db_table):
            response = client.get(reverse("appointments:desk"))
        assert_unavailable_page(response)

    def test_a_session_that_cannot_be_loaded_answers_503_json_on_the_api(self, patient_user):
        client = client_for(patient_user)
        with lost_connection_on(Session._meta.db_table):
            response = client.get("/api/patient/appointments")
        assert_unavailable_json(response)

    def test_other_database_errors_stay_a_500(self, receptionist):
        client = client_for(receptionist)

        def wrapper(execute, sql, params, many, context):
            if Appointment._meta.db_table in sql:
                raise OperationalError(1054, "Unknown column")
            return execute(sql, params, many, context)

        with connection.execute_wrapper(wrapper):
            response = client.get(reverse("appointments:desk"))
        assert response.status_code == 500


@pytest.mark.django_db
def test_a_cache_that_cannot_be_reached_answers_503_json(patient_user):
    """The sign-in throttle counts in the cache (Redis on several app servers)."""
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    with mock.patch.object(caches["default"], "get", side_effect=RedisConnectionError("down")):
        response = client.post(
            "/api/auth/login",
            {"username": patient_user.username, "password": "whatever"},
            content_type="application/json",
        )
    assert_unavailable_json(response)


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (OperationalError(2013, "Lost connection to server during query"), True),
        (OperationalError(2006, "Server has gone away"), True),
        (OperationalError(2003, "Can't connect to server on '127.0.0.1'"), True),
        (OperationalError(1047, "WSREP has not yet prepared node for application use"), True),
        (OperationalError(1053, "Server shutdown in progress"), True),
        (OperationalError(1927, "Connection was killed"), True),
        (InterfaceError(0, ""), True),
        (OperationalError("unable to open database file"), True),
        (OperationalError(1180, "Got error 6 during COMMIT"), True),
        (RedisConnectionError("Connection refused"), True),
        (RedisResponseError("OOM command not allowed"), True),
        (RedisReadOnlyError("You can't write against a read only replica."), True),
        # Lock errors in a write no retry wrapper runs (a sign-in's, a session's): tried again,
        # they pass. (Inside atomic_with_retry they are retried, then Busy, 503 by itself.)
        (OperationalError(1213, "Deadlock found"), True),
        (OperationalError(1205, "Lock wait timeout exceeded"), True),
        (OperationalError("database is locked"), True),
        # Bugs: 500.
        (OperationalError(4031, "Referenced trigger does not exist"), False),
        (OperationalError(1054, "Unknown column"), False),
        (RuntimeError("boom"), False),
    ],
)
def test_which_errors_mean_unavailable(error, unavailable):
    assert is_unavailable(error) is unavailable


def update_fails_on(table: str, code: int) -> contextlib.AbstractContextManager:
    """Every UPDATE of `table` fails with MySQL error `code`."""

    def wrapper(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("UPDATE") and table in sql:
            raise OperationalError(code, "the session's row could not be written")
        return execute(sql, params, many, context)

    return connection.execute_wrapper(wrapper)


@pytest.mark.django_db
class TestSessionSave:
    """Saving a session (here: its last activity, refreshed after a minute) while the database
    is lost answers 503; Django's own engine would answer 400 "session interrupted"."""

    @pytest.fixture
    def stale_client(self, receptionist):
        client = client_for(receptionist)
        client.get(reverse("home"))  # the sign-in's timestamps are in the session now
        session = client.session
        session["clinic_last_activity"] -= 120
        session.save()
        return client

    @pytest.mark.parametrize("code", [2013, 1213], ids=["lost connection", "deadlock"])
    def test_a_session_that_cannot_be_saved_answers_503(self, stale_client, code):
        with update_fails_on(Session._meta.db_table, code):
            response = stale_client.get(reverse("appointments:desk"))
        assert_unavailable_page(response)

    def test_a_session_deleted_meanwhile_still_answers_400(self, stale_client):
        """The case Django's answer is for: another request signed out meanwhile."""

        def delete_first(execute, sql, params, many, context):
            if sql.lstrip().upper().startswith("UPDATE") and Session._meta.db_table in sql:
                Session.objects.all().delete()
            return execute(sql, params, many, context)

        with connection.execute_wrapper(delete_first):
            response = stale_client.get(reverse("appointments:desk"))
        assert response.status_code == 400
