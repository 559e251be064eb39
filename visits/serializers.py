"""API shapes of visits, arrivals (check-in, walk-in) and medical records."""

from __future__ import annotations

from typing import Any

from django.db.models import Manager, Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.fields import AmountField, BoundedDateField, IdField, LabelField, TextField
from api.serializers import ModelSerializer
from appointments.serializers import WindowSerializer
from clinic.fields import (
    DepartmentField,
    DoctorField,
    IdCardField,
    MaskedPhoneField,
    PhoneInputField,
)
from clinic.models import Gender, IdType, InsurancePlan
from clinic.serializers import (
    PatientSearchSerializer,
    StatisticsGroupSerializer,
    StatisticsQuerySerializer,
)
from clinic.statistics import GROUP_BY_CHOICES
from scheduling.models import TimeSlot
from visits.allergies import REACTION_MAX, SUBSTANCE_MAX
from visits.charges import NOTE_MAX, REASON_MAX, USAGE_MAX, charge_amount
from visits.models import (
    RECORD_PARTS,
    AllergySeverity,
    Charge,
    Frequency,
    MedicalRecord,
    PatientAllergy,
    Visit,
    VisitStatus,
)
from visits.waits import attach_expected_waits

VISIT_RELATIONS = ("patient", "department", "schedule__doctor", "schedule__room", "window")


class ExpectedWaitSerializer(serializers.Serializer):
    """A waiting patient's expected wait (visits.waits), a range in minutes rounded to 5."""

    low_minutes = serializers.IntegerField(read_only=True)
    high_minutes = serializers.IntegerField(read_only=True)


class VisitListSerializer(serializers.ListSerializer):
    """A list of visits: the expected waits of all of them from one set of queries."""

    def to_representation(self, data: Any) -> list[dict]:
        visits = list(data.all() if isinstance(data, Manager) else data)
        attach_expected_waits(visits)
        return super().to_representation(visits)


# Medical record texts: generous, and within a TEXT column even in four-byte characters.
RECORD_TEXT_MAX = 10_000


