"""API of visits: arrivals at the desk (check-in, walk-in), the visit board and its moves, the
doctor's queue and consultation, and medical records (each read is an audit event)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from api.views import ClinicAPIView
from appointments.models import Appointment
from clinic.models import Patient
from clinic.roles import IsAdmin, IsDesk, IsDoctor
from clinic.search import patient_filter
from clinic.serializers import PatientSerializer
from visits.allergies import active_allergies, add_allergy, remove_allergy
from visits.charges import OrderResult, add_order, remove_order, update_order
from visits.exceptions import SettlementRequired
from visits.identity import correct_patient_details
from visits.models import Charge, PatientAllergy, Visit, VisitStatus
from visits.records import get_visit_for_records, readable_record_of, visits_of_doctor
from visits.selectors import get_visit_for_doctor
from visits.serializers import (
    VISIT_RELATIONS,
    AllergyInputSerializer,
    AllergySerializer,
    ChargeSerializer,
    CheckInSerializer,
    DoctorVisitSerializer,
    MedicalRecordInputSerializer,
    MedicalRecordSerializer,
    OrderInputSerializer,
    OrderResultSerializer,
    OrderUpdateSerializer,
    PatientCorrectionSerializer,
    QueueFilterSerializer,
    VisitFilterSerializer,
    VisitReportSerializer,
    VisitSearchSerializer,
    VisitSerializer,
    VisitStatisticsQuerySerializer,
    VisitStatusSerializer,
    WalkInSerializer,
    with_allergies,
)
from visits.services import (
    call_next,
    check_in,
    record_medical_record_view,
    register_walk_in,
    save_medical_record,
)
from visits.statistics import visit_statistics


def visits_with_relations() -> QuerySet[Visit]:
    return Visit.objects.select_related(*VISIT_RELATIONS)


def _refetch(visit: Visit) -> Visit:
    return visits_with_relations().get(pk=visit.pk)


class CheckInView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_checkin",
        request=CheckInSerializer,
        responses={201: VisitSerializer},
        description="The booked patient has arrived: the phone (and the ID number, whole or "
        "its last 4 characters, when the booking has one) must match, by the same rule as the "
        "desk's page. The booking becomes a waiting visit with a queue number.",
    )
    def post(self, request: Request, appt_id: int) -> Response:
        data = self.validated_body(CheckInSerializer)
        try:
            # The desk may check in any booking: the service reads it under its lock.
            visit = check_in(
                appointment_id=appt_id,
                phone=data["phone"],
                id_card=data["id_card"],
                by=request.user,
            )
        except Appointment.DoesNotExist:
            raise Http404 from None
        # Returned with its patient, department, doctor and room loaded: no second read.
        return self.object_response(visit, VisitSerializer, status=201, reveal_id_card=True)


class WalkInView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_register",
        request=WalkInSerializer,
        responses={201: VisitSerializer},
        description="A patient without a booking joins the queue of the slot running now.",
    )
    def post(self, request: Request) -> Response:
        data = self.validated_body(WalkInSerializer)
        visit = register_walk_in(
            by=request.user,
            department=data["dept_id"],
            name=data["name"],
            phone=data["phone"],
            id_card=data["id_card"],
            id_type=data["id_type"],
            gender=data["gender"],
            doctor=data.get("doctor_id"),
            insurance_plan=data.get("insurance_plan"),
        )
        # Returned with its patient, department, doctor and room loaded: no second read.
        return self.object_response(visit, VisitSerializer, status=201, reveal_id_card=True)


class DeskPatientView(ClinicAPIView):
    """A patient record corrected by the desk (the same service as the patient's desk page)."""

    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_patients_update",
        request=PatientCorrectionSerializer,
        responses={200: PatientSerializer},
        description="Corrects the fields given, validated as at registration (phone format, "
        "the resident ID's checksum, one record per ID number); audited as "
        "patient.details_corrected with the old and new values. Changing the ID number of a "
        "record an online account acts for needs id_document_seen (the number is then "
        "verified). insurance_plan: an active plan's id, or null for self-pay (a plan no longer "
        "offered is refused unless the record has it already). Nothing changed writes nothing.",
    )
    def patch(self, request: Request, id: int) -> Response:
        record = get_object_or_404(Patient, pk=id)
        data = self.validated_body(PatientCorrectionSerializer)
        seen = data.pop("id_document_seen", False)
        record = correct_patient_details(
            record=record, by=request.user, id_document_seen=seen, **data
        )
        return self.object_response(record, PatientSerializer, reveal_id_card=True)


