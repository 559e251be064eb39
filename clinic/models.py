"""Core clinic data: accounts and roles, departments, rooms, staff, patients and the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from clinic.db import insert_or_add
from clinic.validators import (
    birth_date_from_resident_id,
    normalize_phone,
    normalize_resident_id,
    validate_birth_date,
    validate_mobile_phone,
    validate_not_blank,
    validate_resident_id,
)


class Role(models.TextChoices):
    PATIENT = "patient", _("Patient")
    RECEPTIONIST = "receptionist", _("Receptionist")
    DOCTOR = "doctor", _("Doctor")
    ADMIN = "admin", _("Administrator")


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class UserManager(DjangoUserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    """An account. The role decides the home page and what the account may do.

    Only administrators are staff (reach Django Admin); `save()` keeps `is_staff` in step with
    the role and the database refuses staff of any other role.
    """

    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.PATIENT)
    employee = models.OneToOneField(
        "clinic.Employee",
        verbose_name=_("employee"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="user",
        help_text=_("The staff member this account belongs to (staff accounts only)."),
    )

    objects = UserManager()

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        # What an administrator may do in Django Admin comes from their group (clinic.groups:
        # "Clinic administrator", "Clinic manager"); this one guards the accounts that hold
        # every right.
        permissions = [
            ("manage_administrators", _("Can create and change administrator accounts")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid"),
            models.CheckConstraint(
                condition=Q(is_staff=False) | Q(role=Role.ADMIN),
                name="user_only_admins_are_staff",
            ),
        ]

    def clean(self) -> None:
        super().clean()
        if (
            self.role != Role.PATIENT
            and self.pk is not None
            and Patient.objects.filter(user_id=self.pk).exists()
        ):
            raise ValidationError(
                {"role": _("This account is a patient's: unlink its patient record first.")}
            )
        if self.role == Role.PATIENT and self.employee_id:
            raise ValidationError(
                {"employee": _("A patient account cannot be linked to a staff member.")}
            )
        if self.role == Role.DOCTOR:
            if not self.employee_id:
                raise ValidationError(
                    {"employee": _("A doctor's account must be linked to their staff record.")}
                )
            if self.employee.position != Position.DOCTOR:
                raise ValidationError(
                    {"employee": _("This staff member's position is not doctor.")}
                )

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.is_superuser:
            self.role = Role.ADMIN
        self.is_staff = self.role == Role.ADMIN
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "role" in update_fields:
            kwargs["update_fields"] = {*update_fields, "is_staff"}
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        if self.employee_id:
            return self.employee.name
        patient = getattr(self, "patient", None)
        if patient is not None:
            return patient.name
        return self.get_full_name() or self.username


def english_page() -> bool:
    """Whether the page being made is in English (the clinic's default is Chinese)."""
    return (get_language() or "").startswith("en")


def department_name_in_language(path: str = "") -> F | Coalesce:
    """The department's name in the page's language as a database expression, for rows read
    with values() (the board, takings, statistics): what Department.display_name is."""
    name = F(f"{path}name")
    if not english_page():
        return name
    return Coalesce(NullIf(F(f"{path}name_en"), Value("")), name)


class Department(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True, validators=[validate_not_blank])
    name_en = models.CharField(
        _("English name"),
        max_length=80,
        blank=True,
        help_text=_("Shown on English pages; the name above otherwise."),
    )
    code = models.SlugField(
        _("code"),
        max_length=16,
        unique=True,
        help_text=_("Short code used in addresses, e.g. the waiting-room display (/display/IM/)."),
    )
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the page's language: English when there is one, else the name."""
        return self.name_en if self.name_en and english_page() else self.name


class RoomStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("room status", "Active")
    DISABLED = "disabled", pgettext_lazy("room status", "Disabled")


class Room(models.Model):
    Status = RoomStatus

    room_number = models.CharField(
        _("room number"), max_length=20, unique=True, validators=[validate_not_blank]
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="rooms"
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["room_number"]
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RoomStatus.values), name="room_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.room_number

    def clean(self) -> None:
        super().clean()
        if self.pk is None:
            return
        # Schedules from today on were made for this room in its department: moving or
        # disabling the room under them would leave patients booked into a room that no
        # longer fits. (The reverse relation: clinic imports no scheduling module.)
        original = Room.objects.filter(pk=self.pk).values("department_id", "status").first()
        if original is None:
            return
        moved = original["department_id"] != self.department_id
        disabled = self.status == RoomStatus.DISABLED and original["status"] != self.status
        if (moved or disabled) and self.schedules.filter(
            work_date__gte=timezone.localdate(), current_patients__gt=0
        ).exists():
            raise ValidationError(
                _(
                    "Patients are booked into this room from today on: move or cancel those "
                    "schedules first."
                )
            )


class Position(models.TextChoices):
    DOCTOR = "doctor", _("Doctor")
    NURSE = "nurse", _("Nurse")
    RECEPTIONIST = "receptionist", _("Receptionist")
    ADMIN = "admin", _("Administrator")


class EmployeeStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("employee status", "Active")
    ON_LEAVE = "on_leave", pgettext_lazy("employee status", "On leave")
    LEFT = "left", pgettext_lazy("employee status", "Left")


class Employee(models.Model):
    Status = EmployeeStatus

    emp_id = models.CharField(
        _("staff code"),
        max_length=20,
        unique=True,
        validators=[validate_not_blank],
        help_text=_("The code people and the API use, e.g. D001."),
    )
    name = models.CharField(_("name"), max_length=50, validators=[validate_not_blank])
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    position = models.CharField(_("position"), max_length=16, choices=Position.choices)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="employees",
    )
    title = models.CharField(
        _("title"), max_length=50, blank=True, help_text=_("e.g. Attending physician")
    )
    title_en = models.CharField(
        _("English title"),
        max_length=80,
        blank=True,
        help_text=_("Shown on English pages; the title above otherwise."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["emp_id"]
        verbose_name = _("employee")
        verbose_name_plural = _("employees")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=EmployeeStatus.values),
                name="employee_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(position__in=Position.values), name="employee_position_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.emp_id})"

    @property
    def display_title(self) -> str:
        """The title in the page's language: English when there is one, else the title."""
        return self.title_en if self.title_en and english_page() else self.title

    def clean(self) -> None:
        super().clean()
        if self.phone:
            self.phone = normalize_phone(self.phone)
            try:
                validate_mobile_phone(self.phone)
            except ValidationError as exc:
                raise ValidationError({"phone": exc.messages}) from exc
        if self.position == Position.DOCTOR and not self.department_id:
            raise ValidationError({"department": _("A doctor must belong to a department.")})


