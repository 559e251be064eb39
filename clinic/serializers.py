"""API shapes of the core data: accounts, departments, rooms, staff and patients.

Serializers validate input and shape output; the views in clinic/api.py make the changes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import password_validation
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.fields import (
    AmountField,
    BoundedDateField,
    IdField,
    LabelField,
    StrictBooleanField,
    StrictManyRelatedField,
    TextField,
)
from api.serializers import ModelSerializer
from clinic.fields import IdCardField, PhoneInputField
from clinic.forms import RegistrationForm
from clinic.models import (
    AllergyClass,
    Department,
    DoctorRank,
    Employee,
    EmployeeStatus,
    FeeCategory,
    FeeItem,
    Gender,
    IdType,
    InsuranceClass,
    InsurancePlan,
    Patient,
    Position,
    Role,
    Room,
    RoomStatus,
    User,
)
from clinic.search import (
    ID_CARD_SEARCH_HELP,
    NAME_SEARCH_HELP,
    PHONE_SEARCH_HELP,
    SearchTerm,
    field_terms,
    validate_phone_search,
)
from clinic.statistics import GROUP_BY_CHOICES

# The registration form's field names, where the API's differ.
_FORM_TO_API = {"password1": "password", "password2": "password", "__all__": "non_field_errors"}


class PlanBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = TextField(source="display_name")


class ProfileSerializer(ModelSerializer):
    """The signed-in account: who it is and what it acts for; a patient's insurance plan
    (null: self-pay), read only: the desk changes it."""

    role_label = LabelField(source="role")
    name = TextField(source="display_name", read_only=True)
    emp_id = serializers.SerializerMethodField()
    dept_id = serializers.SerializerMethodField()
    patient_id = serializers.SerializerMethodField()
    insurance_plan = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "role",
            "role_label",
            "name",
            "emp_id",
            "dept_id",
            "patient_id",
            "insurance_plan",
            "last_login",
        ]
        read_only_fields = fields

    @extend_schema_field(TextField(allow_null=True))
    def get_emp_id(self, user: User) -> str | None:
        return user.employee.emp_id if user.employee_id else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_dept_id(self, user: User) -> int | None:
        return user.employee.department_id if user.employee_id else None

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_patient_id(self, user: User) -> int | None:
        if user.role != Role.PATIENT:
            return None
        return Patient.objects.filter(user=user).values_list("pk", flat=True).first()

    @extend_schema_field(PlanBriefSerializer(allow_null=True))
    def get_insurance_plan(self, user: User) -> dict[str, Any] | None:
        if user.role != Role.PATIENT:
            return None
        patient = Patient.objects.filter(user=user).select_related("insurance_plan").first()
        if patient is None or patient.insurance_plan is None:
            return None
        return PlanBriefSerializer(patient.insurance_plan).data


def minimum_password_length() -> int:
    """The site's own rule (AUTH_PASSWORD_VALIDATORS), for the schema to say it."""
    for validator in password_validation.get_default_password_validators():
        if isinstance(validator, password_validation.MinimumLengthValidator):
            return validator.min_length
    return 1


