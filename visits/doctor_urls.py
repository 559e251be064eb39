"""The doctor's workbench (included by visits/urls.py, namespace "visits")."""

from django.urls import path

from visits import views

urlpatterns = [
    path("queue/", views.doctor_queue, name="doctor-queue"),
]
