"""Ids as pages send them (a button's value, a query parameter) are ASCII digits or nothing:
"²" passes str.isdigit() but not int(), and a number past BIGINT overflows. Each is a 404 or
the page without the filter, never a 500 (clinic.urls_utils.id_param)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clinic.urls_utils import id_param

pytestmark = pytest.mark.django_db

ODD = ["²", "١٢", "12345678901234567890", "-1", "1.0", " 1"]


@pytest.mark.parametrize("text", ODD)
def test_id_param_takes_ascii_digits_only(text):
    assert id_param(text) is None
    assert id_param("42") == 42
    assert id_param(None) is None


@pytest.mark.parametrize("text", ODD)
def test_desk_buttons_and_filters_answer_odd_ids_without_an_error(client, receptionist, text):
    client.force_login(receptionist)
    for name in ("appointments:desk-confirm", "appointments:desk-cancel"):
        assert client.post(reverse(name), {"appointment": text}).status_code == 404
    assert client.post(reverse("notifications:resend"), {"message": text}).status_code == 404
    assert client.get(reverse("visits:walk-in"), {"patient": text}).status_code == 200
    assert client.get(reverse("visits:board"), {"department": text}).status_code == 200


@pytest.mark.parametrize("text", ODD)
def test_the_audit_trail_filters_answer_odd_ids_without_an_error(client, admin_user, text):
    client.force_login(admin_user)
    url = reverse("admin:clinic_auditevent_changelist")
    for parameter in ("actor", "patient"):
        assert client.get(url, {parameter: text}).status_code < 500
