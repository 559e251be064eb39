"""Who may do what in Django Admin: the administrator accounts' two groups.

An account's role decides its pages (clinic.roles); an administrator's group decides what
they may change in Django Admin and whether they read medical records:

- "Clinic administrator": every permission of the clinic's data, medical records included
  (read, and correct on their own page), and the right to create and change administrator
  accounts (`clinic.manage_administrators`) and to give groups.
- "Clinic manager": the same clinic data (departments, rooms, staff, schedules, patients,
  statistics, screens) without medical records and without administrator accounts; the
  charges' reference data (fee catalogue, insurance plans, registration fees, allergy
  classes) read only: prices are the administrators' to change.

Superusers hold every permission. The groups' permissions are set after every `migrate`, so
that a new model's permissions join them; accounts are put in a group by an administrator.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

ADMINISTRATORS = "Clinic administrator"
MANAGERS = "Clinic manager"
# The charges' reference data (clinic.catalogue): administrators write it, managers read it.
CATALOGUE_MODELS = ("feeitem", "insuranceplan", "registrationfee", "allergyclass")
CLINIC_APPS = ("clinic", "notifications", "scheduling", "appointments", "visits", "billing")
# What a manager lacks: the records, the accounts that hold every right, and the groups
# themselves (changing one's own group would give the rest back).
ADMINISTRATORS_ONLY = (
    Q(content_type__app_label="visits", content_type__model="medicalrecord")
    # The patients' allergies are clinical data like the records.
    | Q(content_type__app_label="visits", content_type__model="patientallergy")
    | Q(content_type__app_label="clinic", codename="manage_administrators")
    | Q(content_type__app_label="auth")
    # Prices and coverages: read, not written.
    | (
        Q(content_type__app_label="clinic", content_type__model__in=CATALOGUE_MODELS)
        & ~Q(codename__startswith="view_")
    )
)


def sync_groups(**kwargs: Any) -> None:
    """Create the two groups and set their permissions exactly. A post_migrate receiver for
    every app (each app's permissions exist only after its own post_migrate): idempotent."""
    everything = Permission.objects.filter(
        Q(content_type__app_label__in=CLINIC_APPS)
        # django-tasks-db's task results (read only in its admin): what the worker did.
        | Q(content_type__app_label__in=("auth", "axes", "django_tasks_database"))
    )
    administrators, _ = Group.objects.get_or_create(name=ADMINISTRATORS)
    administrators.permissions.set(everything)
    managers, _ = Group.objects.get_or_create(name=MANAGERS)
    managers.permissions.set(everything.exclude(ADMINISTRATORS_ONLY))
