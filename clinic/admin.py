from __future__ import annotations

from contextvars import ContextVar
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from clinic.accounts import (
    delete_account,
    delete_patient,
    save_account,
    save_patient,
    set_account_password,
)
from clinic.admin_utils import (
    CsvImportAdminMixin,
    ReadOnlyModelAdmin,
    ServiceAdminMixin,
    audit_trail_link,
)
from clinic.audit import ACTION_LABELS, action_label
from clinic.catalogue import (
    delete_allergy_class,
    delete_fee_item,
    delete_insurance_plan,
    delete_registration_fee,
    fee_catalogue_csv_rows,
    import_fee_catalogue,
    price_history,
    save_allergy_class,
    save_fee_item,
    save_insurance_plan,
    save_registration_fee,
)
from clinic.catalogue_search import matching_fee_items
from clinic.exceptions import ClinicError
from clinic.exports import csv_response
from clinic.models import (
    SELF_PAY_PLAN,
    AllergyClass,
    AuditEvent,
    Department,
    Employee,
    FeeItem,
    InsurancePlan,
    Patient,
    RegistrationFee,
    Role,
    Room,
    User,
    plan_name,
)
from clinic.privacy import mask_id_card
from clinic.search import PATIENT_SEARCH_HELP, parse_term, patient_filter
from clinic.staff import (
    delete_department,
    delete_employee,
    delete_room,
    save_department,
    save_employee,
    save_room,
)
from clinic.templatetags.clinic_format import money
from clinic.urls_utils import id_param

admin.site.site_header = _("Clinic Flow administration")
admin.site.site_title = _("Clinic Flow")
admin.site.index_title = _("Clinic data")
# Access follows the account's role, not Django groups.
admin.site.unregister(Group)


class StaffAccountCreationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "role", "employee")


class AccountChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


# Django Admin builds its password form itself, without the request: the acting
# administrator reaches the form's save() through this, set only while that view runs.
password_actor: ContextVar[User | None] = ContextVar("password_actor", default=None)


class AccountPasswordForm(AdminPasswordChangeForm):
    """Django Admin's password form, saved through set_account_password (audited)."""

    def save(self, commit: bool = True) -> User:
        by = password_actor.get()
        if by is None or not commit:
            raise ValueError("An account's password is saved by set_account_password().")
        usable = self.cleaned_data["set_usable_password"]
        password = self.cleaned_data["password1"] if usable else None
        return set_account_password(user=self.user, password=password, by=by)