class DeskVisitsView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_visits_list",
        parameters=[VisitFilterSerializer],
        responses={200: VisitSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        filters = self.validated_query(VisitFilterSerializer)
        visits = visits_with_relations().order_by("-visit_date", "schedule_id", "queue_number")
        if "date" in filters:
            visits = visits.filter(visit_date=filters["date"])
        if "dept_id" in filters:
            visits = visits.filter(department_id=filters["dept_id"])
        if "status" in filters:
            visits = visits.filter(status=filters["status"])
        return self.page_response(visits, VisitSerializer)


class DeskVisitStatusView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_visits_status",
        request=VisitStatusSerializer,
        responses={200: VisitSerializer},
        description="One step forward (in_consultation, awaiting_payment) or cancelled while "
        "waiting (left unseen). A visit becomes left only by payment.",
    )
    def put(self, request: Request, id: int) -> Response:
        visit = get_object_or_404(visits_with_relations(), pk=id)
        status = self.validated_body(VisitStatusSerializer)["status"]
        if status == VisitStatus.IN_CONSULTATION:
            visit.start_consultation(by=request.user)
        elif status == VisitStatus.AWAITING_PAYMENT:
            visit.finish_consultation(by=request.user)
        elif status == VisitStatus.CANCELLED:
            visit.leave_unseen(by=request.user)
        else:
            raise SettlementRequired(details={"from": visit.status, "to": VisitStatus.LEFT})
        return self.object_response(_refetch(visit), VisitSerializer, reveal_id_card=True)


