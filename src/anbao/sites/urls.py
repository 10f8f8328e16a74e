"""Site page routes."""

from django.urls import path

from anbao.sites import views

app_name = "sites"
urlpatterns = [
    path("map/", views.site_map, name="map"),
    path("devices/", views.devices, name="devices"),
]