class VisitSerializer(ModelSerializer):
    appointment_id = serializers.IntegerField(read_only=True, allow_null=True)
    patient_id = serializers.IntegerField(read_only=True)
    patient_name = TextField(source="patient.name", read_only=True)
    phone = TextField(source="patient.phone", read_only=True)
    id_card = IdCardField(source="patient.id_card")
    dept_id = serializers.IntegerField(source="department_id", read_only=True)
    dept_name = TextField(source="department.name", read_only=True)
    schedule_id = serializers.IntegerField(read_only=True)
    doctor_id = TextField(source="schedule.doctor.emp_id", read_only=True)
    doctor_name = TextField(source="schedule.doctor.name", read_only=True)
    room_number = TextField(source="schedule.room.room_number", read_only=True)
    time_slot = serializers.ChoiceField(
        source="schedule.time_slot", choices=TimeSlot.choices, read_only=True
    )
    window = WindowSerializer(
        read_only=True,
        help_text=_(
            "The booking window the visit's place is held in (the walk-in's: the one it took)."
        ),
    )
    arrived_late = serializers.BooleanField(
        read_only=True,
        help_text=_(
            "The patient checked in after their booking's window ended: they queue after the "
            "window running then."
        ),
    )
    status_label = LabelField(source="status")
    allowed_transitions = serializers.SerializerMethodField()
    expected_wait = serializers.SerializerMethodField()

    class Meta:
        model = Visit
        list_serializer_class = VisitListSerializer
        fields = [
            "id",
            "appointment_id",
            "patient_id",
            "patient_name",
            "phone",
            "id_card",
            "dept_id",
            "dept_name",
            "schedule_id",
            "doctor_id",
            "doctor_name",
            "room_number",
            "time_slot",
            "window",
            "arrived_late",
            "queue_number",
            "status",
            "status_label",
            "allowed_transitions",
            "expected_wait",
            "visit_date",
            "check_in_time",
            "called_at",
            "finished_at",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(
        serializers.ListField(child=serializers.ChoiceField(choices=VisitStatus.choices))
    )
    def get_allowed_transitions(self, visit: Visit) -> list[str]:
        return sorted(visit.allowed_transitions())

    @extend_schema_field(ExpectedWaitSerializer(allow_null=True))
    def get_expected_wait(self, visit: Visit) -> dict[str, int] | None:
        """While the visit waits today: its expected wait; otherwise, or without any basis
        for an estimate, null."""
        if not hasattr(visit, "expected_wait"):
            attach_expected_waits([visit])
        return visit.expected_wait.as_dict() if visit.expected_wait is not None else None


class AllergySerializer(ModelSerializer):
    """One of the patient's active allergies."""

    recorded_by = TextField(source="recorded_by.display_name", read_only=True)
    allergy_class = TextField(
        source="allergy_class.code", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = PatientAllergy
        fields = [
            "id",
            "substance",
            "allergy_class",
            "reaction",
            "severity",
            "recorded_at",
            "recorded_by",
        ]
        read_only_fields = fields


class DoctorVisitSerializer(VisitSerializer):
    """A visit as the doctor's routes answer it: the phone masked, as on the doctor's
    pages (the doctor calls the patient in, never on the phone), with the patient's active
    allergies (prefetched as `patient.active_allergies` by the lists: with_allergies())."""

    phone = MaskedPhoneField(source="patient.phone")
    allergies = serializers.SerializerMethodField()

    class Meta(VisitSerializer.Meta):
        fields = [*VisitSerializer.Meta.fields, "allergies"]
        read_only_fields = fields

    @extend_schema_field(AllergySerializer(many=True))
    def get_allergies(self, visit: Visit) -> list[dict]:
        allergies = getattr(visit.patient, "active_allergies", None)
        if allergies is None:
            allergies = (
                PatientAllergy.objects.active()
                .filter(patient_id=visit.patient_id)
                .select_related("allergy_class")
            )
        return AllergySerializer(allergies, many=True).data


class VisitFilterSerializer(serializers.Serializer):
    date = BoundedDateField(required=False, help_text=_("The visit date."))
    dept_id = IdField(required=False)
    status = serializers.ChoiceField(choices=VisitStatus.choices, required=False)


class VisitSearchSerializer(PatientSearchSerializer):
    start_date = BoundedDateField(required=False)
    end_date = BoundedDateField(required=False)
    dept_id = IdField(required=False)
    doctor_id = TextField(required=False, max_length=20, help_text=_("Staff code."))
    status = serializers.ChoiceField(choices=VisitStatus.choices, required=False)

    def validate(self, attrs: dict) -> dict:
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end and start > end:
            raise serializers.ValidationError(
                {"end_date": [_("The end date comes before the start date.")]}
            )
        return attrs


class QueueFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=VisitStatus.choices, required=False)


# What the desk may ask for; `left` is refused by the visit: only a settlement leaves.
DESK_VISIT_MOVES = (
    VisitStatus.IN_CONSULTATION,
    VisitStatus.AWAITING_PAYMENT,
    VisitStatus.CANCELLED,
    VisitStatus.LEFT,
)


class VisitStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[(s.value, s.label) for s in DESK_VISIT_MOVES])


class CheckInSerializer(serializers.Serializer):
    phone = PhoneInputField()
    id_card = TextField(
        max_length=32,
        required=False,
        allow_blank=True,
        default="",
        help_text=_(
            "When the booking has an ID number: that number, or its last 4 characters (any "
            "case). On a booking without one, a whole ID number given is kept on the "
            "patient's record."
        ),
    )


class WalkInSerializer(serializers.Serializer):
    name = TextField(max_length=50)
    phone = PhoneInputField()
    dept_id = DepartmentField()
    gender = serializers.ChoiceField(
        choices=Gender.choices, required=False, allow_blank=True, default=""
    )
    id_type = serializers.ChoiceField(choices=IdType.choices, default=IdType.RESIDENT_ID)
    id_card = TextField(max_length=32, required=False, allow_blank=True, default="")
    doctor_id = DoctorField(
        required=False, allow_null=True, help_text=_("Staff code; any doctor when left out.")
    )
    insurance_plan = serializers.PrimaryKeyRelatedField(
        queryset=InsurancePlan.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text=_(
            "A new patient record's plan (an active plan's id; null: self-pay). An existing "
            "record keeps its own: change it with PATCH /api/receptionist/patients/{id}."
        ),
    )


