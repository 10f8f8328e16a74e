"""Site page routes."""

from django.urls import path

from anbao.sites import views

app_name = "sites"
urlpatterns = [
    path("map/", views.site_map, name="map"),
    path("devices/", views.devices, name="devices"),
    path("devices/<str:device_id>/credential/", views.device_credential, name="device_credential"),
]
