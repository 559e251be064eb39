"""Several app servers, one limit: with REDIS_URL, the sign-in and registration throttle
counts in Redis, so what one server (another process) counted, the other refuses. The
local-memory cache of a single server could not: the control below shows it.

Needs a Redis server (REDIS_TEST_URL, default redis://127.0.0.1:6379/7); skipped without."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.http import HttpRequest
from django.test import Client, RequestFactory, override_settings

from clinic.client_address import AuthRateThrottle
from clinic.views import registration_allowed

ROOT = Path(__file__).resolve().parent.parent
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/7")


def redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not redis_answers(), reason=f"no Redis at {REDIS_TEST_URL}")

# What clinic.settings makes of REDIS_URL (tests/test_settings.py checks that it does).
REDIS_CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_TEST_URL,
        "KEY_PREFIX": "clinic",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

# The other app server: its own process, its own connection to Redis, counting one client's
# registration attempts until the allowance is spent.
OTHER_SERVER = """
import sys
import django
django.setup()
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from clinic.views import registration_allowed
request = RequestFactory().post("/accounts/register/", REMOTE_ADDR=sys.argv[1])
request.user = AnonymousUser()
print(sum(registration_allowed(request) for _ in range(int(sys.argv[2]))))
"""


def auth_allowance() -> int:
    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"]
    return AuthRateThrottle().parse_rate(rate)[0]


def spend_allowance_on_another_server(address: str, tmp_path: Path) -> None:
    allowance = auth_allowance()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "clinic.settings",
        "SECRET_KEY": "other-server-" + "x" * 50,
        "DATABASE_URL": f"sqlite:///{tmp_path}/other.sqlite3",
        "REDIS_URL": REDIS_TEST_URL,
        "API_AUTH_THROTTLE_RATE": settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"],
        "NUM_PROXIES": "0",
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", OTHER_SERVER, address, str(allowance + 3)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == allowance  # the rest refused there already


def fresh_address():
    """A client address of this run only (IPv6 documentation prefix); its count is removed
    from Redis afterwards."""
    address = f"2001:db8::{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}"
    yield address
    with override_settings(CACHES=REDIS_CACHES):
        caches["default"].delete(f"throttle_auth_{address}")


address = pytest.fixture(fresh_address, name="address")
other_address = pytest.fixture(fresh_address, name="other_address")


def registration(address: str) -> HttpRequest:
    """A registration attempt as the page sees it (signed out)."""
    request = RequestFactory().post("/accounts/register/", REMOTE_ADDR=address)
    request.user = AnonymousUser()
    return request


def test_what_another_server_counted_is_refused_here(address, other_address, tmp_path):
    spend_allowance_on_another_server(address, tmp_path)
    # Control: a local-memory cache knows nothing of the other process's count.
    assert registration_allowed(registration(address))
    with override_settings(CACHES=REDIS_CACHES):
        assert not registration_allowed(registration(address))
        assert registration_allowed(registration(other_address))


@pytest.mark.django_db
def test_the_api_sign_in_obeys_the_count_of_another_server(address, tmp_path):
    spend_allowance_on_another_server(address, tmp_path)
    with override_settings(CACHES=REDIS_CACHES):
        response = Client(REMOTE_ADDR=address).post(
            "/api/auth/login",
            {"username": "nobody", "password": "not-this-one"},
            content_type="application/json",
        )
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"


def test_two_connections_of_this_process_share_the_count(address):
    """Two RedisCache instances (two connection pools), as two servers hold them."""
    with override_settings(CACHES=REDIS_CACHES):
        first, second = caches.create_connection("default"), caches.create_connection("default")
        assert first is not second
        one, other = AuthRateThrottle(), AuthRateThrottle()
        one.cache, other.cache = first, second
        view = type("View", (), {"throttle_scope": "auth"})()
        for _ in range(auth_allowance()):
            assert one.allow_request(registration(address), view)
        assert not other.allow_request(registration(address), view)


def test_sign_in_lockouts_are_rows_of_the_database():
    """django-axes' database handler: a lockout holds on every server, without the cache."""
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"
