"""The base of every API view: query parameters through a serializer, lists through the
paginator. Each app's api.py builds on it and calls that app's model methods and services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from api.pagination import LimitOffsetPagination


class ClinicAPIView(GenericAPIView):
    pagination_class = LimitOffsetPagination

    def query_params(self, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
        """The query string, validated (400 with field details otherwise)."""
        serializer = serializer_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def body(self, serializer_class: type[serializers.Serializer], **kwargs: Any) -> dict[str, Any]:
        """The JSON body, validated (400 with field details otherwise)."""
        serializer = serializer_class(
            data=self.request.data, context=self.get_serializer_context(), **kwargs
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def paginated(
        self,
        items: Any,
        serializer_class: type[serializers.Serializer],
        **context: Any,
    ) -> Response:
        page = self.paginate_queryset(items)
        data = serializer_class(
            page, many=True, context={**self.get_serializer_context(), **context}
        ).data
        return self.get_paginated_response(data)

    def shaped(
        self,
        obj: Any,
        serializer_class: type[serializers.Serializer],
        *,
        status: int = 200,
        **context: Any,
    ) -> Response:
        data = serializer_class(obj, context={**self.get_serializer_context(), **context}).data
        return Response(data, status=status)
