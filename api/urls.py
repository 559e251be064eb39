"""The JSON API under /api/: routes grouped by role, views in each app's api.py."""

urlpatterns: list = []