@admin.register(User)
class UserAdmin(ServiceAdminMixin, DjangoUserAdmin):
    form = AccountChangeForm
    add_form = StaffAccountCreationForm
    change_password_form = AccountPasswordForm
    list_display = ("username", "display_name", "role", "employee", "is_active", "last_login")
    list_filter = ("role", "is_active")
    list_select_related = ("employee", "patient")
    search_fields = ("username", "first_name", "last_name", "employee__name", "employee__emp_id")
    autocomplete_fields = ("employee",)
    ordering = ("username",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Role"), {"fields": ("role", "employee")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Status"), {"fields": ("is_active",)}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "role", "employee", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")

    @admin.display(description=_("name"))
    def display_name(self, obj: User) -> str:
        return obj.display_name

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not request.user.has_perm("clinic.manage_administrators"):
            return fieldsets
        # Who may give every right gives the groups (clinic.groups).
        return [
            (name, {**options, "fields": (*options["fields"], "groups")})
            if name == _("Role")
            else (name, options)
            for name, options in fieldsets
        ]

    def formfield_for_choice_field(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        if db_field.name == "role" and not request.user.has_perm("clinic.manage_administrators"):
            kwargs["choices"] = [choice for choice in Role.choices if choice[0] != Role.ADMIN]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.role == Role.ADMIN:
            return request.user.has_perm("clinic.manage_administrators")
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.role == Role.ADMIN:
            return request.user.has_perm("clinic.manage_administrators")
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        groups = form.cleaned_data.get("groups") if "groups" in form.cleaned_data else None
        save_account(user=obj, by=request.user, groups=groups)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The groups were set, and recorded, by save_account(); nothing else is many-to-many.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        delete_account(user=obj, by=request.user)

    def user_change_password(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = password_actor.set(request.user)
        try:
            return super().user_change_password(request, *args, **kwargs)
        except (ClinicError, ValidationError) as error:
            return self.refused(request, error)
        finally:
            password_actor.reset(token)


class RoomInline(admin.TabularInline):
    model = Room
    extra = 0
    fields = ("room_number", "status")


@admin.register(Department)
class DepartmentAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("name", "name_en", "code", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "name_en", "code")
    inlines = [RoomInline]

    def save_model(self, request: HttpRequest, obj: Department, form: Any, change: bool) -> None:
        save_department(department=obj, by=request.user)

    def delete_model(self, request: HttpRequest, obj: Department) -> None:
        delete_department(department=obj, by=request.user)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # The department's rooms, each through the rooms' own service (commit=False: the
        # formset only collects what to create, change and delete).
        rooms = formset.save(commit=False)
        for room in formset.deleted_objects:
            delete_room(room=room, by=request.user)
        for room in rooms:
            save_room(room=room, by=request.user)


@admin.register(Room)
class RoomAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("room_number", "department", "status")
    list_filter = ("status", "department")
    list_select_related = ("department",)
    search_fields = ("room_number", "department__name")
    actions = ["disable_rooms", "enable_rooms"]

    @admin.action(description=_("Disable the selected rooms"))
    def disable_rooms(self, request, queryset) -> None:
        self._set_status(request, queryset, Room.Status.DISABLED)

    @admin.action(description=_("Enable the selected rooms"))
    def enable_rooms(self, request, queryset) -> None:
        self._set_status(request, queryset, Room.Status.ACTIVE)

    def _set_status(self, request, queryset, status: str) -> None:
        """Each room on its own (its own transaction and event): a room with patients booked
        stays active, the others change."""
        changed = 0
        for room in queryset.exclude(status=status):
            room.status = status
            try:
                save_room(room=room, by=request.user)
            except ValidationError as error:
                self.message_user(
                    request, f"{room}: {' '.join(error.messages)}", level=messages.ERROR
                )
                continue
            changed += 1
        self.message_user(request, _("%(count)d rooms changed.") % {"count": changed})

    def save_model(self, request: HttpRequest, obj: Room, form: Any, change: bool) -> None:
        save_room(room=obj, by=request.user)

    def delete_model(self, request: HttpRequest, obj: Room) -> None:
        delete_room(room=obj, by=request.user)


@admin.register(Employee)
class EmployeeAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = (
        "emp_id",
        "name",
        "position",
        "department",
        "title",
        "title_en",
        "rank",
        "status",
        "account",
    )
    list_filter = ("position", "rank", "status", "department")
    list_select_related = ("department", "user")
    search_fields = ("emp_id", "name", "phone")

    @admin.display(description=_("account"))
    def account(self, obj: Employee) -> str:
        user = getattr(obj, "user", None)
        return user.username if user is not None else "—"

    def save_model(self, request: HttpRequest, obj: Employee, form: Any, change: bool) -> None:
        save_employee(employee=obj, by=request.user)

    def delete_model(self, request: HttpRequest, obj: Employee) -> None:
        delete_employee(employee=obj, by=request.user)


class PatientAdminForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = (
            "name",
            "gender",
            "id_type",
            "id_card",
            "phone",
            "birth_date",
            "insurance_plan",
            "user",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Active plans can be chosen; a record keeps the plan it has.
        plans = self.fields["insurance_plan"]
        current = self.instance.insurance_plan_id if self.instance else None
        plans.queryset = InsurancePlan.objects.filter(Q(is_active=True) | Q(pk=current)).order_by(
            "name"
        )
        plans.empty_label = SELF_PAY_PLAN


class PatientAccountFilter(admin.SimpleListFilter):
    title = _("account")
    parameter_name = "account"

    def lookups(self, request, model_admin):
        return [("yes", _("With an account")), ("no", _("Without an account"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(user__isnull=False)
        if self.value() == "no":
            return queryset.filter(user__isnull=True)
        return queryset


@admin.register(Patient)
class PatientAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = PatientAdminForm
    list_display = (
        "name",
        "gender",
        "masked_id_card",
        "phone",
        "birth_date",
        "plan",
        "account",
    )
    list_filter = ("gender", "id_type", "insurance_plan", PatientAccountFilter)
    list_select_related = ("user", "insurance_plan")
    # The search box shows because search_fields is set; what it finds is the one search rule
    # (clinic.search, in get_search_results), on indexed columns.
    search_fields = ("name", "phone", "id_card")
    search_help_text = PATIENT_SEARCH_HELP
    raw_id_fields = ("user",)
    # No second COUNT(*) of the whole table under a filtered list.
    show_full_result_count = False

    def get_search_results(self, request, queryset, search_term):
        return queryset.filter(patient_filter(parse_term(search_term))), False

    @admin.display(description=_("ID number"))
    def masked_id_card(self, obj: Patient) -> str:
        return mask_id_card(obj.id_card)

    @admin.display(description=_("insurance plan"))
    def plan(self, obj: Patient) -> str:
        return plan_name(obj.insurance_plan)

    @admin.display(description=_("account"))
    def account(self, obj: Patient) -> str:
        return obj.user.username if obj.user_id else "—"

    def save_model(self, request: HttpRequest, obj: Patient, form: Any, change: bool) -> None:
        # Its details and the account it is linked to (patient.account_linked / _unlinked).
        save_patient(patient=obj, by=request.user)

    def delete_model(self, request: HttpRequest, obj: Patient) -> None:
        delete_patient(patient=obj, by=request.user)


class AuditActorFilter(admin.SimpleListFilter):
    """Staff accounts by name (few at a clinic), the system, and any other account once it
    is chosen (from a row's link): never a list of every patient account."""

    title = _("actor")
    parameter_name = "actor"
    SYSTEM = "system"

    def lookups(self, request, model_admin):
        staff = (
            User.objects.exclude(role=Role.PATIENT).select_related("employee").order_by("username")
        )
        choices = [(str(user.pk), self._label(user)) for user in staff]
        value = self.value()
        if id_param(value) is not None and value not in {pk for pk, _label in choices}:
            chosen = User.objects.select_related("employee").filter(pk=value).first()
            if chosen is not None:
                choices.insert(0, (value, self._label(chosen)))
        choices.append((self.SYSTEM, _("System (no account)")))
        return choices

    @staticmethod
    def _label(user: User) -> str:
        # The person's name first (what people know), the account to tell two apart.
        return f"{user.employee.name} ({user.username})" if user.employee_id else user.username

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if value == self.SYSTEM:
            return queryset.filter(actor__isnull=True)
        if id_param(value) is None:
            raise IncorrectLookupParameters
        return queryset.filter(actor_id=value)


class AuditPatientFilter(admin.SimpleListFilter):
    """One patient's events, reached from a row's patient link (or the record's page); shown
    only while chosen, with its name, so that it can be cleared."""

    title = _("patient")
    parameter_name = "patient"

    def lookups(self, request, model_admin):
        value = self.value()
        if id_param(value) is None:
            return []
        patient = Patient.objects.filter(pk=value).only("name").first()
        return [(value, patient.name if patient is not None else value)]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if id_param(value) is None:
            raise IncorrectLookupParameters
        return queryset.filter(patient_id=value)


class AuditActionFilter(admin.SimpleListFilter):
    """The actions by their labels (clinic.audit.ACTION_LABELS), not their codes."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return sorted(
            ((code, str(label)) for code, label in ACTION_LABELS.items()),
            key=lambda choice: choice[1],
        )

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value is None else queryset.filter(action=value)


class AuditRoleFilter(admin.SimpleListFilter):
    """The actor's role by its label, not its code."""

    title = _("role")
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return Role.choices

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value is None else queryset.filter(role=value)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    """The audit trail, read-only: no add, change or delete here (nor anywhere in the app)."""

    list_display = (
        "created_at",
        "actor_link",
        "role_label",
        "action_label",
        "object_label",
        "object_id",
        "patient_link",
    )
    # A date filter on the timestamp, not date_hierarchy: the hierarchy converts time zones
    # in SQL, which needs MySQL's time-zone tables.
    list_filter = (
        "created_at",
        AuditActionFilter,
        AuditActorFilter,
        AuditPatientFilter,
        AuditRoleFilter,
        "object_type",
    )
    search_fields = (
        "actor_username",
        "action",
        "object_id",
        "patient__name",
        "=patient__phone",
        "=patient__id_card",
    )
    # The actor's staff or patient record too: a person is shown by their name.
    list_select_related = ("actor__employee", "actor__patient", "patient")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]

    @admin.display(description=_("actor"), ordering="actor_username")
    def actor_link(self, obj: AuditEvent) -> str:
        if obj.actor_id is None:
            return obj.actor_username or "—"
        return format_html(
            '<a href="?{}" title="{} ({})">{}</a>',
            urlencode({"actor": obj.actor_id}),
            _("Only this user's events"),
            obj.actor_username,
            obj.actor.display_name,
        )

    @admin.display(description=_("role"), ordering="role")
    def role_label(self, obj: AuditEvent) -> str:
        return Role(obj.role).label if obj.role in Role.values else obj.role or "—"

    @admin.display(description=_("action"), ordering="action")
    def action_label(self, obj: AuditEvent) -> str:
        return action_label(obj.action)

    @admin.display(description=_("object type"), ordering="object_type")
    def object_label(self, obj: AuditEvent) -> str:
        """The kind of record by its name (visit, bill), not its label (visits.visit)."""
        try:
            model = apps.get_model(obj.object_type)
        except (LookupError, ValueError):
            return obj.object_type or "—"
        return capfirst(model._meta.verbose_name)

    @admin.display(description=_("patient"))
    def patient_link(self, obj: AuditEvent) -> str:
        if obj.patient_id is None:
            return "—"
        return format_html(
            '<a href="?{}" title="{}">{}</a>',
            urlencode({"patient": obj.patient_id}),
            _("Only this patient's events"),
            obj.patient.name,
        )


# The charges' reference data (clinic.catalogue): written by administrators through the
# services (validated, audited), read by clinic managers (clinic.groups).


class FeeItemForm(forms.ModelForm):
    class Meta:
        model = FeeItem
        fields = (
            "code",
            "name",
            "category",
            "unit",
            "unit_price",
            "insurance_class",
            "fractional_quantity",
            "is_active",
            "specification",
            "dosage_form",
            "default_usage",
            "dose_unit",
            "doses_per_unit",
            "allergy_classes",
        )


class FeeCatalogueUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "The export's columns: code, name, category, unit, unit_price, insurance_class, "
            "specification, dosage_form, default_usage, dose_unit, doses_per_unit, "
            "fractional_quantity (1/0), allergy_classes (codes separated by |), is_active "
            "(1/0). UTF-8; a header line is allowed. Every line is checked first: one bad "
            "line imports nothing. Existing codes are updated."
        ),
    )


# Bigger than any clinic's catalogue: refused before it is read.
FEE_CATALOGUE_UPLOAD_MAX_BYTES = 5 * 1024 * 1024


@admin.register(FeeItem)
class FeeItemAdmin(CsvImportAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    """The fee catalogue. Its price history is its audit trail (clinic.catalogue)."""

    import_form = FeeCatalogueUploadForm
    import_max_bytes = FEE_CATALOGUE_UPLOAD_MAX_BYTES
    import_title = _("Import the fee catalogue")
    import_service = staticmethod(import_fee_catalogue)

    form = FeeItemForm
    list_display = (
        "code",
        "name",
        "category",
        "unit",
        "price",
        "insurance_class",
        "is_active",
    )
    list_filter = ("category", "insurance_class", "is_active")
    # The box shows because search_fields is set; what it finds is the catalogue's one
    # search (clinic.catalogue_search), in get_search_results.
    search_fields = ("code", "name")
    search_help_text = _("An item's code or the beginning of its name.")
    filter_horizontal = ("allergy_classes",)
    ordering = ("category", "code")
    actions = ["export_csv"]
    change_list_template = "clinic/admin/fee_item_changelist.html"
    show_full_result_count = False
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "code",
                    "name",
                    "category",
                    "unit",
                    "unit_price",
                    "insurance_class",
                    "fractional_quantity",
                    "is_active",
                )
            },
        ),
        (
            _("Drugs"),
            {
                "fields": (
                    "specification",
                    "dosage_form",
                    "default_usage",
                    "dose_unit",
                    "doses_per_unit",
                    "allergy_classes",
                )
            },
        ),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        return (*fieldsets, (_("Price history"), {"fields": ("history",)}))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # Charges and bill lines copy the code: it is fixed once the item is made.
        return ("code", "history") if obj is not None else ()

    def get_search_results(self, request, queryset, search_term):
        return matching_fee_items(search_term, queryset=queryset), False

    @admin.display(description=_("unit price"), ordering="unit_price")
    def price(self, obj: FeeItem) -> str:
        return money(obj.unit_price)

    @admin.display(description=_("price history"))
    def history(self, obj: FeeItem) -> str:
        events = list(price_history(obj)[:50])
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    date_format(timezone.localtime(event.created_at), "DATETIME_FORMAT"),
                    event.actor.display_name if event.actor_id else event.actor_username or "—",
                    action_label(event.action),
                    _describe_change(event),
                )
                for event in events
            ),
        )
        link = audit_trail_link(obj, _("All events in the audit trail"))
        if not events:
            return link
        return format_html(
            '<table id="price-history"><thead><tr><th>{}</th><th>{}</th><th>{}</th>'
            "<th>{}</th></tr></thead><tbody>{}</tbody></table>{}",
            _("time"),
            _("by"),
            _("action"),
            _("change"),
            rows,
            link,
        )

    def save_model(self, request: HttpRequest, obj: FeeItem, form: Any, change: bool) -> None:
        save_fee_item(
            item=obj, by=request.user, allergy_classes=form.cleaned_data.get("allergy_classes")
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The allergy classes were set, and recorded, by save_fee_item().
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: HttpRequest, obj: FeeItem) -> None:
        delete_fee_item(item=obj, by=request.user)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        can_import = self.has_add_permission(request) and self.has_change_permission(request)
        return super().changelist_view(request, {**(extra_context or {}), "can_import": can_import})

    def get_urls(self):
        return [
            self.import_url(),
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name="clinic_feeitem_export",
            ),
            *super().get_urls(),
        ]

    def _export(self, items: QuerySet[FeeItem]) -> HttpResponse:
        items = items.order_by("category", "code").prefetch_related("allergy_classes")
        return csv_response("fee-catalogue.csv", fee_catalogue_csv_rows(items))

    @admin.action(description=_("Export the selected items as CSV"))
    def export_csv(self, request: HttpRequest, queryset: QuerySet[FeeItem]) -> HttpResponse:
        return self._export(queryset)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The whole catalogue as CSV (the import's own columns)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self._export(FeeItem.objects.all())


def _describe_change(event: AuditEvent) -> str:
    """An event's changed fields as "field: old → new" (new values only when created)."""
    old, new = event.old_values or {}, event.new_values or {}
    labels = {
        field.name: str(getattr(field, "verbose_name", field.name))
        for field in FeeItem._meta.get_fields()
    }
    parts = []
    for name, value in new.items():
        label = labels.get(name, name)
        if name in old:
            parts.append(f"{label}: {_shown(old[name])} → {_shown(value)}")
        else:
            parts.append(f"{label}: {_shown(value)}")
    return "; ".join(parts) or "—"


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return "—" if value in (None, "") else str(value)


@admin.register(InsurancePlan)
class InsurancePlanAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("name", "name_en", "coverage_a", "coverage_b", "coverage_c", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "name_en")

    def save_model(self, request: HttpRequest, obj: InsurancePlan, form, change) -> None:
        save_insurance_plan(plan=obj, by=request.user)

    def delete_model(self, request: HttpRequest, obj: InsurancePlan) -> None:
        delete_insurance_plan(plan=obj, by=request.user)


class RegistrationFeeForm(forms.ModelForm):
    class Meta:
        model = RegistrationFee
        fields = ("rank", "fee_item")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Registration fee items only (the model's limit_choices_to), in code order.
        self.fields["fee_item"].queryset = self.fields["fee_item"].queryset.order_by("code")


@admin.register(RegistrationFee)
class RegistrationFeeAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Which registration fee item each doctor's rank charges at check-in and walk-in."""

    form = RegistrationFeeForm
    list_display = ("rank", "fee_item", "price")
    list_select_related = ("fee_item",)

    @admin.display(description=_("unit price"))
    def price(self, obj: RegistrationFee) -> str:
        return money(obj.fee_item.unit_price)

    def save_model(self, request: HttpRequest, obj: RegistrationFee, form, change) -> None:
        save_registration_fee(fee=obj, by=request.user)

    def delete_model(self, request: HttpRequest, obj: RegistrationFee) -> None:
        delete_registration_fee(fee=obj, by=request.user)


@admin.register(AllergyClass)
class AllergyClassAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "name_en")
    search_fields = ("code", "name", "name_en")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("code",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: AllergyClass, form, change) -> None:
        save_allergy_class(allergy_class=obj, by=request.user)

    def delete_model(self, request: HttpRequest, obj: AllergyClass) -> None:
        delete_allergy_class(allergy_class=obj, by=request.user)
