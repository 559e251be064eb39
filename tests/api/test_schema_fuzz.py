"""Property-based fuzzing of the published schema (/api/schema/) with schemathesis.

For every operation and every role that may call it (from the permission matrix; a role that
may not is refused before its input is even read, which the matrix already proves), valid and
invalid requests are generated from the schema and sent through the WSGI application on a
clinic day with real rows. Half of the generated ids are swapped for ids that exist, so the
requests reach the services instead of stopping at a 404. Every response must:
- never be a 5xx,
- have a status the operation documents, with the documented content type,
- conform to the documented response schema (the error body included),
- never be refused by a database constraint rather than by validation.

Budget: API_FUZZ_EXAMPLES examples per operation and role (default 12, both generation modes
together); about a thousand requests in all.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS as CHECKS_REGISTRY

from billing.models import CashierShift
from tests.api.conftest import ClinicDay
from tests.api.test_permissions_matrix import MATRIX

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "12"))
# Reproducible in CI; API_FUZZ_RANDOM=1 explores new inputs on each run.
DERANDOMIZE = os.environ.get("API_FUZZ_RANDOM", "") != "1"
CHECKS = CHECKS_REGISTRY.get_all()
# The roles fuzzed, each as its persona in the permission matrix.
ROLES = ("anonymous", "patient", "receptionist", "doctor", "admin")


def _operations() -> list[tuple[str, str, str]]:
    """(method, path, URL name) of every operation in the schema, read at collection."""
    from django.urls import resolve

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, item in schema["paths"].items():
        for method in item:
            name = resolve(_concrete(path)).url_name
            operations.append((method.upper(), path, name))
    return sorted(operations)


def _concrete(path: str) -> str:
    for parameter in ("{id}", "{appt_id}", "{visit_id}", "{allergy_id}", "{order_id}"):
        path = path.replace(parameter, "1")
    return path.replace("{emp_id}", "D001")


def _targets() -> list[tuple[str, str, str]]:
    allowed = {
        (row.method, row.route): {
            p for p, status in row.expected.items() if status not in (401, 403)
        }
        for row in MATRIX
    }
    targets = []
    for method, path, name in _operations():
        for role in ROLES:
            if role in allowed[(method, name)]:
                targets.append((role, method, path))
    return targets


TARGETS = _targets()


@pytest.fixture
def wsgi_app() -> Iterator[WSGIHandler]:
    """The real WSGI application, inside the test's transaction: Django's handler would close
    the connection at each request's end (as Django's own test client prevents too)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def published_schema(db: Any) -> schemathesis.BaseSchema:
    """The schema exactly as /api/schema/ serves it."""
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return schemathesis.openapi.from_dict(json.loads(response.content))


def _real_values(day: ClinicDay) -> dict[str, list[Any]]:
    visits = [day.waiting, day.in_consultation, day.awaiting_payment]
    return {
        "id": [day.booking.pk, day.phone_booking.pk, day.schedule.pk, day.afternoon.pk]
        + [visit.pk for visit in visits]
        + [day.schedule.room_id]
        + list(CashierShift.objects.values_list("pk", flat=True)),
        "appt_id": [day.booking.pk, day.phone_booking.pk],
        "visit_id": [visit.pk for visit in visits],
        "allergy_id": [day.allergy.pk],
        "emp_id": [day.schedule.doctor.emp_id],
        "dept_id": [day.department.pk],
        "room_id": [day.schedule.room_id],
        "doctor_id": [day.schedule.doctor.emp_id],
    }


def _swap_in_real_values(case: Any, data: st.DataObject, real: dict[str, list[Any]]) -> None:
    for container in (case.path_parameters, case.query, case.body):
        if not isinstance(container, dict):
            continue
        for name, values in real.items():
            if name in container and data.draw(st.booleans(), label=f"real {name}"):
                container[name] = data.draw(st.sampled_from(values), label=name)


@pytest.mark.parametrize(
    ("role", "method", "path"), TARGETS, ids=[f"{m} {p} as {r}" for r, m, p in TARGETS]
)
def test_no_input_breaks_the_api_or_its_schema(
    role: str,
    method: str,
    path: str,
    clinic_day: ClinicDay,
    published_schema: schemathesis.BaseSchema,
    wsgi_app: WSGIHandler,
) -> None:
    operation = published_schema[path][method]
    user = clinic_day.users[role]
    headers = {}
    if user is not None:
        headers["Authorization"] = f"Bearer {RefreshToken.for_user(user).access_token}"
    real = _real_values(clinic_day)
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=DERANDOMIZE,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, data=st.data())
    def fuzz(case: Any, data: st.DataObject) -> None:
        _swap_in_real_values(case, data, real)
        response = case.call(app=wsgi_app, base_url="http://testserver", headers=headers)
        case.validate_response(response, checks=CHECKS, headers=headers)
        if response.status_code >= 400:
            # The database's constraints are the last line of defence, never the first:
            # input alone must be refused by validation before any write is tried.
            code = response.json()["error"]["code"]
            assert code not in ("conflict", "value_out_of_range"), response.text

    fuzz()
