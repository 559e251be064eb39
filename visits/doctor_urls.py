"""The doctor's workbench (included by visits/urls.py, namespace "visits")."""

from django.urls import path

from visits import doctor_views

urlpatterns = [
    path("queue/", doctor_views.doctor_queue, name="doctor-queue"),
    path("queue/call-next/", doctor_views.call_next_patient, name="call-next"),
    path("<int:pk>/consultation/", doctor_views.consultation, name="consultation"),
    path("records/<int:pk>/", doctor_views.record_detail, name="record-detail"),
    path("records/<int:pk>/correct/", doctor_views.correct_record, name="record-correct"),
    path("records/<int:pk>/print/", doctor_views.record_print, name="record-print"),
    path(
        "records/<int:pk>/prescription/",
        doctor_views.prescription_print,
        name="prescription-print",
    ),
    path("<int:pk>/allergies/", doctor_views.allergy_add, name="allergy-add"),
    path(
        "<int:pk>/allergies/<int:allergy_pk>/remove/",
        doctor_views.allergy_remove,
        name="allergy-remove",
    ),
    path(
        "<int:pk>/allergies/none-known/",
        doctor_views.allergy_none_known,
        name="allergy-none-known",
    ),
    path("diagnoses/", doctor_views.diagnosis_suggestions, name="diagnosis-suggestions"),
    path("<int:pk>/orders/", doctor_views.order_panel, name="orders"),
    path("<int:pk>/orders/add/", doctor_views.order_add, name="order-add"),
    path("<int:pk>/orders/quantity/", doctor_views.order_quantity, name="order-quantity"),
    path("<int:pk>/orders/<int:charge_pk>/", doctor_views.order_update, name="order-update"),
    path(
        "<int:pk>/orders/<int:charge_pk>/remove/",
        doctor_views.order_remove,
        name="order-remove",
    ),
    path("orders/items/", doctor_views.order_suggestions, name="order-suggestions"),
]
