from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters, ShowFacets
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from clinic.admin_utils import (
    CsvImportAdminMixin,
    ReadOnlyModelAdmin,
    ServiceAdminMixin,
    audit_trail_link,
)
from clinic.audit import action_label
from clinic.exports import csv_response
from clinic.models import AuditEvent, Employee, Position, Room
from clinic.search import PATIENT_SEARCH_HELP, parse_term, patient_filter, prefix_lookup
from clinic.templatetags.clinic_format import person_name
from visits.charges import charge_amount, correct_charge
from visits.diagnoses import (
    catalogue_csv_rows,
    import_catalogue,
    save_catalogue_entry,
)
from visits.displays import create_display_token, revoke_display_token
from visits.models import (
    Charge,
    DiagnosisCatalogue,
    DisplayToken,
    MedicalRecord,
    PatientAllergy,
    Visit,
)
from visits.records import records_readable_by
from visits.search import VISIT_SEARCH_HELP, visit_filter
from visits.services import record_medical_record_view


class DateRangeFilter(admin.FieldListFilter):
    """From and to (both inclusive) on a date, typed into two date inputs.

    The parameters are `<path>__gte` and `<path>__lte` with ISO dates, so that any page can
    link to a range. Filters on the stored date itself: no time-zone conversion in SQL.
    """

    template = "billing/admin/date_range_filter.html"

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.lookup_since = f"{field_path}__gte"
        self.lookup_until = f"{field_path}__lte"
        super().__init__(field, request, params, model, model_admin, field_path)
        self.since = self._date(self.lookup_since)
        self.until = self._date(self.lookup_until)

    def _date(self, parameter: str) -> dt.date | None:
        value = self.used_parameters.get(parameter)
        if isinstance(value, list):
            value = value[-1] if value else None
        if not value:
            return None
        try:
            return dt.date.fromisoformat(value)
        except (TypeError, ValueError) as error:
            raise IncorrectLookupParameters(error) from error

    def expected_parameters(self) -> list[str]:
        return [self.lookup_since, self.lookup_until]

    def range_filter(self) -> Q:
        found = Q()
        if self.since:
            found &= Q(**{f"{self.field_path}__gte": self.since})
        if self.until:
            found &= Q(**{f"{self.field_path}__lte": self.until})
        return found

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(self.range_filter())

    def get_facet_counts(self, pk_attname: str, filtered_qs: QuerySet) -> dict:
        return {}

    def choices(self, changelist) -> Any:
        own = set(self.expected_parameters())
        yield {
            "selected": bool(self.since or self.until),
            "since_name": self.lookup_since,
            "until_name": self.lookup_until,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            # The list's other filters and its search travel with the form; the page
            # number does not (the range changes the pages).
            "hidden": [
                (name, value)
                for name, values in self.request.GET.lists()
                if name not in own and name not in ("p", "e")
                for value in values
            ],
            "clear_url": changelist.get_query_string(remove=[*own, "p"]),
        }


class LocalDateRangeFilter(DateRangeFilter):
    """The same inputs on a timestamp: clinic-local days, turned into aware bounds here, so
    that the database compares timestamps on their index (no conversion in SQL)."""

    def range_filter(self) -> Q:
        found = Q()
        tz = timezone.get_default_timezone()
        if self.since:
            start = timezone.make_aware(dt.datetime.combine(self.since, dt.time.min), tz)
            found &= Q(**{f"{self.field_path}__gte": start})
        if self.until:
            end = timezone.make_aware(
                dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time.min), tz
            )
            found &= Q(**{f"{self.field_path}__lt": end})
        return found


