"""The session engine (SESSION_ENGINE): Django's database sessions, except that a database
lost while a session is saved answers like every other lost database.

Django's session middleware reads any database error while it updates a session as "the
session was deleted meanwhile" and answers 400. A Galera node killed under the request, or a
certification conflict on the session row, is no such thing: the error goes on to
`clinic.views.server_error`, which answers 503 (the API's error body, or the short page).
"""

from __future__ import annotations

from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

from clinic.availability import is_unavailable


class SessionStore(DatabaseSessionStore):
    def save(self, must_create: bool = False) -> None:
        try:
            super().save(must_create=must_create)
        except UpdateError as error:
            cause = error.__context__
            if cause is not None and is_unavailable(cause):
                raise cause from None
            raise