class RegisterSerializer(serializers.Serializer):
    """A patient's own account, checked by the site's registration form (same rules)."""

    username = TextField(max_length=150)
    password = TextField(
        min_length=minimum_password_length(),
        max_length=128,
        write_only=True,
        trim_whitespace=False,
        help_text=_(
            "Long enough (minLength), not all digits, not a common password, and not like "
            "the username or the name."
        ),
    )
    name = TextField(max_length=50)
    phone = PhoneInputField()
    gender = serializers.ChoiceField(choices=Gender.choices)
    id_card = TextField(max_length=32, required=False, allow_blank=True, default="")
    insurance_plan = serializers.PrimaryKeyRelatedField(
        queryset=InsurancePlan.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        default=None,
        help_text=_("An active plan's id (catalogue insurance plans); null or left out: self-pay."),
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        form = RegistrationForm(
            data={
                "username": attrs["username"],
                "name": attrs["name"],
                "phone": attrs["phone"],
                "gender": attrs["gender"],
                "id_card": attrs["id_card"],
                "password1": attrs["password"],
                "password2": attrs["password"],
            }
        )
        if not form.is_valid():
            errors: dict[str, list[str]] = {}
            for field, messages in form.errors.items():
                errors.setdefault(_FORM_TO_API.get(field, field), []).extend(messages)
            raise serializers.ValidationError(errors)
        data = form.cleaned_data
        return {
            "username": data["username"],
            "password": data["password1"],
            "name": data["name"],
            "phone": data["phone"],
            "gender": data["gender"],
            "id_card": data["id_card"] or None,
            "insurance_plan": attrs.get("insurance_plan"),
        }


class RegistrationResultSerializer(serializers.Serializer):
    user = ProfileSerializer()
    patient_id = serializers.IntegerField()
    access = TextField()
    refresh = TextField()


class DepartmentSerializer(ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "name", "code", "description", "is_active"]
        read_only_fields = fields


class RoomSerializer(ModelSerializer):
    dept_id = serializers.PrimaryKeyRelatedField(
        source="department", queryset=Department.objects.all()
    )
    dept_name = TextField(source="department.name", read_only=True)
    status = serializers.ChoiceField(choices=RoomStatus.choices, default=RoomStatus.ACTIVE)
    status_label = LabelField(source="status")

    class Meta:
        model = Room
        fields = [
            "id",
            "room_number",
            "dept_id",
            "dept_name",
            "status",
            "status_label",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        # Uniqueness is full_clean()'s to report, under the same message as everywhere.
        validators: list = []
        extra_kwargs = {"room_number": {"validators": []}}


class RoomFilterSerializer(serializers.Serializer):
    dept_id = IdField(required=False)
    status = serializers.ChoiceField(choices=RoomStatus.choices, required=False)


class EmployeeSerializer(ModelSerializer):
    dept_id = serializers.PrimaryKeyRelatedField(
        source="department",
        queryset=Department.objects.all(),
        required=False,
        allow_null=True,
    )
    dept_name = TextField(source="department.name", read_only=True, default=None, allow_null=True)
    gender = serializers.ChoiceField(choices=Gender.choices)
    gender_label = LabelField(source="gender")
    position = serializers.ChoiceField(choices=Position.choices)
    position_label = LabelField(source="position")
    rank = serializers.ChoiceField(
        choices=DoctorRank.choices,
        allow_blank=True,
        required=False,
        help_text=_("A doctor's rank: it decides the registration fee. Blank: none."),
    )
    status = serializers.ChoiceField(choices=EmployeeStatus.choices, default=EmployeeStatus.ACTIVE)
    status_label = LabelField(source="status")

    class Meta:
        model = Employee
        fields = [
            "emp_id",
            "name",
            "gender",
            "gender_label",
            "phone",
            "position",
            "position_label",
            "dept_id",
            "dept_name",
            "title",
            "rank",
            "status",
            "status_label",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        validators: list = []
        extra_kwargs = {"emp_id": {"validators": []}}


class EmployeeUpdateSerializer(EmployeeSerializer):
    """The staff code is the employee's identity in the API: it cannot change."""

    class Meta(EmployeeSerializer.Meta):
        read_only_fields = ["emp_id", "created_at"]


class EmployeeFilterSerializer(serializers.Serializer):
    dept_id = IdField(required=False)
    position = serializers.ChoiceField(choices=Position.choices, required=False)
    status = serializers.ChoiceField(choices=EmployeeStatus.choices, required=False)
    q = TextField(required=False, max_length=50, help_text=_("Part of the name or the staff code."))


class PatientSerializer(ModelSerializer):
    # Blank when nobody recorded it (a walk-in, a phone booking).
    gender = serializers.ChoiceField(choices=Gender.choices, allow_blank=True, read_only=True)
    gender_label = LabelField(source="gender")
    id_type_label = LabelField(source="id_type")
    age = serializers.IntegerField(read_only=True, allow_null=True)
    id_card = IdCardField()
    has_account = serializers.SerializerMethodField()
    insurance_plan = serializers.IntegerField(
        source="insurance_plan_id",
        read_only=True,
        allow_null=True,
        help_text=_("The patient's insurance plan (its id); null: self-pay."),
    )

    class Meta:
        model = Patient
        fields = [
            "id",
            "name",
            "gender",
            "gender_label",
            "birth_date",
            "age",
            "id_type",
            "id_type_label",
            "id_card",
            "phone",
            "insurance_plan",
            "has_account",
            "created_at",
        ]
        read_only_fields = fields

    def get_has_account(self, patient: Patient) -> bool:
        return patient.user_id is not None


class PatientSearchSerializer(serializers.Serializer):
    """The patient search fields of every API list (patients, visits, bills): each read by the
    one search rule (clinic.search.field_terms), so that they find what the desk finds."""

    name = TextField(required=False, max_length=50, help_text=NAME_SEARCH_HELP)
    phone = TextField(
        required=False,
        max_length=20,
        help_text=PHONE_SEARCH_HELP,
        validators=[validate_phone_search],
    )
    id_card = TextField(required=False, max_length=32, help_text=ID_CARD_SEARCH_HELP)

    @staticmethod
    def terms(filters: dict[str, Any]) -> list[SearchTerm]:
        """The validated fields as search terms."""
        return field_terms(
            name=filters.get("name"), phone=filters.get("phone"), id_card=filters.get("id_card")
        )


class PatientFilterSerializer(PatientSearchSerializer):
    id_type = serializers.ChoiceField(choices=IdType.choices, required=False)


# --- Statistics (income: billing, visits: visits) ----------------------------------------------

# About ten years: the longest range one statistics request may cover.
MAX_STATISTICS_DAYS = 3660


def check_date_range(attrs: dict[str, Any]) -> dict[str, Any]:
    """A start date after the end date is refused (under end_date)."""
    start, end = attrs.get("start_date"), attrs.get("end_date")
    if start and end and start > end:
        raise serializers.ValidationError(
            {"end_date": [_("The end date comes before the start date.")]}
        )
    return attrs


class StatisticsQuerySerializer(serializers.Serializer):
    start_date = BoundedDateField(required=False, help_text=_("Default: 29 days before the end."))
    end_date = BoundedDateField(required=False, help_text=_("Default: today."))
    group_by = serializers.ChoiceField(choices=GROUP_BY_CHOICES, default="day")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end = attrs.get("end_date") or timezone.localdate()
        start = attrs.get("start_date") or end - dt.timedelta(days=29)
        attrs["start_date"], attrs["end_date"] = start, end
        check_date_range(attrs)
        if (end - start).days >= MAX_STATISTICS_DAYS:
            raise serializers.ValidationError(
                {"end_date": [_("A range may span at most %d days.") % MAX_STATISTICS_DAYS]}
            )
        return attrs


class StatisticsGroupSerializer(serializers.Serializer):
    date = serializers.DateField(allow_null=True)
    dept_id = serializers.IntegerField(allow_null=True)
    dept_name = TextField(allow_null=True)
    doctor_id = TextField(allow_null=True, help_text=_("Staff code."))
    doctor_name = TextField(allow_null=True)


# --- The charges' reference data (clinic.catalogue) ----------------------------------------


class AllergyClassSerializer(ModelSerializer):
    name = TextField(source="display_name", read_only=True)

    class Meta:
        model = AllergyClass
        fields = ["id", "code", "name"]
        read_only_fields = fields


class InsurancePlanSerializer(ModelSerializer):
    name = TextField(source="display_name", read_only=True)

    class Meta:
        model = InsurancePlan
        fields = ["id", "name", "coverage_a", "coverage_b", "coverage_c", "is_active"]
        read_only_fields = fields


class FeeItemSerializer(ModelSerializer):
    """A fee item. The code is fixed once the item is made (a change is refused under
    `code`); `allergy_classes` are the classes' codes."""

    category = serializers.ChoiceField(choices=FeeCategory.choices)
    category_label = LabelField(source="category")
    unit_price = AmountField()
    is_active = StrictBooleanField(required=False)
    fractional_quantity = StrictBooleanField(required=False)
    insurance_class = serializers.ChoiceField(choices=InsuranceClass.choices)
    insurance_class_label = LabelField(source="insurance_class")
    allergy_classes = StrictManyRelatedField(
        child_relation=serializers.SlugRelatedField(
            slug_field="code", queryset=AllergyClass.objects.all()
        ),
        required=False,
    )

    class Meta:
        model = FeeItem
        fields = [
            "id",
            "code",
            "name",
            "category",
            "category_label",
            "unit",
            "unit_price",
            "insurance_class",
            "insurance_class_label",
            "fractional_quantity",
            "specification",
            "dosage_form",
            "default_usage",
            "dose_unit",
            "doses_per_unit",
            "allergy_classes",
            "is_active",
            "updated_at",
        ]
        read_only_fields = ["id", "updated_at"]
        # Uniqueness is the service's to report (the code in any case), under `code`.
        validators: list = []
        extra_kwargs = {"code": {"validators": []}}


class FeeItemFilterSerializer(serializers.Serializer):
    search = TextField(
        required=False,
        max_length=50,
        help_text=_("The beginning of an item's code or name (the catalogue's one search)."),
    )
    category = serializers.ChoiceField(choices=FeeCategory.choices, required=False)
    active = serializers.BooleanField(
        required=False, allow_null=True, default=None, help_text=_("true or false.")
    )
