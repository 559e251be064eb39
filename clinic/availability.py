"""When the database or the shared cache cannot be reached: one answer, 503, at every door.

A Galera node killed under a running request, a server restarting, a connection killed, a
Redis server gone: the request cannot vouch for what it did, and the same request through
another node, a moment later, will most likely work. So it is never a 500: pages answer a
short 503 page and the API its error body with the code "service_unavailable" (both in
`clinic.views.server_error`, the API's views also in `clinic.api_errors`), and `/healthz`
tells the load balancer to send requests elsewhere.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.core.cache import cache
from django.db import OperationalError, connection
from django.utils.translation import gettext_lazy as _
from redis.exceptions import RedisError

from api.exceptions import error_body
from clinic.db import is_database_unreachable, is_retryable

logger = logging.getLogger(__name__)

UNAVAILABLE_CODE = "service_unavailable"
UNAVAILABLE_MESSAGE = _("The clinic system is briefly unavailable. Please try again in a minute.")
RETRY_AFTER_SECONDS = "30"


def is_unavailable(error: BaseException) -> bool:
    """The database or the cache cannot be reached, or the connection to it was lost; or a
    lock error (a deadlock, a Galera certification conflict) in a write that no retry wrapper
    ran (a sign-in's last_login, a session's save): tried again, it will most likely pass.
    Any error of the Redis client too (a lost server, one out of memory, a read-only replica
    after a failover): the cache holds nothing a request could finish without."""
    if isinstance(error, OperationalError) and is_retryable(error):
        return True
    return is_database_unreachable(error) or isinstance(error, RedisError)


def unavailable_body(details: dict[str, Any] | None = None) -> dict[str, Any]:
    return error_body(UNAVAILABLE_CODE, UNAVAILABLE_MESSAGE, details)


def database_ready() -> bool:
    """A trivial query answers; on a Galera node (wsrep_on), the node is also ready for
    clients (wsrep_ready: it belongs to the primary component). A standalone MariaDB reports
    wsrep_ready OFF as well, hence the wsrep_on check first."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
            if connection.vendor == "mysql":
                cursor.execute("SHOW GLOBAL VARIABLES LIKE 'wsrep_on'")
                row = cursor.fetchone()
                if row is not None and str(row[1]).upper() == "ON":
                    cursor.execute("SHOW GLOBAL STATUS LIKE 'wsrep_ready'")
                    row = cursor.fetchone()
                    if row is None or str(row[1]).upper() != "ON":
                        logger.warning("health check: the Galera node is not ready")
                        return False
    except Exception as error:  # a health check reports every failure, it never raises
        logger.warning("health check: the database failed: %r", error)
        return False
    return True


def cache_ready() -> bool:
    """A key written with a short timeout reads back (a value of this request's own, so that
    two app servers checking at once never read each other's)."""
    key, value = f"healthz:{uuid.uuid4().hex}", uuid.uuid4().hex
    try:
        cache.set(key, value, timeout=10)
        ok = cache.get(key) == value
        cache.delete(key)
    except Exception as error:  # a health check reports every failure, it never raises
        logger.warning("health check: the cache failed: %r", error)
        return False
    if not ok:
        logger.warning("health check: the cache did not return the value just written")
    return ok
