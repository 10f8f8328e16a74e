"""alarms page routes."""

from django.urls import path

from anbao.alarms import views

app_name = "alarms"
urlpatterns = [path("", views.index, name="index")]