class IdType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("Resident ID card")
    PASSPORT = "passport", _("Passport")
    OTHER = "other", _("Other")


class Patient(models.Model):
    """A person the clinic treats. Several family members may share one phone number."""

    name = models.CharField(_("name"), max_length=50, validators=[validate_not_blank])
    gender = models.CharField(_("gender"), max_length=8, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    id_type = models.CharField(
        _("ID type"), max_length=16, choices=IdType.choices, default=IdType.RESIDENT_ID
    )
    # NULL when absent, so that many patients without an ID number do not collide. A plain
    # unique index: MariaDB has no partial indexes and NULLs never conflict in a unique index.
    id_card = models.CharField(_("ID number"), max_length=32, null=True, blank=True, unique=True)
    phone = models.CharField(_("phone"), max_length=20, db_index=True)
    user = models.OneToOneField(
        "clinic.User",
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="patient",
    )
    # The desk has seen the ID document of this number (it typed or checked it). A number
    # given online is not verified: the desk's matching never joins a person to an account's
    # record on it (clinic.services.match_or_create_patient).
    id_verified = models.BooleanField(_("ID number verified at the desk"), default=False)
    # The record an online account was moved from when the desk linked it to this one:
    # what an undo of the link gives the account back.
    linked_from = models.ForeignKey(
        "self",
        verbose_name=_("account linked from"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("patient")
        verbose_name_plural = _("patients")
        indexes = [models.Index(fields=["name"], name="patient_name_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(id_card=""), name="patient_id_card_null_not_empty"),
            models.CheckConstraint(
                condition=Q(id_type__in=IdType.values), name="patient_id_type_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Whatever path writes a patient, an absent ID number is stored as NULL.
        self.id_card = normalize_resident_id(self.id_card)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        self.phone = normalize_phone(self.phone)
        self.id_card = normalize_resident_id(self.id_card)
        errors: dict[str, list[str]] = {}
        try:
            validate_mobile_phone(self.phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages
        if self.id_card and self.id_type == IdType.RESIDENT_ID:
            try:
                validate_resident_id(self.id_card)
            except ValidationError as exc:
                errors["id_card"] = exc.messages
            else:
                self.birth_date = birth_date_from_resident_id(self.id_card)
        try:
            validate_birth_date(self.birth_date)
        except ValidationError as exc:
            errors["birth_date"] = exc.messages
        if self.user_id is not None and self.user.role != Role.PATIENT:
            # The record's account is the patient's own: a staff account acts for the clinic.
            errors["user"] = [_("Only a patient's account can be linked to a patient record.")]
        if errors:
            raise ValidationError(errors)

    @property
    def age(self) -> int | None:
        if not self.birth_date:
            return None
        today = timezone.localdate()
        before_birthday = (today.month, today.day) < (self.birth_date.month, self.birth_date.day)
        return today.year - self.birth_date.year - before_birthday


class IdentityLock(models.Model):
    """A row to lock while deciding whether a person is already on file.

    Locking the matching patient rows is not enough: when nobody matches yet there is no row
    to lock (READ COMMITTED takes no gap locks), and two desks registering the same new
    person at once would both create a record. Both lock this row (one per phone number)
    first, so the second sees the first one's patient.
    """

    key = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("identity lock")
        verbose_name_plural = _("identity locks")

    def __str__(self) -> str:
        return self.key

    @classmethod
    def acquire(cls, key: str) -> None:
        """Lock the row for `key`, creating it first if needed. Inside a transaction: one
        upsert takes the row's exclusive lock whether it inserts or finds it."""
        insert_or_add(cls, key={"key": key})


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("Audit events are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("Audit events are append-only.")


class AuditEvent(models.Model):
    """One thing that happened: a state move, a change, a login attempt, a record viewed.

    Append-only: the application never updates or deletes a row.
    """

    actor = models.ForeignKey(
        "clinic.User",
        verbose_name=_("actor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_username = models.CharField(_("username"), max_length=150, blank=True)
    role = models.CharField(_("role"), max_length=16, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    patient = models.ForeignKey(
        Patient,
        verbose_name=_("patient"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    old_values = models.JSONField(_("old values"), default=dict, blank=True)
    new_values = models.JSONField(_("new values"), default=dict, blank=True)
    client_ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        # The label registry (clinic.audit) imports this module: looked up when shown.
        from clinic.audit import action_label

        when = timezone.localtime(self.created_at)
        return f"{when:%Y-%m-%d %H:%M} {self.actor_username or '-'} {action_label(self.action)}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise TypeError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("Audit events are append-only.")
