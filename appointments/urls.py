from django.urls import path

from appointments import views

app_name = "appointments"

urlpatterns = [
    path("mine/", views.my_appointments, name="my-appointments"),
    path("desk/", views.desk, name="desk"),
]
