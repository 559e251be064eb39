from django.urls import path

from appointments import views

app_name = "appointments"

urlpatterns = [
    # Patients
    path("book/", views.book, name="book"),
    path("mine/", views.my_appointments, name="my-appointments"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("waitlist/join/", views.waitlist_join, name="waitlist-join"),
    path("waitlist/<int:pk>/accept/", views.waitlist_accept, name="waitlist-accept"),
    path("waitlist/<int:pk>/decline/", views.waitlist_decline, name="waitlist-decline"),
    path("waitlist/<int:pk>/leave/", views.waitlist_leave, name="waitlist-leave"),
    # Front desk
    path("desk/", views.desk, name="desk"),
    path("desk/phone-booking/", views.phone_booking, name="phone-booking"),
    # The rows' buttons: the appointment is the button's value.
    path("desk/confirm/", views.desk_confirm, name="desk-confirm"),
    path("desk/cancel/", views.desk_cancel, name="desk-cancel"),
    path("desk/no-show/", views.desk_no_show, name="desk-no-show"),
    path(
        "desk/patients/<int:pk>/lift-no-show-block/",
        views.lift_no_show_block_view,
        name="lift-no-show-block",
    ),
    # The waitlist at the desk
    path("desk/waitlist/", views.desk_waitlist, name="desk-waitlist"),
    path("desk/waitlist/join/", views.desk_waitlist_join, name="desk-waitlist-join"),
    path("desk/waitlist/<int:pk>/accept/", views.desk_waitlist_accept, name="desk-waitlist-accept"),
    path("desk/waitlist/<int:pk>/cancel/", views.desk_waitlist_cancel, name="desk-waitlist-cancel"),
]
