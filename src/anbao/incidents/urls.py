"""incidents page routes."""

from django.urls import path

from anbao.incidents import views

app_name = "incidents"
urlpatterns = [
    path("", views.index, name="index"),
    path("live/", views.live, name="live"),
    path("new/", views.open_incident, name="open"),
    path("attach/", views.attach_alarm, name="attach"),
    path("notices/<int:notice_id>/read/", views.notice_read, name="notice_read"),
    # A unit leader's phone holds no session; the signed token in the link is the credential.
    path("unit/<str:token>/", views.unit, name="unit"),
    path("<int:incident_id>/", views.detail, name="detail"),
    path("<int:incident_id>/<slug:action>/", views.act, name="act"),
]
