"""accreditation page routes."""

from django.urls import path

from anbao.accreditation import views

app_name = "accreditation"
urlpatterns = [path("", views.index, name="index")]