class PatientCorrectionSerializer(serializers.Serializer):
    """The desk's correction of a patient record: only the fields given change."""

    name = TextField(required=False, max_length=50)
    phone = PhoneInputField(required=False)
    gender = serializers.ChoiceField(choices=Gender.choices, required=False, allow_blank=True)
    # Not the API's 2000–2099 range of clinic dates: a birth date follows the patient's
    # own rule (Patient.clean: from 1900 to today), a field error otherwise.
    birth_date = serializers.DateField(
        required=False,
        allow_null=True,
        help_text=_("Taken from a resident ID number when the record has one."),
    )
    id_type = serializers.ChoiceField(choices=IdType.choices, required=False)
    id_card = TextField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=32,
        help_text=_("From the ID document; blank or null takes the number off."),
    )
    insurance_plan = serializers.PrimaryKeyRelatedField(
        queryset=InsurancePlan.objects.all(),
        required=False,
        allow_null=True,
        help_text=_("An active plan's id; null: self-pay."),
    )
    id_document_seen = serializers.BooleanField(
        required=False,
        default=False,
        help_text=_(
            "The desk has seen the ID document: needed to change the ID number of a record "
            "an online account acts for (the number is then verified)."
        ),
    )


class AllergyInputSerializer(serializers.Serializer):
    substance = TextField(max_length=SUBSTANCE_MAX)
    reaction = TextField(required=False, allow_blank=True, default="", max_length=REACTION_MAX)
    severity = serializers.ChoiceField(
        choices=AllergySeverity.choices, default=AllergySeverity.MODERATE
    )
    allergy_class = IdField(
        required=False,
        allow_null=True,
        default=None,
        help_text=_("Optional: the drug class (allergy class id) the substance is."),
    )


class MedicalRecordSerializer(ModelSerializer):
    """The outpatient record, with the patient's active allergies (the patient's, not the
    record's: shown at the top of every record)."""

    visit_id = serializers.IntegerField(read_only=True)
    diagnosis_code = TextField(
        source="diagnosis_code.code", read_only=True, default=None, allow_null=True
    )
    updated_by = TextField(
        source="updated_by.username", read_only=True, default=None, allow_null=True
    )
    allergies = serializers.SerializerMethodField()

    class Meta:
        model = MedicalRecord
        fields = [
            "visit_id",
            *RECORD_PARTS,
            "diagnosis_code",
            "allergies",
            "updated_at",
            "updated_by",
        ]
        read_only_fields = fields

    @extend_schema_field(AllergySerializer(many=True))
    def get_allergies(self, record: MedicalRecord) -> list[dict]:
        allergies = (
            PatientAllergy.objects.active()
            .filter(patient_id=record.visit.patient_id)
            .select_related("allergy_class")
        )
        return AllergySerializer(allergies.select_related("recorded_by"), many=True).data


def with_allergies(visits):
    """Visits with their patients' active allergies in one more query (the doctor's lists)."""
    return visits.prefetch_related(
        Prefetch(
            "patient__allergies",
            queryset=PatientAllergy.objects.active()
            .select_related("recorded_by", "allergy_class")
            .order_by("recorded_at", "id"),
            to_attr="active_allergies",
        )
    )


def _record_text() -> TextField:
    return TextField(required=False, allow_blank=True, max_length=RECORD_TEXT_MAX)


class MedicalRecordInputSerializer(serializers.Serializer):
    """Fields left out keep their value. `diagnosis_code` is a code of the diagnosis
    catalogue ("" for none); with no diagnosis text, the catalogue's name is written."""

    chief_complaint = _record_text()
    present_illness = _record_text()
    past_history = _record_text()
    physical_exam = _record_text()
    diagnosis = _record_text()
    diagnosis_code = TextField(required=False, allow_blank=True, max_length=20)
    plan = _record_text()

    def validate(self, attrs: dict) -> dict:
        """A field that is not a part of the record is refused, not ignored: a client still
        sending the parts of before (treatment, prescription, note) learns it was not saved."""
        given = self.initial_data if isinstance(self.initial_data, dict) else {}
        unknown = sorted(set(given) - set(self.fields))
        if unknown:
            message = _("Not a part of the record; its parts are: %(parts)s.") % {
                "parts": ", ".join(self.fields)
            }
            raise serializers.ValidationError({name: [message] for name in unknown})
        return attrs


