"""The screening API: scan decisions (devices and operators), screenings, seizures, deposits."""

from __future__ import annotations

from ninja import Router

from anbao.screening.records_api import router as records_router
from anbao.screening.scan_api import router as scan_router

router = Router(tags=["screening"])
router.add_router("", scan_router)
router.add_router("", records_router)
