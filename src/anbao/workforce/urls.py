"""workforce page routes."""

from django.urls import path

from anbao.workforce import views

app_name = "workforce"
urlpatterns = [
    path("", views.index, name="index"),
    path("roster/", views.roster, name="roster"),
    path("guards/", views.guards, name="guards"),
    path("guards/<str:number>/", views.guard, name="guard"),
    path("duty/", views.duty_desk, name="duty"),
    path("resources/", views.resources, name="resources"),
    path("jobs/<int:job_id>/", views.job, name="job"),
    path("solve/", views.solve, name="solve"),
    path("publish/", views.publish, name="publish"),
    # A guard's phone holds no session; the signed token in the link is the credential.
    path("me/<str:token>/", views.me, name="me"),
]