class DoctorFilter(admin.SimpleListFilter):
    """Doctors by name and staff code (a few dozen at a clinic). `doctor_path` reaches the
    doctor's id from the listed model."""

    title = _("doctor")
    parameter_name = "doctor"
    doctor_path = "schedule__doctor_id"

    def lookups(self, request, model_admin):
        doctors = Employee.objects.filter(position=Position.DOCTOR).order_by("emp_id")
        return [
            (str(pk), f"{name} ({emp_id})")
            for pk, name, emp_id in doctors.values_list("pk", "name", "emp_id")
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            raise IncorrectLookupParameters
        return queryset.filter(**{self.doctor_path: value})


class RoomFilter(admin.SimpleListFilter):
    title = _("room")
    parameter_name = "room"
    room_path = "schedule__room_id"

    def lookups(self, request, model_admin):
        rooms = Room.objects.order_by("room_number").values_list("pk", "room_number")
        return [(str(pk), number) for pk, number in rooms]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            raise IncorrectLookupParameters
        return queryset.filter(**{self.room_path: value})


class ChargeInline(admin.TabularInline):
    """The visit's charges, read-only (corrected one by one: Charges)."""

    model = Charge
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("kind", "code", "name", "quantity", "unit", "unit_price", "amount", "ordered_by")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("amount"))
    def amount(self, obj: Charge) -> str:
        return str(charge_amount(obj))


@admin.register(Visit)
class VisitAdmin(ReadOnlyModelAdmin):
    list_display = (
        "visit_date",
        "queue_number",
        "patient",
        "department",
        "doctor",
        "room",
        "status",
        "check_in_time",
    )
    list_filter = (
        "status",
        "department",
        DoctorFilter,
        RoomFilter,
        ("visit_date", DateRangeFilter),
    )
    # A year of a busy clinic is a million visits. The page's 50 rows are read alone,
    # newest first along the primary key, and their relations fetched by id afterwards
    # (one query each): joined in one statement, MariaDB would start from a small table
    # and sort the whole join (seconds). No facet counts, no second COUNT(*), and date
    # ranges instead of a date hierarchy (which scans every date for its years).
    list_select_related = ()
    list_prefetch_related = ("patient", "department", "schedule__doctor", "schedule__room")
    ordering = ("-id",)
    # The box shows because search_fields is set; what it finds is visits.search.visit_filter.
    search_fields = ("patient__name", "patient__phone", "patient__id_card")
    search_help_text = VISIT_SEARCH_HELP
    show_facets = ShowFacets.NEVER
    show_full_result_count = False
    inlines = [ChargeInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(*self.list_prefetch_related)

    def get_search_results(self, request, queryset, search_term):
        return queryset.filter(visit_filter(search_term)), False

    @admin.display(description=_("doctor"))
    def doctor(self, obj: Visit) -> str:
        return obj.schedule.doctor.name

    @admin.display(description=_("room"))
    def room(self, obj: Visit) -> str:
        return obj.schedule.room.room_number


@admin.register(MedicalRecord)
class MedicalRecordAdmin(ReadOnlyModelAdmin):
    """Records are read here, one at a time, and every opening is an audit event; the list
    shows no record content. What is listed and opened is what the record rule
    (visits.records) lets the signed-in user read. Corrections go through their own page
    (visits:record-correct), which saves through the service and audits the change as a
    correction."""

    list_display = ("visit", "doctor", "updated_at", "updated_by_name")
    list_select_related = (
        "visit__patient",
        "visit__schedule__doctor",
        # By name (clinic_format.person_name): a staff record, or a patient's for others.
        "updated_by__employee",
        "updated_by__patient",
    )
    # As for visits: the box shows because search_fields is set; get_search_results finds.
    search_fields = ("visit__patient__name", "visit__patient__phone", "visit__patient__id_card")
    search_help_text = VISIT_SEARCH_HELP
    date_hierarchy = "visit__visit_date"
    fields = (
        "visit",
        "chief_complaint",
        "present_illness",
        "past_history",
        "physical_exam",
        "diagnosis",
        "diagnosis_code",
        "plan",
        "updated_at",
        "updated_by",
        "correction",
        "audit_trail",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[MedicalRecord]:
        return records_readable_by(request.user)

    def get_search_results(self, request, queryset, search_term):
        return queryset.filter(visit_filter(search_term, prefix="visit__")), False

    @admin.display(description=_("doctor"))
    def doctor(self, obj: MedicalRecord) -> str:
        return obj.visit.schedule.doctor.name

    @admin.display(description=_("correction"))
    def correction(self, obj: MedicalRecord) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("visits:record-correct", args=[obj.pk]),
            _("Correct this record"),
        )

    @admin.display(description=_("updated by"), ordering="updated_by__username")
    def updated_by_name(self, obj: MedicalRecord) -> str:
        return person_name(obj.updated_by) or "—"

    @admin.display(description=_("audit trail"))
    def audit_trail(self, obj: MedicalRecord) -> str:
        events = (
            AuditEvent.objects.filter(
                object_type=MedicalRecord._meta.label_lower, object_id=str(obj.pk)
            )
            .select_related("actor__employee", "actor__patient")
            .order_by("-created_at", "-id")[:100]
        )
        rows = format_html_join(
            "",
            "<li>{} · {} · {}</li>",
            (
                (
                    date_format(timezone.localtime(event.created_at), "DATETIME_FORMAT"),
                    person_name(event.actor) or event.actor_username or "—",
                    action_label(event.action),
                )
                for event in events
            ),
        )
        # The full events (old and new values of each change) in the audit list.
        details = audit_trail_link(obj, _("Old and new values in the audit trail"))
        return format_html("<ul>{}</ul>{}", rows, details) if rows else details

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            record = records_readable_by(request.user).filter(pk=object_id).first()
            if record is not None:
                record_medical_record_view(record=record, by=request.user, request=request)
        return response


class CatalogueUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "One entry a line: code,name or code,name,name_en (UTF-8; a header line is "
            "allowed). Every line is checked first: one bad line imports nothing."
        ),
    )


