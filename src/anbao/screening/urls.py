"""screening page routes."""

from django.urls import path

from anbao.screening import views

app_name = "screening"
urlpatterns = [path("", views.index, name="index")]
