"""incidents page routes."""

from django.urls import path

from anbao.incidents import views

app_name = "incidents"
urlpatterns = [path("", views.index, name="index")]