# Bigger than any catalogue (ICD-10 is about 2 MB as CSV): refused before it is read.
CATALOGUE_UPLOAD_MAX_BYTES = 10 * 1024 * 1024


@admin.register(DiagnosisCatalogue)
class DiagnosisCatalogueAdmin(CsvImportAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    """The diagnosis catalogue: entries added or changed here or imported from CSV (all
    lines or none), every write audited (visits.diagnoses). Entries are retired (active
    off), never deleted: records point to them."""

    import_form = CatalogueUploadForm
    import_max_bytes = CATALOGUE_UPLOAD_MAX_BYTES
    import_title = _("Import the diagnosis catalogue")
    import_service = staticmethod(import_catalogue)
    list_display = ("code", "name", "name_en", "active")
    list_filter = ("active",)
    search_fields = ("code", "name")
    fields = ("code", "name", "name_en", "active")
    actions = ["export_csv"]
    change_list_template = "visits/admin/diagnosis_changelist.html"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(prefix_lookup("code", term) | prefix_lookup("name", term)), False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Records point to the entry: a code changed would change every record's code
        # silently. A new code is a new entry (and this one is retired).
        return ("code",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: DiagnosisCatalogue, form, change) -> None:
        save_catalogue_entry(entry=obj, by=request.user)

    def get_urls(self):
        return [
            self.import_url(),
            *super().get_urls(),
        ]

    @admin.action(description=_("Export the selected entries as CSV"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[DiagnosisCatalogue]):
        return csv_response(
            "diagnosis-catalogue.csv", catalogue_csv_rows(queryset.order_by("code"))
        )


@admin.register(PatientAllergy)
class PatientAllergyAdmin(ReadOnlyModelAdmin):
    """Read here; recorded and removed by doctors on the consultation page (audited)."""

    list_display = (
        "patient",
        "substance",
        "allergy_class",
        "reaction",
        "severity",
        "recorded_at",
        "removed_at",
    )
    list_filter = ("severity", "allergy_class")
    list_select_related = ("patient", "allergy_class", "recorded_by", "removed_by")
    search_fields = ("patient__name", "patient__phone", "patient__id_card")
    search_help_text = PATIENT_SEARCH_HELP
    fields = (
        "patient",
        "substance",
        "allergy_class",
        "reaction",
        "severity",
        "recorded_by",
        "recorded_at",
        "removed_by",
        "removed_at",
    )
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        term = parse_term(search_term)
        return queryset.filter(patient_filter(term, prefix="patient__")), False


@admin.register(DisplayToken)
class DisplayTokenAdmin(admin.ModelAdmin):
    """Waiting-room screens: each has a key, shown once when it is made, to open on that
    screen. Revoking a key turns its screen off; keys are never deleted (the trail)."""

    list_display = ("name", "department", "created_at", "created_by_name", "revoked_at")
    list_filter = ("department",)
    list_select_related = ("department", "created_by__employee", "created_by__patient")

    @admin.display(description=_("created by"), ordering="created_by__username")
    def created_by_name(self, obj: DisplayToken) -> str:
        return person_name(obj.created_by) or "—"

    fields = ("name", "department", "created_at", "created_by", "revoked_at")
    readonly_fields = ("created_at", "created_by", "revoked_at")
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is not None:
            return ("name", "department", *self.readonly_fields)
        return self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: DisplayToken, form: Any, change: bool) -> None:
        if change:
            return  # nothing of a key changes but its revocation (the action)
        token, raw = create_display_token(name=obj.name, department=obj.department, by=request.user)
        obj.pk, obj.token_hash, obj.created_at = token.pk, token.token_hash, token.created_at
        address = request.build_absolute_uri(
            reverse("display:department", args=[token.department.code]) + f"?key={raw}"
        )
        self.message_user(
            request,
            format_html(
                "{} <code>{}</code>",
                _("Open this address once on the screen (it is shown only now):"),
                address,
            ),
        )

    @admin.action(description=_("Revoke the keys of the selected screens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[DisplayToken]) -> None:
        for token in queryset:
            revoke_display_token(token=token, by=request.user)
        self.message_user(request, _("The selected screens are turned off."))


class ChargeCorrectionForm(forms.ModelForm):
    correction_reason = forms.CharField(
        label=_("Reason for the correction"),
        max_length=200,
        help_text=_("Required: kept in the audit trail with the change."),
    )

    class Meta:
        model = Charge
        fields = ("quantity",)


@admin.register(Charge)
class ChargeAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """A visit's charges. Only the quantity is corrected here, while the visit awaits
    payment (before its bill), with a reason: through visits.charges.correct_charge, which
    audits it (`charge.corrected`). Charges are made by arrival and by the doctor's orders,
    never here."""

    form = ChargeCorrectionForm
    list_display = (
        "id",
        "visit",
        "kind",
        "code",
        "name",
        "category",
        "quantity",
        "unit_price",
        "insurance_class",
        "created_at",
    )
    list_filter = ("kind", "category", "insurance_class")
    list_select_related = ("visit__patient",)
    search_fields = ("code", "name")
    ordering = ("-id",)
    show_facets = ShowFacets.NEVER
    readonly_fields = (
        "visit",
        "kind",
        "fee_item",
        "code",
        "name",
        "category",
        "unit",
        "unit_price",
        "insurance_class",
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
    )
    fields = ("quantity", "correction_reason", *readonly_fields)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(prefix_lookup("code", term) | prefix_lookup("name", term)), False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("amount"))
    def amount(self, obj: Charge) -> str:
        return str(charge_amount(obj))

    def save_model(self, request: HttpRequest, obj: Charge, form, change) -> None:
        correct_charge(
            charge=obj,
            by=request.user,
            quantity=form.cleaned_data["quantity"],
            reason=form.cleaned_data["correction_reason"],
        )
