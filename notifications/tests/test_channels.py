"""The channels: the SMS file backend writes a message once, the HTTP gateway backend posts
JSON with the message's key and its credentials, e-mail goes through Django's backend."""

from __future__ import annotations

import base64
import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from notifications.channels import DeliveryError, FileSmsBackend, HttpSmsBackend


@dataclass
class Message:
    key: str = "reminder:7"
    recipient: str = "13912345678"
    subject: str = ""
    body: str = "明天 9:00 复诊"


# --- the file backend ------------------------------------------------------------------------


def test_the_file_backend_writes_one_file_per_key(tmp_path: Path):
    backend = FileSmsBackend(tmp_path)
    backend.send(Message())
    backend.send(Message(body="a second delivery of the same message"))
    (written,) = tmp_path.iterdir()
    assert written.name == "reminder-7.txt"
    assert written.read_text(encoding="utf-8") == "To: 13912345678\n\n明天 9:00 复诊\n"


def test_the_file_backend_keeps_keys_inside_its_folder(tmp_path: Path):
    FileSmsBackend(tmp_path).send(Message(key="../offer:1/2"))
    assert [path.name for path in tmp_path.iterdir()] == ["..-offer-1-2.txt"]


def test_the_file_backend_reports_a_folder_it_cannot_write(tmp_path: Path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(DeliveryError):
        FileSmsBackend(blocker / "sms").send(Message())


# --- the HTTP gateway backend ----------------------------------------------------------------


class Gateway:
    """A local SMS gateway: records each request, answers with `status`."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.status = 200
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                gateway.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length).decode(),
                    }
                )
                self.send_response(gateway.status)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def json(self, index: int = -1) -> dict:
        return json.loads(self.requests[index]["body"])


@pytest.fixture
def gateway(settings):
    gateway = Gateway()
    gateway.thread.start()
    settings.CLINIC_SMS_HTTP_URL = gateway.url
    settings.CLINIC_SMS_HTTP_USER = ""
    settings.CLINIC_SMS_HTTP_PASSWORD = ""
    settings.CLINIC_SMS_HTTP_TOKEN = ""
    settings.CLINIC_SMS_HTTP_BODY = '{"to": "{to}", "text": "{text}", "id": "{key}"}'
    try:
        yield gateway
    finally:
        gateway.server.shutdown()
        gateway.server.server_close()


def test_the_gateway_receives_json_with_the_key(gateway):
    HttpSmsBackend().send(Message())
    (request,) = gateway.requests
    assert request["path"] == "/send"
    assert request["headers"]["Content-Type"] == "application/json"
    assert "Authorization" not in request["headers"]
    assert gateway.json() == {"to": "13912345678", "text": "明天 9:00 复诊", "id": "reminder:7"}


def test_basic_authentication(gateway, settings):
    settings.CLINIC_SMS_HTTP_USER = "clinic"
    settings.CLINIC_SMS_HTTP_PASSWORD = "s3cret:x"
    HttpSmsBackend().send(Message())
    header = gateway.requests[0]["headers"]["Authorization"]
    assert header == "Basic " + base64.b64encode(b"clinic:s3cret:x").decode()


def test_a_token_is_sent_as_a_bearer_token(gateway, settings):
    settings.CLINIC_SMS_HTTP_TOKEN = "tok-123"
    settings.CLINIC_SMS_HTTP_USER = "ignored"
    HttpSmsBackend().send(Message())
    assert gateway.requests[0]["headers"]["Authorization"] == "Bearer tok-123"


@pytest.mark.parametrize("status", [400, 401, 500, 503])
def test_an_answer_outside_2xx_is_a_delivery_error(gateway, status):
    gateway.status = status
    with pytest.raises(DeliveryError, match=str(status)):
        HttpSmsBackend().send(Message())


def test_a_202_is_a_delivery(gateway):
    gateway.status = 202
    HttpSmsBackend().send(Message())
    assert len(gateway.requests) == 1


def test_an_unreachable_gateway_is_a_delivery_error(settings):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.CLINIC_SMS_HTTP_URL = f"http://127.0.0.1:{port}/send"
    with pytest.raises(DeliveryError, match="could not be reached"):
        HttpSmsBackend().send(Message())


@pytest.mark.parametrize("url", ["", "ftp://gateway.example/send", "file:///etc/passwd"])
def test_only_an_http_address_is_used(settings, url):
    settings.CLINIC_SMS_HTTP_URL = url
    with pytest.raises(DeliveryError):
        HttpSmsBackend().send(Message())


def test_quotes_braces_and_placeholders_in_the_text_stay_valid_json(gateway, settings):
    settings.CLINIC_SMS_HTTP_BODY = json.dumps(
        {
            "message": {"to": ["{to}"], "content": 'Clinic: "{text}" ({key})'},
            "sender": "Clinic {}",
            "priority": 1,
            "flash": False,
        }
    )
    text = 'He said "come at 9" \\ {key} {to} {"a": 1} }{'
    HttpSmsBackend().send(Message(body=text))
    assert gateway.json() == {
        "message": {"to": ["13912345678"], "content": f'Clinic: "{text}" (reminder:7)'},
        "sender": "Clinic {}",
        "priority": 1,
        "flash": False,
    }


def test_a_body_setting_that_is_not_json_is_a_delivery_error(gateway, settings):
    settings.CLINIC_SMS_HTTP_BODY = '{"to": {to}}'
    with pytest.raises(DeliveryError, match="not JSON"):
        HttpSmsBackend().send(Message())
    assert gateway.requests == []
