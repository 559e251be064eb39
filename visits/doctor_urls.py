"""The doctor's workbench (included by visits/urls.py, namespace "visits")."""

from django.urls import path

from visits import doctor_views

urlpatterns = [
    path("queue/", doctor_views.doctor_queue, name="doctor-queue"),
    path("queue/call-next/", doctor_views.call_next_patient, name="call-next"),
    path("<int:pk>/consultation/", doctor_views.consultation, name="consultation"),
    path("records/<int:pk>/", doctor_views.record_detail, name="record-detail"),
    path("records/<int:pk>/correct/", doctor_views.correct_record, name="record-correct"),
]
