from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    # Patients
    path("settings/", views.my_settings, name="my-settings"),
    # Front desk
    path("", views.log, name="log"),
    # The log's "Send again" buttons: the message is the button's value.
    path("resend/", views.resend_message, name="resend"),
    path("patients/<int:pk>/", views.patient_settings, name="patient-settings"),
]
