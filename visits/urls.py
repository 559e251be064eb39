from django.urls import path

from visits import views
from visits.doctor_urls import urlpatterns as doctor_urlpatterns

app_name = "visits"

urlpatterns = [
    path("mine/", views.my_visits, name="my-visits"),
    *doctor_urlpatterns,
]
