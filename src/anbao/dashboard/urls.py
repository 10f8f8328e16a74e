"""dashboard page routes."""

from django.urls import path

from anbao.dashboard import views

app_name = "dashboard"
urlpatterns = [path("", views.index, name="index")]
