"""Delivering one message: e-mail through Django's e-mail backends, SMS through a small
backend interface (`SmsBackend.send`) chosen by CLINIC_SMS_BACKEND.

Every delivery carries the message's key. The file backend writes one file per key, created
exclusively, so delivering a message twice (a worker killed after delivering, before it could
record it) writes it once; the HTTP gateway passes the key in its body for the provider to
drop a repeat; e-mail carries it in its Message-ID.
"""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string


class DeliveryError(Exception):
    """The channel refused or could not take the message (the text says why)."""


class Message(Protocol):
    key: str
    recipient: str
    subject: str
    body: str


class SmsBackend(Protocol):
    """What a text-message backend does: deliver one message, or raise DeliveryError."""

    def send(self, message: Message) -> None: ...


class FileSmsBackend(SmsBackend):
    """Writes each text message to <CLINIC_SMS_FILE_DIR>/<key>.txt (the default: for a clinic
    without a gateway, and for tests and benchmarks)."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory or settings.CLINIC_SMS_FILE_DIR)

    def path_for(self, key: str) -> Path:
        return self.directory / (key.replace(":", "-").replace("/", "-") + ".txt")

    def send(self, message: Message) -> None:
        path = self.path_for(message.key)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            out = open(path, "x", encoding="utf-8")  # noqa: SIM115 (removed when it fails)
        except FileExistsError:
            return  # delivered before: once is enough
        except OSError as error:
            raise DeliveryError(str(error)) from error
        try:
            with out:
                out.write(f"To: {message.recipient}\n\n{message.body}\n")
                out.flush()
                os.fsync(out.fileno())
        except OSError as error:
            # A half-written file would pass for a delivery on the next try: remove it.
            path.unlink(missing_ok=True)
            raise DeliveryError(str(error)) from error


class HttpSmsBackend(SmsBackend):
    """POSTs to an SMS gateway: CLINIC_SMS_HTTP_URL, optional CLINIC_SMS_HTTP_USER and
    CLINIC_SMS_HTTP_PASSWORD (HTTP basic), or CLINIC_SMS_HTTP_TOKEN (a bearer token), and
    CLINIC_SMS_HTTP_BODY, a JSON template whose strings may name {to}, {text} and {key}.
    Any 2xx answer is a delivery; anything else is an error with the answer's status."""

    timeout = 10

    def send(self, message: Message) -> None:
        url = settings.CLINIC_SMS_HTTP_URL
        if not url.startswith(("http://", "https://")):
            raise DeliveryError("CLINIC_SMS_HTTP_URL must be an http(s) address.")
        values = {"to": message.recipient, "text": message.body, "key": message.key}
        try:
            template = json.loads(settings.CLINIC_SMS_HTTP_BODY)
        except ValueError as error:
            raise DeliveryError(f"CLINIC_SMS_HTTP_BODY is not JSON: {error}") from error
        body = json.dumps(_fill(template, values))
        request = urllib.request.Request(  # noqa: S310 (http or https, checked above)
            url, data=body.encode(), method="POST", headers={"Content-Type": "application/json"}
        )
        if settings.CLINIC_SMS_HTTP_TOKEN:
            request.add_header("Authorization", f"Bearer {settings.CLINIC_SMS_HTTP_TOKEN}")
        elif settings.CLINIC_SMS_HTTP_USER:
            pair = f"{settings.CLINIC_SMS_HTTP_USER}:{settings.CLINIC_SMS_HTTP_PASSWORD}"
            request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                answer.read()
        except urllib.error.HTTPError as error:
            raise DeliveryError(f"The gateway answered {error.code}.") from error
        except (urllib.error.URLError, OSError) as error:
            raise DeliveryError(f"The gateway could not be reached: {error}") from error


_PLACEHOLDER = re.compile(r"\{(to|text|key)\}")


def _fill(template: object, values: dict[str, str]) -> object:
    """The body template with {to}, {text} and {key} filled in its strings (JSON stays JSON:
    a text with quotes or braces cannot break it). One pass over the template, so a text that
    itself contains "{key}" is sent as written, never filled in again."""
    if isinstance(template, str):
        return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)
    if isinstance(template, dict):
        return {key: _fill(value, values) for key, value in template.items()}
    if isinstance(template, list):
        return [_fill(value, values) for value in template]
    return template


def sms_backend() -> SmsBackend:
    return import_string(settings.CLINIC_SMS_BACKEND)()


def send_email(message: Message) -> None:
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "clinic.local"
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        to=[message.recipient],
        headers={"Message-ID": f"<{message.key.replace(':', '.')}@{domain}>"},
    )
    try:
        email.send()
    except (OSError, ValueError) as error:  # smtplib's errors are OSErrors
        raise DeliveryError(str(error)) from error
