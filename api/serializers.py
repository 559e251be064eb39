"""The base of the apps' model serializers: model text columns are read by api.fields'
TextField (a number where the schema says string is refused, not turned into text)."""

from __future__ import annotations

from django.db import models
from rest_framework import serializers

from api.fields import TextField


class ModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        models.CharField: TextField,
        models.TextField: TextField,
    }
