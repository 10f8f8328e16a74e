"""alarms page routes."""

from django.urls import path

from anbao.alarms import views

app_name = "alarms"
urlpatterns = [
    path("", views.index, name="index"),
    path("live/", views.live, name="live"),
    path("<int:alarm_id>/", views.detail, name="detail"),
    path("<int:alarm_id>/<slug:action>/", views.act, name="act"),
]
