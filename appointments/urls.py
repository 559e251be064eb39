from django.urls import path

from appointments import views

app_name = "appointments"

urlpatterns = [
    path("book/", views.book, name="book"),
    path("mine/", views.my_appointments, name="my-appointments"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("desk/", views.desk, name="desk"),
]
