"""ASGI entry point: Django, with lane scanners' scans answered by the fast path first."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anbao.settings")
django_application = get_asgi_application()

from anbao.core.clock import install_from_environment  # noqa: E402  (needs Django set up first)
from anbao.screening.fastpath import wrap  # noqa: E402

install_from_environment()  # `anbao serve --clock-start`: every worker runs the same time

application = wrap(django_application)
