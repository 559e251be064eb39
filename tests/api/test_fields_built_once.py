"""FieldsBuiltOnce: fields built once per serializer class, each use with its own copies."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from rest_framework import serializers

from api.fields import FieldsBuiltOnce, IdCardField
from appointments.serializers import AppointmentSerializer, PatientBookingSerializer


class Person(FieldsBuiltOnce, serializers.Serializer):
    name = serializers.CharField(max_length=5)
    id_card = IdCardField()


def test_each_serializer_gets_its_own_bound_copies_of_one_set_of_fields():
    first, second = Person(), Person()
    assert first.fields["name"] is not second.fields["name"]
    assert first.fields["name"].parent is first
    assert second.fields["name"].parent is second
    # Built once: the class keeps unbound templates the copies come from.
    templates = Person.__dict__["_field_templates"]
    assert templates["name"].parent is None


def test_context_stays_with_its_serializer():
    person = {"name": "Li", "id_card": "110105194912310021"}
    assert Person(person, context={"reveal_id_card": True}).data["id_card"] == person["id_card"]
    assert Person(person).data["id_card"] != person["id_card"]


def test_validation_of_one_use_does_not_leak_into_the_next():
    bad = Person(data={"name": "much too long"})
    assert not bad.is_valid()
    good = Person(data={"name": "Li"})
    assert good.is_valid(), good.errors
    assert good.validated_data == {"name": "Li"}


def test_subclasses_build_their_own_fields():
    from appointments.serializers import PhoneBookingSerializer

    assert "phone" not in PatientBookingSerializer().fields
    assert "phone" in PhoneBookingSerializer().fields
    assert "phone" not in PatientBookingSerializer().fields


def test_model_serializers_keep_every_field():
    assert set(AppointmentSerializer().fields) == set(AppointmentSerializer.Meta.fields)


def test_nested_serializers_are_refused():
    class Nested(FieldsBuiltOnce, serializers.Serializer):
        people = Person(many=True)

    with pytest.raises(ImproperlyConfigured):
        Nested().fields  # noqa: B018
