"""API of the charges' reference data: the fee catalogue (read by the staff, written by the
administrators through clinic.catalogue), insurance plans and allergy classes (read)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from api.views import ClinicAPIView
from clinic.catalogue import save_fee_item
from clinic.catalogue_search import matching_fee_items
from clinic.models import AllergyClass, FeeItem, InsurancePlan
from clinic.roles import IsAdmin, IsStaff
from clinic.serializers import (
    AllergyClassSerializer,
    FeeItemFilterSerializer,
    FeeItemSerializer,
    InsurancePlanSerializer,
)

READ_METHODS = ("GET", "HEAD", "OPTIONS")


class StaffReadsAdminWrites(ClinicAPIView):
    """Staff read, administrators write (the service checks the manager's group too)."""

    def get_permissions(self) -> list[BasePermission]:
        if self.request.method in READ_METHODS:
            return [IsStaff()]
        return [IsAdmin()]


def _with_classes(items: QuerySet[FeeItem]) -> QuerySet[FeeItem]:
    return items.prefetch_related("allergy_classes")


class FeeItemListView(StaffReadsAdminWrites):
    @extend_schema(
        operation_id="catalogue_fee_items_list",
        parameters=[FeeItemFilterSerializer],
        responses={200: FeeItemSerializer(many=True)},
        description="Items whose code or name begins with `search` (codes first), else every "
        "item by category and code; filtered by category and active flag.",
    )
    def get(self, request: Request) -> Response:
        filters = self.validated_query(FeeItemFilterSerializer)
        items = FeeItem.objects.all()
        if filters.get("category"):
            items = items.filter(category=filters["category"])
        if filters.get("active") is not None:
            items = items.filter(is_active=filters["active"])
        items = matching_fee_items(filters.get("search"), queryset=items)
        return self.page_response(_with_classes(items), FeeItemSerializer)

    @extend_schema(
        operation_id="catalogue_fee_items_create",
        request=FeeItemSerializer,
        responses={201: FeeItemSerializer},
        description="Administrators: a new item, audited as fee_item.created.",
    )
    def post(self, request: Request) -> Response:
        data = self.validated_body(FeeItemSerializer)
        classes = data.pop("allergy_classes", None)
        item = save_fee_item(item=FeeItem(**data), by=request.user, allergy_classes=classes)
        return self.object_response(item, FeeItemSerializer, status=201)


class FeeItemDetailView(StaffReadsAdminWrites):
    @extend_schema(operation_id="catalogue_fee_items_read", responses={200: FeeItemSerializer})
    def get(self, request: Request, id: int) -> Response:
        return self.object_response(
            get_object_or_404(_with_classes(FeeItem.objects.all()), pk=id), FeeItemSerializer
        )

    @extend_schema(
        operation_id="catalogue_fee_items_update",
        request=FeeItemSerializer,
        responses={200: FeeItemSerializer},
        description="Administrators: replaces the item's fields (all of them are required; "
        "the code must be the item's own). Audited as fee_item.changed with the old and new "
        "values: the item's price history.",
    )
    def put(self, request: Request, id: int) -> Response:
        return self._update(request, id, partial=False)

    @extend_schema(
        operation_id="catalogue_fee_items_partial_update",
        request=FeeItemSerializer,
        responses={200: FeeItemSerializer},
        description="Administrators: changes the fields given; the code cannot change.",
    )
    def patch(self, request: Request, id: int) -> Response:
        return self._update(request, id, partial=True)

    def _update(self, request: Request, id: int, *, partial: bool) -> Response:
        item = get_object_or_404(FeeItem, pk=id)
        data: dict[str, Any] = self.validated_body(FeeItemSerializer, partial=partial)
        classes = data.pop("allergy_classes", None)
        for name, value in data.items():
            setattr(item, name, value)
        save_fee_item(item=item, by=request.user, allergy_classes=classes)
        item = FeeItem.objects.prefetch_related("allergy_classes").get(pk=item.pk)
        return self.object_response(item, FeeItemSerializer)


class InsurancePlanListView(ClinicAPIView):
    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="catalogue_insurance_plans_list",
        responses={200: InsurancePlanSerializer(many=True)},
        description="Every plan, active ones first; coverages in percent per insurance class.",
    )
    def get(self, request: Request) -> Response:
        plans = InsurancePlan.objects.order_by("-is_active", "name", "id")
        return self.page_response(plans, InsurancePlanSerializer)


class AllergyClassListView(ClinicAPIView):
    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="catalogue_allergy_classes_list",
        responses={200: AllergyClassSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return self.page_response(AllergyClass.objects.order_by("code"), AllergyClassSerializer)
