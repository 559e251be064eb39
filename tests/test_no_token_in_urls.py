"""No page sends its CSRF token with a GET: a form's token must never reach the address bar,
the browser history or a Referer header. Every template whose form carries the token either
submits by POST only, or limits what its GET updates send (htmx's hx-params)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
FORM = re.compile(r"<form\b(?P<attrs>[^>]*)>(?P<body>.*?)</form>", re.S)


def _forms():
    for path in sorted(TEMPLATES.rglob("*.html")):
        for match in FORM.finditer(path.read_text()):
            yield path.relative_to(TEMPLATES), match["attrs"], match["body"]


def test_no_form_with_a_token_is_sent_by_get():
    offending = []
    for path, attrs, body in _forms():
        if "csrf_token" not in body:
            continue
        if re.search(r'method="get"', attrs) or 'formmethod="get"' in body:
            offending.append(f"{path}: submits its token by GET")
        # htmx sends a form's inputs with a GET only when the form itself asks (its own
        # hx-get); another element in it sends its own value and what it hx-includes.
        for tag in re.findall(r"<form\b[^>]*hx-get=[^>]*>", f"<form{attrs}>"):
            params = re.search(r'hx-params="([^"]*)"', tag)
            sent = params[1] if params else "*"
            if sent == "*" or ("csrfmiddlewaretoken" in sent and not sent.startswith("not ")):
                offending.append(f"{path}: hx-get sends the whole form: {tag[:80]}")
    assert offending == []


@pytest.mark.django_db
def test_showing_free_places_without_javascript_is_a_post(client, patient_user):
    client.force_login(patient_user)
    page = client.get(reverse("appointments:book")).content.decode()
    assert 'name="show"' in page
    response = client.post(reverse("appointments:book"), {"show": "1", "date": "2030-03-04"})
    assert response.status_code == 200
    assert response.context["form"].initial["date"] == "2030-03-04"
    assert not response.context["form"].is_bound  # nothing booked, nothing refused
