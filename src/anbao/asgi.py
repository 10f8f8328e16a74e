"""ASGI entry point: Django, with lane scanners' scans answered by the fast path first."""

import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anbao.settings")
django_application = get_asgi_application()

from anbao.core.clock import install_from_environment  # noqa: E402  (needs Django set up first)
from anbao.screening.fastpath import wrap  # noqa: E402

install_from_environment()  # `anbao serve --clock-start`: every worker runs the same time

if os.environ.get("ANBAO_SERVER_PROCESS") == "1":  # set by `anbao serve` and the demo
    from anbao.core import housekeeping, relay

    relay.start_from_settings()  # other processes' events for this worker's screens
    housekeeping.start()  # timers that must fire when no request comes

application = wrap(django_application)

# A scan holds the database's write lock across several SQL calls, each of which lets go of
# the GIL; with Python's 5 ms switch interval the event loop thread then keeps the holder
# waiting. 20 ms lets the holder finish its turn (measured: 1,330 → 1,450 scans/s).
sys.setswitchinterval(float(os.environ.get("ANBAO_GIL_SWITCH_MS", "20")) / 1000)
