from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from clinic.admin_utils import ReadOnlyModelAdmin
from clinic.models import AuditEvent, Department, Employee, Patient, Room, User
from clinic.privacy import mask_id_card

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


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = AccountChangeForm
    add_form = StaffAccountCreationForm
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


class RoomInline(admin.TabularInline):
    model = Room
    extra = 0
    fields = ("room_number", "status")


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "code")
    inlines = [RoomInline]


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("room_number", "department", "status")
    list_filter = ("status", "department")
    list_select_related = ("department",)
    search_fields = ("room_number", "department__name")
    actions = ["disable_rooms", "enable_rooms"]

    @admin.action(description=_("Disable the selected rooms"))
    def disable_rooms(self, request, queryset) -> None:
        count = queryset.update(status=Room.Status.DISABLED)
        self.message_user(request, _("%(count)d rooms disabled.") % {"count": count})

    @admin.action(description=_("Enable the selected rooms"))
    def enable_rooms(self, request, queryset) -> None:
        count = queryset.update(status=Room.Status.ACTIVE)
        self.message_user(request, _("%(count)d rooms enabled.") % {"count": count})


@admin.register(Employee)
class EmployeeAdmin(admin.ModelAdmin):
    list_display = ("emp_id", "name", "position", "department", "title", "status", "account")
    list_filter = ("position", "status", "department")
    list_select_related = ("department", "user")
    search_fields = ("emp_id", "name", "phone")

    @admin.display(description=_("account"))
    def account(self, obj: Employee) -> str:
        user = getattr(obj, "user", None)
        return user.username if user is not None else "—"


class PatientAdminForm(forms.ModelForm):
    class Meta:
        model = Patient
        fields = ("name", "gender", "id_type", "id_card", "phone", "birth_date", "user")


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    form = PatientAdminForm
    list_display = ("name", "gender", "masked_id_card", "phone", "birth_date", "account")
    list_filter = ("gender", "id_type")
    list_select_related = ("user",)
    search_fields = ("name", "=phone", "=id_card")
    raw_id_fields = ("user",)

    @admin.display(description=_("ID number"))
    def masked_id_card(self, obj: Patient) -> str:
        return mask_id_card(obj.id_card)

    @admin.display(description=_("account"))
    def account(self, obj: Patient) -> str:
        return obj.user.username if obj.user_id else "—"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = ("created_at", "actor_username", "role", "action", "object_type", "object_id")
    # A date filter on the timestamp, not date_hierarchy: the hierarchy converts time zones
    # in SQL, which needs MySQL's time-zone tables.
    list_filter = ("created_at", "action", "role", "object_type")
    search_fields = ("actor_username", "action", "object_id", "=patient__phone")
    list_select_related = ("actor", "patient")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
