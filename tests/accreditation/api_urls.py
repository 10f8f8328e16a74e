"""A URL conf for the accreditation API tests, until the lead mounts the router.

When ``anbao.api`` already mounts the accreditation router, this is the project's URL conf.
Otherwise it mounts the router on a test API that shares the project's error handlers, at
the same paths (``/api/accreditation/...``), without touching the project's API object.
"""

from __future__ import annotations

from django.urls import path
from ninja import NinjaAPI

from anbao.accreditation.api import router
from anbao.api import api as project_api
from anbao.urls import urlpatterns as project_urls

if getattr(router, "api", None) is project_api:
    urlpatterns = project_urls
else:
    test_api = NinjaAPI(urls_namespace="accreditation-test", docs_url=None)
    test_api._exception_handlers = project_api._exception_handlers
    test_api.add_router("/accreditation", router)
    urlpatterns = [path("api/", test_api.urls), *project_urls]
