from django.urls import path

from scheduling import views

app_name = "scheduling"

urlpatterns: list = [
    # Administrators' week planner.
    path("planner/", views.planner, name="planner"),
    path("planner/rooms/", views.planner_rooms, name="planner-rooms"),
    path("planner/copy-week/", views.copy_week, name="copy-week"),
]
