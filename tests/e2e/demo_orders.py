"""The demo doctor's consultation with charges (issue 20), for the screenshots and the
accessibility check: the registration fee of the doctor's rank, two drugs and a blood test
ordered through the services, the patient on the urban employees' plan."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils import timezone

from clinic.models import FeeItem, InsurancePlan
from visits.charges import add_order, add_registration_charge
from visits.models import Visit, VisitStatus
from visits.services import finish_consultation_with_record

DOCTOR_USERNAME = "doctor"  # the demo's D001


def order_in_the_demo_consultation() -> Visit:
    """The demo doctor's visit in consultation, with its charges. Call after seed_demo."""
    doctor = get_user_model().objects.get(username=DOCTOR_USERNAME)
    visit = Visit.objects.select_related("schedule__doctor", "patient").get(
        status=VisitStatus.IN_CONSULTATION,
        schedule__doctor__user=doctor,
        visit_date=timezone.localdate(),
    )
    visit.patient.insurance_plan = InsurancePlan.objects.get(name="城镇职工")
    visit.patient.save(update_fields=["insurance_plan"])
    if not visit.charges.exists():
        add_registration_charge(visit, doctor=visit.schedule.doctor, by=doctor)
    item = FeeItem.objects.get
    add_order(visit=visit, by=doctor, fee_item=item(code="YP005"), dose="1", frequency="bid",
              days="3", usage="口服，饭后")  # fmt: skip
    add_order(visit=visit, by=doctor, fee_item=item(code="YP009"), dose="1", frequency="qd",
              days="7", usage="口服")  # fmt: skip
    add_order(visit=visit, by=doctor, fee_item=item(code="JY001"), quantity="1")
    return visit


def finish_the_demo_consultation(visit: Visit) -> None:
    """Its record written and the patient sent to pay: the orders become a bill to settle."""
    doctor = get_user_model().objects.get(username=DOCTOR_USERNAME)
    finish_consultation_with_record(
        visit=visit,
        by=doctor,
        chief_complaint="发热、咽痛 2 天",
        diagnosis="急性扁桃体炎",
        plan="多饮水，注意休息",
    )
