"""The waiting-room display: /display/<department code>/ (namespace "display")."""

from django.urls import path  # noqa: F401

app_name = "display"

urlpatterns: list = []
