"""Core clinic data: accounts and roles, departments, rooms, staff, patients and the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from clinic.db import insert_or_add
from clinic.pinyin import MAX_KEY_LENGTH, name_keys
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


class DoctorRank(models.TextChoices):
    """A doctor's professional rank (职称): what the registration fee depends on."""

    CHIEF = "chief", _("Chief physician")
    ASSOCIATE_CHIEF = "associate_chief", _("Associate chief physician")
    ATTENDING = "attending", _("Attending physician")
    RESIDENT = "resident", _("Physician")


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
    rank = models.CharField(
        _("rank"),
        max_length=20,
        choices=DoctorRank.choices,
        blank=True,
        help_text=_("A doctor's rank decides the registration fee (Registration fees)."),
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
            models.CheckConstraint(
                condition=Q(rank="") | Q(rank__in=DoctorRank.values), name="employee_rank_valid"
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


class NotifyChannel(models.TextChoices):
    """How a patient is sent reminders and waitlist offers."""

    SMS = "sms", _("Text message")
    EMAIL = "email", _("E-mail")


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
    # None: self-pay (自费), the default.
    insurance_plan = models.ForeignKey(
        "clinic.InsurancePlan",
        verbose_name=_("insurance plan"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: self-pay."),
    )
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
    # Messages (notifications): where they go, in which language, and whether reminders are
    # sent at all (waitlist offers always are: the patient asked for them).
    email = models.EmailField(_("e-mail"), blank=True)
    notify_channel = models.CharField(
        _("send messages by"),
        max_length=8,
        choices=NotifyChannel.choices,
        default=NotifyChannel.SMS,
    )
    reminders_enabled = models.BooleanField(_("send appointment reminders"), default=True)
    language = models.CharField(
        _("language of messages"),
        max_length=8,
        choices=settings.LANGUAGES,
        default="zh-hans",
    )
    # The no-show policy (appointments.no_shows): no-shows up to this moment no longer count
    # towards a block on booking online (the desk lifted it).
    no_show_block_lifted_at = models.DateTimeField(
        _("no-show block lifted at"), null=True, blank=True
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
            models.CheckConstraint(
                condition=Q(notify_channel__in=NotifyChannel.values),
                name="patient_notify_channel_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Whatever path writes a patient, an absent ID number is stored as NULL.
        self.id_card = normalize_resident_id(self.id_card)
        update_fields = kwargs.get("update_fields")
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)
            # Whatever path writes a name, its pinyin search keys follow (bulk writes, which
            # skip save(), call PatientNameKey.rebuild).
            if update_fields is None or "name" in update_fields:
                PatientNameKey.sync(self)

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


class NameKeyKind(models.TextChoices):
    FULL = "full", _("Full pinyin")
    INITIALS = "initials", _("Pinyin initials")


class NameKey(models.Model):
    """A stored pinyin search key of a name (clinic.pinyin.name_keys): one row per reading,
    lower case, so that the one search rule (clinic.search) finds the name by a prefix on the
    key's index. Derived data: rebuilt from the names whenever they change."""

    key = models.CharField(_("key"), max_length=MAX_KEY_LENGTH)
    kind = models.CharField(_("kind"), max_length=8, choices=NameKeyKind.choices)

    # The field of the row whose name is read.
    OWNER: ClassVar[str] = ""
    BATCH_SIZE: ClassVar[int] = 2000

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.key

    @classmethod
    def rows_for(cls, owner: models.Model) -> list[NameKey]:
        """The key rows a saved owner's name should have."""
        return [
            cls(**{cls.OWNER: owner}, key=key, kind=kind)
            for kind, found in name_keys(owner.name).items()
            for key in found
        ]

    @classmethod
    def sync(cls, owner: models.Model) -> None:
        """Make one owner's keys those of its name (one read; writes only on a change)."""
        wanted = {(row.kind, row.key) for row in cls.rows_for(owner)}
        stored = cls.objects.filter(**{cls.OWNER: owner})
        if set(stored.values_list("kind", "key")) != wanted:
            stored.delete()
            cls.objects.bulk_create(cls.rows_for(owner))

    @classmethod
    def rebuild(cls, owners: Iterable[models.Model]) -> int:
        """Replace the keys of these saved owners (bulk imports, which skip save()): a few
        statements per batch of 2,000. Returns the number of owners."""
        count = 0
        batch: list[models.Model] = []
        for owner in owners:
            if owner.pk is not None:
                batch.append(owner)
            if len(batch) >= cls.BATCH_SIZE:
                count += cls._replace(batch)
                batch = []
        return count + (cls._replace(batch) if batch else 0)

    @classmethod
    def _replace(cls, owners: list[models.Model]) -> int:
        with transaction.atomic():
            cls.objects.filter(**{f"{cls.OWNER}__in": [owner.pk for owner in owners]}).delete()
            cls.objects.bulk_create(
                [row for owner in owners for row in cls.rows_for(owner)], batch_size=5000
            )
        return len(owners)

    @classmethod
    def stale(cls, owners: Iterable[models.Model]) -> list[models.Model]:
        """The owners among these whose stored keys are not those of their name."""
        owners = [owner for owner in owners if owner.pk is not None]
        stored: dict[int, set[tuple[str, str]]] = {owner.pk: set() for owner in owners}
        rows = cls.objects.filter(**{f"{cls.OWNER}__in": list(stored)}).values_list(
            f"{cls.OWNER}_id", "kind", "key"
        )
        for owner_id, kind, key in rows:
            stored[owner_id].add((kind, key))
        return [
            owner
            for owner in owners
            if stored[owner.pk] != {(row.kind, row.key) for row in cls.rows_for(owner)}
        ]


class PatientNameKey(NameKey):
    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.CASCADE, related_name="name_keys"
    )

    OWNER = "patient"

    class Meta:
        verbose_name = _("patient name key")
        verbose_name_plural = _("patient name keys")
        # The search reads a range of (key) and the patient from the same entry.
        indexes = [models.Index(fields=["key", "patient"], name="patient_name_key_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind", "key"], name="patient_name_key_unique"
            ),
        ]


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


# Charges: the fee catalogue, insurance plans and registration fees (reference data kept in
# Django Admin). Visits copy an item's code, name, unit price and class into their charges
# when ordered, and bills into their lines: a price change never changes what was charged.

MONEY = {"max_digits": 10, "decimal_places": 2}
# The largest amount DECIMAL(10, 2) holds: a line, a bill, a payment.
MAX_AMOUNT = Decimal("99999999.99")
# Quantities and doses: up to 999,999.999; orders are bounded well below (MAX_QUANTITY).
QUANTITY = {"max_digits": 9, "decimal_places": 3}
MAX_QUANTITY = Decimal("9999")
# Coverage in percent, 0.00 to 100.00.
PERCENT = {"max_digits": 5, "decimal_places": 2}


class FeeCategory(models.TextChoices):
    REGISTRATION = "registration", _("Registration fee")  # 挂号费
    CONSULTATION = "consultation", _("Consultation fee")  # 诊查费
    DRUG = "drug", _("Drugs")  # 药品
    EXAMINATION = "examination", _("Examinations")  # 检查
    LABORATORY = "laboratory", _("Laboratory tests")  # 检验
    TREATMENT = "treatment", _("Treatments")  # 治疗
    MATERIAL = "material", _("Materials")  # 材料


# What a doctor orders during a consultation; registration fees are charged at arrival.
ORDERABLE_CATEGORIES = tuple(value for value in FeeCategory.values if value != "registration")


class InsuranceClass(models.TextChoices):
    """The insurance catalogue's class of an item (医保甲类/乙类/丙类)."""

    A = "A", _("Class A")
    B = "B", _("Class B")
    C = "C", _("Class C (self-pay)")


class AllergyClass(models.Model):
    """A class of drugs a patient can be allergic to (penicillins, sulfonamides …): drug items
    carry theirs, a patient's allergy may name one, and an order that matches warns."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[validate_not_blank])
    name = models.CharField(_("name"), max_length=50, validators=[validate_not_blank])
    name_en = models.CharField(_("English name"), max_length=80, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("allergy class")
        verbose_name_plural = _("allergy classes")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name_en if self.name_en and english_page() else self.name


class FeeItem(models.Model):
    """One line of the fee catalogue (收费项目): what can be charged and at what price."""

    Category = FeeCategory
    InsuranceClass = InsuranceClass

    code = models.CharField(
        _("item code"), max_length=32, unique=True, validators=[validate_not_blank]
    )
    name = models.CharField(_("name"), max_length=100, validators=[validate_not_blank])
    category = models.CharField(_("category"), max_length=16, choices=FeeCategory.choices)
    unit = models.CharField(
        _("unit"), max_length=16, validators=[validate_not_blank], help_text=_("e.g. box, test")
    )
    unit_price = models.DecimalField(
        _("unit price"), validators=[MinValueValidator(Decimal(0))], **MONEY
    )
    insurance_class = models.CharField(
        _("insurance class"), max_length=1, choices=InsuranceClass.choices
    )
    fractional_quantity = models.BooleanField(
        _("quantity may have decimals"),
        default=False,
        help_text=_("Whole units only unless this is ticked (e.g. ml, g)."),
    )
    # Drugs.
    specification = models.CharField(
        _("specification"), max_length=100, blank=True, help_text=_("e.g. 0.25 g × 24 tablets")
    )
    dosage_form = models.CharField(
        _("dosage form"), max_length=32, blank=True, help_text=_("e.g. tablet, capsule")
    )
    default_usage = models.CharField(
        _("default usage"), max_length=100, blank=True, help_text=_("e.g. oral, after meals")
    )
    dose_unit = models.CharField(
        _("dose unit"),
        max_length=16,
        blank=True,
        help_text=_("What a dose is counted in, e.g. tablet."),
    )
    doses_per_unit = models.DecimalField(
        _("doses per unit"),
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.001"))],
        help_text=_(
            "How many dose units one unit holds (24 tablets a box): lets an order's quantity "
            "be computed from dose × frequency × days."
        ),
        **QUANTITY,
    )
    allergy_classes = models.ManyToManyField(
        AllergyClass, verbose_name=_("allergy classes"), blank=True, related_name="fee_items"
    )
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["category", "code"]
        verbose_name = _("fee item")
        verbose_name_plural = _("fee items")
        indexes = [models.Index(fields=["name"], name="fee_item_name_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="fee_item_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(category__in=FeeCategory.values), name="fee_item_category_valid"
            ),
            models.CheckConstraint(
                condition=Q(insurance_class__in=InsuranceClass.values),
                name="fee_item_insurance_class_valid",
            ),
            models.CheckConstraint(
                condition=Q(doses_per_unit__isnull=True) | Q(doses_per_unit__gt=0),
                name="fee_item_doses_per_unit_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)
            # The catalogue's search finds the name by its pinyin keys too.
            if update_fields is None or "name" in update_fields:
                FeeItemNameKey.sync(self)

    @property
    def is_drug(self) -> bool:
        return self.category == FeeCategory.DRUG


class FeeItemNameKey(NameKey):
    item = models.ForeignKey(
        FeeItem, verbose_name=_("fee item"), on_delete=models.CASCADE, related_name="name_keys"
    )

    OWNER = "item"

    class Meta:
        verbose_name = _("fee item name key")
        verbose_name_plural = _("fee item name keys")
        indexes = [models.Index(fields=["key", "item"], name="fee_item_name_key_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "kind", "key"], name="fee_item_name_key_unique"
            ),
        ]


class InsurancePlan(models.Model):
    """A medical insurance scheme (城镇职工, 城乡居民 …) and the share it pays of each class.
    A patient without a plan pays everything themselves (自费)."""

    name = models.CharField(_("name"), max_length=50, unique=True, validators=[validate_not_blank])
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    coverage_a = models.DecimalField(
        _("class A coverage (%)"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        **PERCENT,
    )
    coverage_b = models.DecimalField(
        _("class B coverage (%)"),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        **PERCENT,
    )
    coverage_c = models.DecimalField(
        _("class C coverage (%)"),
        default=Decimal(0),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
        **PERCENT,
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("insurance plan")
        verbose_name_plural = _("insurance plans")
        constraints = [
            models.CheckConstraint(
                condition=Q(coverage_a__gte=0, coverage_a__lte=100)
                & Q(coverage_b__gte=0, coverage_b__lte=100)
                & Q(coverage_c__gte=0, coverage_c__lte=100),
                name="insurance_plan_coverage_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name_en if self.name_en and english_page() else self.name

    def coverage(self, insurance_class: str) -> Decimal:
        """The percentage of an item of this class that the plan pays."""
        return {
            InsuranceClass.A: self.coverage_a,
            InsuranceClass.B: self.coverage_b,
            InsuranceClass.C: self.coverage_c,
        }[insurance_class]


# A patient without a plan, named wherever a plan is (its own context: "Self-pay" is also
# the bill's self-pay amount, a different thing).
SELF_PAY_PLAN = pgettext_lazy("insurance plan", "Self-pay")


def plan_name(plan: InsurancePlan | str | None) -> str:
    """A plan as pages name it: its name in the page's language, "Self-pay" for none. A bill
    keeps its plan's name as text (empty for self-pay): that text is named the same way."""
    if isinstance(plan, InsurancePlan):
        return plan.display_name
    return plan or str(SELF_PAY_PLAN)


class RegistrationFee(models.Model):
    """Which registration fee item (挂号费) a doctor's rank charges at check-in and walk-in."""

    rank = models.CharField(_("rank"), max_length=20, choices=DoctorRank.choices, unique=True)
    fee_item = models.ForeignKey(
        FeeItem,
        verbose_name=_("fee item"),
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"category": FeeCategory.REGISTRATION},
    )

    class Meta:
        ordering = ["rank"]
        verbose_name = _("registration fee")
        verbose_name_plural = _("registration fees")
        constraints = [
            models.CheckConstraint(
                condition=Q(rank__in=DoctorRank.values), name="registration_fee_rank_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_rank_display()}: {self.fee_item}"

    def clean(self) -> None:
        super().clean()
        if self.fee_item_id and self.fee_item.category != FeeCategory.REGISTRATION:
            raise ValidationError({"fee_item": _("Choose a registration fee item.")})
