"""The waiting-room display: /display/<department code>/ (namespace "display")."""

from django.urls import path

from visits import display_views

app_name = "display"

urlpatterns = [
    path("<slug:code>/", display_views.department_display, name="department"),
]