class DoctorQueueView(ClinicAPIView):
    """Today's patients on the doctor's schedules, in queue order (the one order of
    call-next, the doctor's page and the waiting-room display)."""

    permission_classes = [IsDoctor]

    @extend_schema(
        operation_id="doctor_queue",
        parameters=[QueueFilterSerializer],
        responses={200: DoctorVisitSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        filters = self.validated_query(QueueFilterSerializer)
        visits = with_allergies(
            visits_with_relations()
            .filter(schedule__doctor_id=request.user.employee_id, visit_date=timezone.localdate())
            .in_queue_order()
        )
        if "status" in filters:
            visits = visits.filter(status=filters["status"])
        return self.page_response(visits, DoctorVisitSerializer)


class CallNextView(ClinicAPIView):
    permission_classes = [IsDoctor]

    @extend_schema(
        operation_id="doctor_call_next",
        request=None,
        responses={200: DoctorVisitSerializer},
        description="Calls the first waiting patient of today's schedules (409 queue_empty, "
        "or consultation_in_progress while one is still in consultation).",
    )
    def post(self, request: Request) -> Response:
        visit = call_next(by=request.user)
        return self.object_response(_refetch(visit), DoctorVisitSerializer)


class FinishConsultationView(ClinicAPIView):
    permission_classes = [IsDoctor]

    @extend_schema(
        operation_id="doctor_visits_finish",
        request=None,
        responses={200: DoctorVisitSerializer},
        description="Sends the patient to pay: only with a diagnosis in the visit's record "
        "(400 diagnosis_required otherwise, with details.diagnosis; nothing changes).",
    )
    def post(self, request: Request, id: int) -> Response:
        visit = get_object_or_404(visits_of_doctor(request.user), pk=id)
        visit.finish_consultation(by=request.user)
        return self.object_response(_refetch(visit), DoctorVisitSerializer)


class MedicalRecordView(ClinicAPIView):
    """A visit's medical record, as the rule of visits.records allows: a doctor reads the
    records of patients they are seeing or have seen and writes their own visit's on its day
    (doctor routes); an administrator reads and corrects any (admin routes). A visit whose
    record the caller may neither read nor write is a 404. Every read is an audit event;
    every write goes through the service, which enforces the rule."""

    permission_classes = [IsDoctor]

    def _visit(self, request: Request, id: int) -> Visit:
        return get_visit_for_records(request.user, id, relations=VISIT_RELATIONS)

    @extend_schema(
        operation_id="doctor_medical_record_get", responses={200: MedicalRecordSerializer}
    )
    def get(self, request: Request, id: int) -> Response:
        visit = self._visit(request, id)
        record = readable_record_of(request.user, visit)
        if record is None:
            raise NotFound(_("This visit has no medical record yet."))
        record_medical_record_view(record=record, by=request.user, request=request)
        return self.object_response(record, MedicalRecordSerializer)

    @extend_schema(
        operation_id="doctor_medical_record_put",
        request=MedicalRecordInputSerializer,
        responses={200: MedicalRecordSerializer},
        description="Creates or changes the record of the doctor's own visit, on the day of "
        "the visit, once the consultation has started (403 record_closed on a later day: "
        "corrections are an administrator's; 409 record_not_editable before the "
        "consultation). Fields left out keep their value.",
    )
    def put(self, request: Request, id: int) -> Response:
        visit = self._visit(request, id)
        fields = self.validated_body(MedicalRecordInputSerializer)
        record = save_medical_record(visit=visit, by=request.user, **fields)
        return self.object_response(record, MedicalRecordSerializer)


class AdminMedicalRecordView(MedicalRecordView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_medical_record_get", responses={200: MedicalRecordSerializer}
    )
    def get(self, request: Request, id: int) -> Response:
        return super().get(request, id)

    @extend_schema(
        operation_id="admin_medical_record_put",
        request=MedicalRecordInputSerializer,
        responses={200: MedicalRecordSerializer},
        description="Corrects the record of any visit whose consultation has started, on any "
        "day; audited as medical_record.corrected. Fields left out keep their value.",
    )
    def put(self, request: Request, id: int) -> Response:
        return super().put(request, id)


class AllergiesView(ClinicAPIView):
    """The active allergies of a visit's patient, and recording a new one: a doctor, on a
    visit of theirs they are seeing or have seen (404 otherwise)."""

    permission_classes = [IsDoctor]

    @extend_schema(
        operation_id="doctor_allergies_list", responses={200: AllergySerializer(many=True)}
    )
    def get(self, request: Request, id: int) -> Response:
        visit = get_visit_for_doctor(request.user, id)
        allergies = active_allergies(visit.patient).select_related("recorded_by", "allergy_class")
        return self.page_response(allergies, AllergySerializer)

    @extend_schema(
        operation_id="doctor_allergies_add",
        request=AllergyInputSerializer,
        responses={201: AllergySerializer},
        description="Records an allergy of the visit's patient (audited as allergy.added).",
    )
    def post(self, request: Request, id: int) -> Response:
        visit = get_visit_for_doctor(request.user, id)
        fields = self.validated_body(AllergyInputSerializer)
        allergy = add_allergy(patient=visit.patient, by=request.user, **fields)
        return self.object_response(allergy, AllergySerializer, status=201)


class AllergyView(ClinicAPIView):
    permission_classes = [IsDoctor]

    @extend_schema(
        operation_id="doctor_allergies_remove",
        responses={204: OpenApiResponse(description="Removed.")},
        description="Marks the allergy removed (the entry is kept; audited as allergy.removed).",
    )
    def delete(self, request: Request, id: int, allergy_id: int) -> Response:
        visit = get_visit_for_doctor(request.user, id)
        allergy = get_object_or_404(
            PatientAllergy.objects.active(), pk=allergy_id, patient_id=visit.patient_id
        )
        remove_allergy(allergy=allergy, by=request.user)
        return Response(status=204)


class AdminVisitSearchView(ClinicAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_visits_search",
        parameters=[VisitSearchSerializer],
        responses={200: VisitSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        filters = self.validated_query(VisitSearchSerializer)
        visits = visits_with_relations().order_by("-visit_date", "-check_in_time", "-id")
        if "start_date" in filters:
            visits = visits.filter(visit_date__gte=filters["start_date"])
        if "end_date" in filters:
            visits = visits.filter(visit_date__lte=filters["end_date"])
        if "dept_id" in filters:
            visits = visits.filter(department_id=filters["dept_id"])
        if filters.get("doctor_id"):
            visits = visits.filter(schedule__doctor__emp_id=filters["doctor_id"].strip())
        if "status" in filters:
            visits = visits.filter(status=filters["status"])
        visits = visits.filter(
            patient_filter(*VisitSearchSerializer.terms(filters), prefix="patient__")
        )
        return self.page_response(visits, VisitSerializer)


class VisitStatisticsView(ClinicAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_statistics_visits",
        parameters=[VisitStatisticsQuerySerializer],
        responses={200: VisitReportSerializer},
    )
    def get(self, request: Request) -> Response:
        query = self.validated_query(VisitStatisticsQuerySerializer)
        rows = visit_statistics(**query)
        report = {
            **query,
            "status": query.get("status"),
            "visit_count": sum(row["visit_count"] for row in rows),
            "results": rows,
        }
        return self.object_response(report, VisitReportSerializer)


# --- The doctor's orders --------------------------------------------------------------------------


def _doctor_visit(request: Request, id: int) -> Visit:
    """A visit on the doctor's own schedules (404 otherwise); whether it takes orders now is
    the service's decision (409 orders_frozen)."""
    return get_object_or_404(visits_of_doctor(request.user).select_related("patient"), pk=id)


def _charges_of(visit: Visit) -> QuerySet[Charge]:
    return Charge.objects.filter(visit=visit).select_related("ordered_by__employee").order_by("id")


def _order_response(view: ClinicAPIView, result: OrderResult, *, status: int = 200) -> Response:
    charge = result.charge
    charge.allergy_matches = result.allergy_matches
    return view.object_response(charge, OrderResultSerializer, status=status)


class OrdersView(ClinicAPIView):
    """The visit's charges (its registration fee and the doctor's orders), and a new order:
    the visit's doctor, while the patient is in consultation."""

    permission_classes = [IsDoctor]

    @extend_schema(operation_id="doctor_orders_list", responses={200: ChargeSerializer(many=True)})
    def get(self, request: Request, id: int) -> Response:
        visit = _doctor_visit(request, id)
        return self.page_response(_charges_of(visit), ChargeSerializer)

    @extend_schema(
        operation_id="doctor_orders_add",
        request=OrderInputSerializer,
        responses={201: OrderResultSerializer},
        description="Orders a fee item (audited as charge.ordered). A drug's quantity, left "
        "out, is computed from dose × frequency × days where the item says how many doses a "
        "unit holds. 409 orders_frozen once the consultation is finished; 409 "
        "allergy_warning, with details.allergy_matches, when the item matches an allergy of "
        "the patient and no allergy_override_reason is given; 400 with field errors "
        "otherwise. Nothing is written on a refusal.",
    )
    def post(self, request: Request, id: int) -> Response:
        visit = _doctor_visit(request, id)
        fields = self.validated_body(OrderInputSerializer)
        result = add_order(visit=visit, by=request.user, **fields)
        return _order_response(self, result, status=201)


class OrderView(ClinicAPIView):
    permission_classes = [IsDoctor]

    def _charge(self, request: Request, id: int, order_id: int) -> Charge:
        visit = _doctor_visit(request, id)
        return get_object_or_404(Charge, pk=order_id, visit=visit)

    @extend_schema(
        operation_id="doctor_orders_change",
        request=OrderUpdateSerializer,
        responses={200: OrderResultSerializer},
        description="Changes an order (fields left out keep their value; audited as "
        "charge.changed). The same rules and errors as ordering; the item and its price "
        "stay.",
    )
    def patch(self, request: Request, id: int, order_id: int) -> Response:
        charge = self._charge(request, id, order_id)
        fields = self.validated_body(OrderUpdateSerializer, partial=True)
        result = update_order(charge=charge, by=request.user, **fields)
        return _order_response(self, result)

    @extend_schema(
        operation_id="doctor_orders_remove",
        responses={204: OpenApiResponse(description="Removed.")},
        description="Takes an order back during the consultation (audited as "
        "charge.removed); 409 orders_frozen afterwards.",
    )
    def delete(self, request: Request, id: int, order_id: int) -> Response:
        charge = self._charge(request, id, order_id)
        remove_order(charge=charge, by=request.user)
        return Response(status=204)
