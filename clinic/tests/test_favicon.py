"""The clinic's icon: linked from every page's head, and /favicon.ico answers for the pages
that do not say where it is (Django Admin) and for whatever asks there by habit."""

from __future__ import annotations

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_favicon_ico_leads_to_the_static_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == static("favicon.ico")
    assert "max-age=86400" in response["Cache-Control"]
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert b"".join(icon.streaming_content)[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_both_icons_are_static_files():
    assert finders.find("favicon.ico")
    assert finders.find("favicon.svg")


@pytest.mark.parametrize("url", [reverse("login"), "/display/IM/?key=nope"])
def test_pages_link_the_icon(client, url):
    html = client.get(url).content.decode()
    assert f'<link rel="icon" href="{static("favicon.svg")}"' in html
