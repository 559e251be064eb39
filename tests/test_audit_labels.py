"""Every audit action the application writes has a label (clinic.audit.ACTION_LABELS), and
the audit trail shows labels, not codes like `visit.walked_in`.

The codes are found by reading the source (outside tests and migrations): string constants
given as `action=…`, assigned to `action` or an `AUDIT_*` name, or passed to a local
`event(…)` helper; f-strings such as f"visit.{action}" are completed with the second
argument of the same file's `_audit(by, "left", …)` calls, and f"{kind}.created" with every
`kind="…"` argument. A new action without a label fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from clinic.audit import ACTION_LABELS, action_label, record_event
from clinic.models import AuditEvent
from clinic.tests.factories import AdminUserFactory, ReceptionistFactory

ROOT = Path(settings.BASE_DIR)
SKIPPED_PARTS = {"tests", "migrations", ".venv", "bench", "node_modules"}


def source_files() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*.py")
        if not SKIPPED_PARTS.intersection(path.relative_to(ROOT).parts)
    ]


def constants(node: ast.AST) -> list[str]:
    """The string constants an expression may evaluate to (through `a if c else b`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return constants(node.body) + constants(node.orelse)
    return []


def template(node: ast.AST) -> tuple[str, str] | None:
    """An f-string with one hole, as (before, after): f"visit.{action}" → ("visit.", "")."""
    if not isinstance(node, ast.JoinedStr):
        return None
    parts = node.values
    holes = [part for part in parts if isinstance(part, ast.FormattedValue)]
    if len(holes) != 1:
        return None
    index = parts.index(holes[0])
    text = [part.value if isinstance(part, ast.Constant) else "" for part in parts]
    return "".join(text[:index]), "".join(text[index + 1 :])


def templates(node: ast.AST) -> list[tuple[str, str]]:
    """The one-hole f-strings an expression may evaluate to (through `a if c else b`)."""
    if isinstance(node, ast.IfExp):
        return templates(node.body) + templates(node.orelse)
    found = template(node)
    return [found] if found else []


def used_action_codes() -> set[str]:
    codes: set[str] = set()
    prefixes: list[tuple[str, set[str]]] = []  # ("visit.", this file's _audit() actions)
    for path in source_files():
        audited_here: set[str] = set()
        # f"{kind}.created" is completed with the `kind="…"` arguments of its own file.
        suffixes: set[str] = set()
        kinds: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                for keyword in node.keywords:
                    if keyword.arg == "action":
                        codes.update(constants(keyword.value))
                        for before, after in templates(keyword.value):
                            if before and not after:
                                prefixes.append((before, audited_here))
                            elif after and not before:
                                suffixes.add(after)
                    elif keyword.arg == "kind":
                        kinds.update(constants(keyword.value))
                if name == "event" and node.args:
                    codes.update(constants(node.args[0]))
                if name == "_audit" and len(node.args) >= 2:
                    audited_here.update(constants(node.args[1]))
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and (
                        target.id == "action" or target.id.startswith("AUDIT_")
                    ):
                        codes.update(constants(node.value))
                        suffixes.update(
                            after for before, after in templates(node.value) if not before
                        )
        codes.update(kind + suffix for kind in kinds for suffix in suffixes)
    for prefix, actions in prefixes:
        codes.update(prefix + action for action in actions)
    return {code for code in codes if "." in code}


def test_the_scan_finds_the_actions_it_should():
    """A check on the scan itself: literal, conditional, f-string and kind-made codes."""
    codes = used_action_codes()
    assert {
        "visit.walked_in",  # action="..."
        "schedule.updated",  # action = "..." if ... else "..."
        "visit.left_unseen",  # f"visit.{action}" with _audit(by, "left_unseen", ...)
        "appointment.cancelled",
        "department.updated",  # f"{kind}.updated" with kind="department"
        "insurance_plan.changed",  # action = f"{kind}.created" if ... else f"{kind}.changed"
        "user.role_changed",  # event("user.role_changed", ...)
        "medical_record.corrected",  # AUDIT_CORRECTED = "..."
        "auth.login_failed",
    } <= codes


def test_every_action_written_anywhere_has_a_label():
    missing = sorted(used_action_codes() - set(ACTION_LABELS))
    assert not missing, f"add these to clinic.audit.ACTION_LABELS: {missing}"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_label_is_text_not_a_code(language):
    with translation.override(language):
        for code in ACTION_LABELS:
            assert action_label(code) != code
    assert action_label("something.unknown") == "something.unknown"


@pytest.mark.django_db
def test_django_admin_lists_audit_events_by_label_and_actor_name(client):
    admin = AdminUserFactory(employee__name="Zheng Hai")
    desk = ReceptionistFactory(username="desk01", employee__name="Wu Fang")
    record_event(actor=desk, action="visit.walked_in")
    client.force_login(admin)
    html = client.get(
        reverse("admin:clinic_auditevent_changelist"), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Walk-in registered" in html
    assert '<td class="field-action_label">visit.walked_in</td>' not in html
    assert ">Wu Fang</a>" in html
    assert '<td class="field-role_label">Receptionist</td>' in html
    assert "?role=receptionist" in html
    # The action filter offers labels too.
    assert "?action=visit.walked_in" in html
    assert AuditEvent.objects.filter(action="visit.walked_in").count() == 1


@pytest.mark.django_db
def test_the_patient_page_shows_labels_and_names(client):
    from clinic.tests.factories import PatientFactory

    desk = ReceptionistFactory(username="desk01", employee__name="Wu Fang")
    patient = PatientFactory(name="Zhang San")
    record_event(actor=desk, action="patient.id_verified", obj=patient, patient=patient)
    client.force_login(desk)
    html = client.get(
        reverse("visits:patient", args=[patient.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "ID document checked · Wu Fang" in html
    assert "patient.id_verified" not in html and "desk01" not in html
