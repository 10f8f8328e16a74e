"""workforce page routes."""

from django.urls import path

from anbao.workforce import views

app_name = "workforce"
urlpatterns = [path("", views.index, name="index")]
