"""One format per kind of value, in both languages (issue 19, "Everywhere"): dates, times,
money, durations, people, departments and titles, the language picker, and ISO values in
every <input type="date">."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.template import Context, Template
from django.urls import reverse
from django.utils import formats, timezone, translation

from clinic.models import Department, department_name_in_language
from clinic.templatetags.clinic_format import format_minutes, format_money, person_name
from clinic.tests.factories import (
    AdminUserFactory,
    DepartmentFactory,
    DoctorFactory,
    DoctorUserFactory,
    PatientUserFactory,
    ReceptionistFactory,
)
from scheduling.tests.factories import ScheduleFactory
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

LANGUAGES = ["zh-hans", "en"]
DAY = dt.date(2026, 12, 6)
MOMENT = timezone.make_aware(dt.datetime(2026, 12, 6, 10, 48), timezone.get_default_timezone())


def render(text: str, **context) -> str:
    return Template("{% load clinic_format %}" + text).render(Context(context))


@pytest.mark.parametrize("language", LANGUAGES)
def test_dates_and_times_are_written_one_way_in_every_language(language):
    with translation.override(language), timezone.override(timezone.get_default_timezone()):
        assert render("{{ day|date }}", day=DAY) == "2026-12-06"
        assert render("{{ day }}", day=DAY) == "2026-12-06"
        assert render("{{ moment|time }}", moment=MOMENT) == "10:48"
        assert render('{{ moment|date:"DATETIME_FORMAT" }}', moment=MOMENT) == "2026-12-06 10:48"
        assert render('{{ moment|date:"SHORT_DATETIME_FORMAT" }}', moment=MOMENT) == (
            "2026-12-06 10:48"
        )
        assert render('{{ day|date:"SHORT_DATE_FORMAT" }}', day=DAY) == "2026-12-06"
        assert formats.get_format("DATE_INPUT_FORMATS")[0] == "%Y-%m-%d"


@pytest.mark.parametrize("language", LANGUAGES)
def test_money_is_written_one_way_in_every_language(language):
    with translation.override(language):
        assert render("{{ amount|money }}", amount=Decimal("1234.5")) == "¥1,234.50"
        assert format_money(Decimal("0")) == "¥0.00"
        assert format_money(Decimal("-12.345")) == "-¥12.35"
        assert format_money(36.5) == "¥36.50"
        assert format_money(None) == ""
        assert render("{{ amount|cell }}", amount=Decimal("1076.5")) == "¥1,076.50"
        assert render("{{ label|cell }}", label="Dr Wang (D001)") == "Dr Wang (D001)"


def test_a_duration_is_whole_minutes():
    with translation.override("en"):
        assert format_minutes(63) == "63 min"
        earlier = timezone.now() - dt.timedelta(minutes=63, seconds=20)
        assert render("{{ since|duration_since }}", since=earlier) == "63 min"
        assert render("{{ since|duration_since }}", since=None) == ""


@pytest.mark.django_db
def test_people_are_shown_by_their_name_never_their_username():
    doctor = DoctorUserFactory(username="dr_login", employee__name="Wang Jianguo")
    patient = PatientUserFactory(username="pt_login", patient__name="Zhang San")
    nameless = AdminUserFactory(username="manager", employee=None)
    full_name = AdminUserFactory(employee=None, first_name="Li", last_name="Na")
    assert person_name(doctor) == "Wang Jianguo"
    assert person_name(patient) == "Zhang San"
    assert person_name(doctor.employee) == "Wang Jianguo"
    assert person_name(full_name) == "Li Na"
    assert person_name(nameless) == "manager"  # an account with nothing else
    assert person_name(None) == ""
    assert render("{{ user|person }}", user=doctor) == "Wang Jianguo"


@pytest.mark.django_db
def test_departments_and_titles_have_english_names_with_a_chinese_fallback():
    named = DepartmentFactory(name="内科", name_en="Internal Medicine")
    unnamed = DepartmentFactory(name="中医科", name_en="")
    doctor = DoctorFactory(department=named, title="主治医师", title_en="Attending Physician")
    with translation.override("en"):
        assert named.display_name == str(named) == "Internal Medicine"
        assert unnamed.display_name == "中医科"
        assert doctor.display_title == "Attending Physician"
        rows = Department.objects.annotate(shown=department_name_in_language()).order_by("pk")
        assert [row.shown for row in rows] == ["Internal Medicine", "中医科"]
    with translation.override("zh-hans"):
        assert named.display_name == "内科"
        assert doctor.display_title == "主治医师"
        rows = Department.objects.annotate(shown=department_name_in_language()).order_by("pk")
        assert [row.shown for row in rows] == ["内科", "中医科"]


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_language_picker_names_each_language_in_its_own_name(client, language):
    client.force_login(ReceptionistFactory())
    html = client.get(reverse("visits:board"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    picker = html[html.index('id="language-select"') :]
    picker = picker[: picker.index("</select>")]
    assert '<option value="en" lang="en"' in picker and ">English</option>" in picker
    assert ">简体中文</option>" in picker
    assert "英语" not in picker and "Simplified Chinese" not in picker


@pytest.mark.django_db
def test_the_axes_section_of_django_admin_has_a_title_the_clinic_translates():
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.contrib import admin

    config = apps.get_app_config("axes")
    with translation.override("en"):
        assert str(config.verbose_name) == "Sign-in protection"
    # Their lists open on a MariaDB without time-zone tables too (no SQL date grouping).
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        assert admin.site.get_model_admin(model).date_hierarchy is None


@pytest.mark.django_db
def test_the_board_and_the_doctors_queue_write_a_wait_alike(client):
    doctor = DoctorUserFactory()
    schedule = ScheduleFactory(
        doctor=doctor.employee,
        department=doctor.employee.department,
        work_date=timezone.localdate(),
        max_patients=10,
    )
    VisitFactory(
        schedule=schedule,
        status=VisitStatus.WAITING,
        check_in_time=timezone.now() - dt.timedelta(minutes=64),
    )
    client.force_login(ReceptionistFactory())
    board = client.get(reverse("visits:board"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.force_login(doctor)
    queue = client.get(reverse("visits:doctor-queue"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Waiting 64 min" in board
    assert "waiting 64 min" in queue.content.decode()
    assert "hour" not in queue.content.decode()


# --- ISO values in every date input --------------------------------------------------------

DATE_INPUT = re.compile(r"<input\b[^>]*\btype=\"date\"[^>]*>")
VALUE = re.compile(r"\bvalue=\"([^\"]*)\"")


def date_values(html: str) -> list[str]:
    """The value of every <input type="date"> of the page ("" for one without a value)."""
    values = []
    for tag in DATE_INPUT.findall(html):
        found = VALUE.search(tag)
        values.append(found.group(1) if found else "")
    return values


@pytest.fixture
def date_pages(db):
    """Every page with a date input, signed in as the role that opens it, with a date chosen
    (query string) wherever the page does not choose one itself."""
    today = timezone.localdate().isoformat()
    desk, admin, patient = ReceptionistFactory(), AdminUserFactory(), PatientUserFactory()
    return [
        (desk, reverse("appointments:desk") + f"?date={today}"),
        (desk, reverse("appointments:phone-booking") + f"?date={today}"),
        (desk, reverse("billing:reports") + f"?start_date={today}&end_date={today}"),
        (patient, reverse("appointments:book") + f"?date={today}"),
        (admin, reverse("billing:statistics")),
        (admin, reverse("scheduling:planner")),
        (admin, reverse("scheduling:copy-week")),
        (admin, reverse("admin:visits_visit_changelist") + f"?visit_date__gte={today}"),
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_date_input_holds_an_iso_date_in_every_language(client, date_pages, language):
    iso = re.compile(r"\d{4}-\d{2}-\d{2}")
    for user, url in date_pages:
        client.force_login(user)
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
        values = date_values(response.content.decode())
        assert values, f"{url}: no date input"
        filled = [value for value in values if value]
        assert filled, f"{url}: no date input has a value"
        assert all(iso.fullmatch(value) for value in filled), f"{url}: {values}"


@pytest.mark.django_db
def test_django_admin_writes_money_dates_and_people_like_the_pages(client):
    from billing.tests.factories import BillFactory

    cashier = ReceptionistFactory(username="desk01", employee__name="Wu Fang")
    BillFactory(
        total_amount=Decimal("1234.50"),
        insurance_amount=Decimal("0.00"),
        cashier=cashier,
        pay_time=MOMENT,
    )
    client.force_login(AdminUserFactory())
    for language in LANGUAGES:
        html = client.get(
            reverse("admin:billing_bill_changelist"), HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
        assert "¥1,234.50" in html
        assert "2026-12-06 10:48" in html
        assert "Wu Fang" in html and ">desk01<" not in html


@pytest.mark.django_db
def test_the_search_results_next_steps_are_written_like_the_menu(client):
    from clinic.tests.factories import PatientFactory

    PatientFactory(name="Zhang San", phone="13912345678")
    client.force_login(ReceptionistFactory())
    html = client.get(
        reverse("visits:search"), {"q": "13912345678"}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Walk-in →" in html and "walk-in →" not in html


@pytest.mark.django_db
def test_django_admin_shows_who_wrote_a_record_by_name(client):
    from visits.tests.factories import MedicalRecordFactory

    doctor = DoctorUserFactory(username="dr_login", employee__name="Wang Jianguo")
    MedicalRecordFactory(updated_by=doctor)
    client.force_login(AdminUserFactory())
    html = client.get(
        reverse("admin:visits_medicalrecord_changelist"), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert '<td class="field-updated_by_name">Wang Jianguo</td>' in html
    assert "dr_login" not in html
