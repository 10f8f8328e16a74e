"""URL routes: the UI pages of each domain, the admin back office and the API."""

from django.contrib import admin
from django.urls import include, path

from anbao.api import api

urlpatterns = [
    path("", include("anbao.core.urls")),
    path("accounts/", include("anbao.accounts.urls")),
    path("sites/", include("anbao.sites.urls")),
    path("accreditation/", include("anbao.accreditation.urls")),
    path("screening/", include("anbao.screening.urls")),
    path("workforce/", include("anbao.workforce.urls")),
    path("alarms/", include("anbao.alarms.urls")),
    path("incidents/", include("anbao.incidents.urls")),
    path("dashboard/", include("anbao.dashboard.urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
]
