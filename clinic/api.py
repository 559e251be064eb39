"""API of the core data: departments, rooms, staff and the patient search of the desk and the
administrators."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from api.views import ClinicAPIView
from clinic.fields import model_errors
from clinic.models import Department, Employee, Patient, Room
from clinic.roles import IsAdmin, IsDesk, IsSignedIn
from clinic.search import matching_patients
from clinic.serializers import (
    DepartmentSerializer,
    EmployeeFilterSerializer,
    EmployeeSerializer,
    EmployeeUpdateSerializer,
    PatientFilterSerializer,
    PatientSearchSerializer,
    PatientSerializer,
    RoomFilterSerializer,
    RoomSerializer,
)
from clinic.staff import save_employee, save_room


class DepartmentListView(ClinicAPIView):
    """Departments taking patients (reference data for every role)."""

    permission_classes = [IsSignedIn]

    @extend_schema(
        operation_id="patient_departments",
        responses={200: DepartmentSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        departments = Department.objects.filter(is_active=True).order_by("name", "id")
        return self.page_response(departments, DepartmentSerializer)


class RoomListView(ClinicAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_rooms_list",
        parameters=[RoomFilterSerializer],
        responses={200: RoomSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        filters = self.validated_query(RoomFilterSerializer)
        rooms = Room.objects.select_related("department").order_by("room_number", "id")
        if "dept_id" in filters:
            rooms = rooms.filter(department_id=filters["dept_id"])
        if "status" in filters:
            rooms = rooms.filter(status=filters["status"])
        return self.page_response(rooms, RoomSerializer)

    @extend_schema(
        operation_id="admin_rooms_create", request=RoomSerializer, responses={201: RoomSerializer}
    )
    def post(self, request: Request) -> Response:
        room = Room(**self.validated_body(RoomSerializer))
        try:
            save_room(room=room, by=request.user)
        except ValidationError as error:
            raise model_errors(error) from error
        return self.object_response(room, RoomSerializer, status=201)


class RoomDetailView(ClinicAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_rooms_update",
        request=RoomSerializer,
        responses={200: RoomSerializer},
        description="Replaces the room's fields (all of them are required).",
    )
    def put(self, request: Request, id: int) -> Response:
        return self._update(request, id, partial=False)

    @extend_schema(
        operation_id="admin_rooms_partial_update",
        request=RoomSerializer,
        responses={200: RoomSerializer},
        description="Changes the fields given; the others keep their value.",
    )
    def patch(self, request: Request, id: int) -> Response:
        return self._update(request, id, partial=True)

    def _update(self, request: Request, id: int, *, partial: bool) -> Response:
        room = get_object_or_404(Room.objects.select_related("department"), pk=id)
        for name, value in self.validated_body(RoomSerializer, partial=partial).items():
            setattr(room, name, value)
        try:
            save_room(room=room, by=request.user)
        except ValidationError as error:
            raise model_errors(error) from error
        return self.object_response(room, RoomSerializer)


class EmployeeListView(ClinicAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_employees_list",
        parameters=[EmployeeFilterSerializer],
        responses={200: EmployeeSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        filters = self.validated_query(EmployeeFilterSerializer)
        employees = Employee.objects.select_related("department").order_by("emp_id")
        if "dept_id" in filters:
            employees = employees.filter(department_id=filters["dept_id"])
        for name in ("position", "status"):
            if name in filters:
                employees = employees.filter(**{name: filters[name]})
        if filters.get("q"):
            employees = employees.filter(
                Q(name__icontains=filters["q"]) | Q(emp_id__icontains=filters["q"])
            )
        return self.page_response(employees, EmployeeSerializer)

    @extend_schema(
        operation_id="admin_employees_create",
        request=EmployeeSerializer,
        responses={201: EmployeeSerializer},
    )
    def post(self, request: Request) -> Response:
        employee = Employee(**self.validated_body(EmployeeSerializer))
        try:
            save_employee(employee=employee, by=request.user)
        except ValidationError as error:
            raise model_errors(error) from error
        return self.object_response(employee, EmployeeSerializer, status=201)


class EmployeeDetailView(ClinicAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_employees_update",
        request=EmployeeUpdateSerializer,
        responses={200: EmployeeSerializer},
        description="Replaces the employee's fields (all of them are required); the staff "
        "code never changes.",
    )
    def put(self, request: Request, emp_id: str) -> Response:
        return self._update(request, emp_id, partial=False)

    @extend_schema(
        operation_id="admin_employees_partial_update",
        request=EmployeeUpdateSerializer,
        responses={200: EmployeeSerializer},
        description="Changes the fields given; the others keep their value.",
    )
    def patch(self, request: Request, emp_id: str) -> Response:
        return self._update(request, emp_id, partial=True)

    def _update(self, request: Request, emp_id: str, *, partial: bool) -> Response:
        employee = get_object_or_404(Employee.objects.select_related("department"), emp_id=emp_id)
        for name, value in self.validated_body(EmployeeUpdateSerializer, partial=partial).items():
            setattr(employee, name, value)
        try:
            save_employee(employee=employee, by=request.user)
        except ValidationError as error:
            raise model_errors(error) from error
        return self.object_response(employee, EmployeeSerializer)


def search_patients(filters: dict[str, Any]) -> QuerySet[Patient]:
    """Patients by the one search rule (clinic.search), in the order of the index it reads."""
    patients = matching_patients(PatientSearchSerializer.terms(filters))
    if filters.get("id_type"):
        patients = patients.filter(id_type=filters["id_type"])
    return patients


# The order of the index the search reads: a page of matches without sorting them all.
PATIENT_LIST_ORDER = "Ordered by name; by phone when a phone is given; by ID number when one is."


class DeskPatientSearchView(ClinicAPIView):
    """Patients by name, phone or ID number; ID numbers masked."""

    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_patients",
        parameters=[PatientFilterSerializer],
        responses={200: PatientSerializer(many=True)},
        description=PATIENT_LIST_ORDER,
    )
    def get(self, request: Request) -> Response:
        return self.page_response(
            search_patients(self.validated_query(PatientFilterSerializer)), PatientSerializer
        )


class AdminPatientSearchView(DeskPatientSearchView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_patients_search",
        parameters=[PatientFilterSerializer],
        responses={200: PatientSerializer(many=True)},
        description=PATIENT_LIST_ORDER,
    )
    def get(self, request: Request) -> Response:
        return super().get(request)
