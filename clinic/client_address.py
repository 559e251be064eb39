"""The client's address, one rule for everything that needs it: the audit log, the login
lockout (django-axes), the API's sign-in throttle and the registration page's rate limit.

Without a proxy (`NUM_PROXIES=0`, the default) it is the socket's address: headers sent by
the client are never believed, or anyone could name any address per request and slip past
every limit. Behind N proxies that each append to X-Forwarded-For (nginx's
`$proxy_add_x_forwarded_for`), it is the address the outermost of them saw: the N-th from
the right. What a client writes to the left of that is ignored.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from rest_framework.throttling import ScopedRateThrottle


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.CLINIC_NUM_PROXIES
    if proxies == 0:
        return remote
    forwarded = [
        address.strip()
        for address in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if address.strip()
    ]
    if not forwarded:
        return remote
    candidate = forwarded[-min(proxies, len(forwarded))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        # Not an address (a proxy misconfigured, or fewer proxies than configured and the
        # client's own text reached us): the socket's address is the one we know.
        return remote


class AuthRateThrottle(ScopedRateThrottle):
    """Sign-in, token refresh and registration, per client address (scope "auth")."""

    def get_ident(self, request: HttpRequest) -> str:
        return client_ip(request) or ""
