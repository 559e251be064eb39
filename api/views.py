"""The base of every API view: query string and body validated through a serializer, answers
shaped by one, lists through the paginator. Each app's api.py builds on it and calls that
app's model methods and services."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from api.pagination import LimitOffsetPagination


class ClinicAPIView(GenericAPIView):
    pagination_class = LimitOffsetPagination

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        # Django's own request, for the few calls that need it rather than REST framework's
        # wrapper (authenticate() and logout(), which django-axes and the session act on).
        self.django_request = request
        return super().initialize_request(request, *args, **kwargs)

    def validated_query(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        """The query string, validated (400 with field details otherwise).

        A parameter given empty (`?status=`) is refused rather than read as "not given": a
        client that sent a filter must not receive the unfiltered list."""
        serializer = serializer_class(data=self.request.query_params)
        empty = {
            name: [_("Give a value, or leave the parameter out.")]
            for name, value in self.request.query_params.items()
            if name in serializer.fields and not value.strip()
        }
        if empty:
            raise ValidationError(empty)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def validated_body(
        self, serializer_class: type[serializers.Serializer], **kwargs: Any
    ) -> dict[str, Any]:
        """The JSON body, validated (400 with field details otherwise)."""
        serializer = serializer_class(
            data=self.request.data, context=self.get_serializer_context(), **kwargs
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def page_response(
        self,
        items: Any,
        serializer_class: type[serializers.Serializer],
        **context: Any,
    ) -> Response:
        """One page of `items` (?limit=, ?offset=), each shaped by `serializer_class`."""
        page = self.paginate_queryset(items)
        data = serializer_class(
            page, many=True, context={**self.get_serializer_context(), **context}
        ).data
        return self.get_paginated_response(data)

    def object_response(
        self,
        obj: Any,
        serializer_class: type[serializers.Serializer],
        *,
        status: int = 200,
        **context: Any,
    ) -> Response:
        """`obj` shaped by `serializer_class`."""
        data = serializer_class(obj, context={**self.get_serializer_context(), **context}).data
        return Response(data, status=status)
