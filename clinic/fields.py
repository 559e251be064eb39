"""Serializer fields that know the clinic: doctors by staff code, departments by id, masked
ID numbers, and model validation errors under the API's field names."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.fields import TextField
from clinic.exceptions import InvalidInput
from clinic.models import Department, Employee, Position
from clinic.privacy import mask_id_card, mask_phone


class DoctorField(serializers.SlugRelatedField):
    """A doctor named by staff code (emp_id), as in the clinic's original API."""

    default_error_messages = {
        "does_not_exist": _("No doctor has the staff code “{value}”."),
        "invalid": _("Enter a staff code such as D001."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("slug_field", "emp_id")
        if not kwargs.get("read_only"):
            kwargs.setdefault("queryset", Employee.objects.filter(position=Position.DOCTOR))
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Employee:
        if not isinstance(data, str) or not data.strip() or len(data) > 20:
            self.fail("invalid")
        return super().to_internal_value(data.strip())


class DepartmentField(serializers.PrimaryKeyRelatedField):
    """A department by id (`dept_id`): a JSON integer or a string of digits."""

    def __init__(self, **kwargs: Any) -> None:
        if "queryset" in kwargs or "pk_field" in kwargs:
            raise TypeError("DepartmentField reads any department by id: no queryset, no pk_field")
        if not kwargs.get("read_only"):
            kwargs["queryset"] = Department.objects.all()
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Department:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        try:
            pk = int(data)
        except ValueError:
            self.fail("incorrect_type", data_type=type(data).__name__)
        if not 0 < pk < 2**63:  # no such id, and beyond what the database compares
            self.fail("does_not_exist", pk_value=data)
        try:
            return Department.objects.get(pk=pk)
        except Department.DoesNotExist:
            self.fail("does_not_exist", pk_value=data)


@extend_schema_field(OpenApiTypes.STR)
class IdCardField(serializers.Field):
    """An ID number: masked (110***********1234) unless the serializer's context says
    `reveal_id_card` (a single object shown to staff)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance: Any) -> Any:
        # REST framework answers a None attribute with null without asking the field; the
        # schema promises a string, "" when a patient has no ID number.
        value = super().get_attribute(instance)
        return "" if value is None else value

    def to_representation(self, value: Any) -> str:
        if not value:
            return ""
        if self.context.get("reveal_id_card"):
            return str(value)
        return mask_id_card(str(value))


# Model field names in validation errors, as the API names them.
API_FIELD_NAMES = {"department": "dept_id", "room": "room_id", "doctor": "doctor_id"}


@extend_schema_field(OpenApiTypes.STR)
class MaskedPhoneField(serializers.Field):
    """A phone number as the doctor's pages show it: 138****5678."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        return mask_phone(str(value or ""))


class PhoneInputField(TextField):
    """A mobile number given to the API: what the schema says of it is what the site checks
    (clinic.validators)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault(
            "help_text",
            _(
                "A mainland mobile number: 11 digits starting with 1 (spaces, dashes and a "
                "leading +86 are ignored)."
            ),
        )
        super().__init__(**kwargs)


def model_errors(
    error: DjangoValidationError, field_map: dict[str, str] | None = None
) -> InvalidInput:
    """A model's full_clean() errors as the API's validation error, under the API's names
    (API_FIELD_NAMES unless `field_map` says otherwise)."""
    field_map = API_FIELD_NAMES if field_map is None else field_map
    if hasattr(error, "error_dict"):
        details = {
            ("non_field_errors" if field == "__all__" else field_map.get(field, field)): messages
            for field, messages in error.message_dict.items()
        }
    else:
        details = {"non_field_errors": error.messages}
    return InvalidInput(details=details)