# --- Statistics ---------------------------------------------------------------------------


class VisitStatisticsQuerySerializer(StatisticsQuerySerializer):
    status = serializers.ChoiceField(choices=VisitStatus.choices, required=False)


class VisitStatusCountsSerializer(serializers.Serializer):
    waiting = serializers.IntegerField()
    in_consultation = serializers.IntegerField()
    awaiting_payment = serializers.IntegerField()
    left = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class VisitRowSerializer(StatisticsGroupSerializer):
    visit_count = serializers.IntegerField()
    patient_count = serializers.IntegerField()
    by_status = VisitStatusCountsSerializer()


class VisitReportSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    group_by = serializers.ChoiceField(choices=GROUP_BY_CHOICES)
    status = serializers.ChoiceField(choices=VisitStatus.choices, allow_null=True)
    visit_count = serializers.IntegerField()
    results = VisitRowSerializer(many=True)


# --- Charges and the doctor's orders -----------------------------------------------------------


class ChargeSerializer(ModelSerializer):
    """One of a visit's charges (the registration fee or an order), with its amount
    (quantity × unit price, to the cent). Prices are the ones copied when it was made."""

    fee_item_id = serializers.IntegerField(read_only=True)
    kind_label = LabelField(source="kind")
    category_label = LabelField(source="category")
    unit_price = AmountField(read_only=True)
    quantity = AmountField(read_only=True)
    dose = AmountField(read_only=True, allow_null=True)
    amount = serializers.SerializerMethodField()
    ordered_by = TextField(
        source="ordered_by.display_name", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = Charge
        fields = [
            "id",
            "visit_id",
            "kind",
            "kind_label",
            "fee_item_id",
            "code",
            "name",
            "category",
            "category_label",
            "unit",
            "unit_price",
            "insurance_class",
            "quantity",
            "amount",
            "dose",
            "dose_unit",
            "frequency",
            "days",
            "usage",
            "note",
            "allergy_warning",
            "allergy_override_reason",
            "ordered_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(AmountField())
    def get_amount(self, charge: Charge) -> str:
        return str(charge_amount(charge))


class OrderResultSerializer(ChargeSerializer):
    """An order as written, with what it matched of the patient's allergies (ordered with
    the reason given)."""

    allergy_matches = serializers.SerializerMethodField()

    class Meta(ChargeSerializer.Meta):
        fields = [*ChargeSerializer.Meta.fields, "allergy_matches"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allergy_matches(self, charge: Charge) -> list[str]:
        return list(getattr(charge, "allergy_matches", []))


class OrderUpdateSerializer(serializers.Serializer):
    """What a doctor changes in an order (fields left out keep their value). Bounds are the
    service's (visits.charges), reported per field."""

    quantity = AmountField(
        required=False,
        allow_null=True,
        help_text=_("Left out or null: computed from dose × frequency × days where it can be."),
    )
    dose = AmountField(required=False, allow_null=True)
    frequency = serializers.ChoiceField(choices=Frequency.choices, required=False, allow_blank=True)
    days = serializers.IntegerField(required=False, allow_null=True)
    usage = TextField(required=False, allow_blank=True, max_length=USAGE_MAX)
    note = TextField(required=False, allow_blank=True, max_length=NOTE_MAX)
    allergy_override_reason = TextField(
        required=False,
        allow_blank=True,
        max_length=REASON_MAX,
        help_text=_("Required when the item matches one of the patient's allergies."),
    )


class OrderInputSerializer(OrderUpdateSerializer):
    fee_item = IdField(help_text=_("The fee item's id (GET /api/catalogue … or the search)."))
