from django.urls import path

from visits import desk_views, views
from visits.doctor_urls import urlpatterns as doctor_urlpatterns

app_name = "visits"

urlpatterns = [
    # Patients
    path("mine/", views.my_visits, name="my-visits"),
    # Front desk
    path("search/", desk_views.search, name="search"),
    path("check-in/<int:appointment_pk>/", desk_views.check_in_view, name="check-in"),
    path("walk-in/", desk_views.walk_in, name="walk-in"),
    path("board/", desk_views.board, name="board"),
    path("<int:pk>/slip/", desk_views.slip, name="slip"),
    # The board's buttons: the visit is the button's value.
    path("board/advance/", desk_views.advance, name="advance"),
    path("board/leave-unseen/", desk_views.leave_unseen, name="leave-unseen"),
    path("patients/", desk_views.patients, name="patients"),
    path("patients/<int:pk>/", desk_views.patient, name="patient"),
    # Doctors
    *doctor_urlpatterns,
]
