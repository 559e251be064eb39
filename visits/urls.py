from django.urls import path

from visits import views

app_name = "visits"

urlpatterns = [
    path("queue/", views.doctor_queue, name="doctor-queue"),
]
