"""The screening API: scan decisions, screenings, seizures, deposits, lanes and statistics."""

from __future__ import annotations

from ninja import Router

from anbao.screening.gate_api import router as gate_router
from anbao.screening.lanes_api import router as lanes_router
from anbao.screening.records_api import router as records_router
from anbao.screening.scan_api import router as scan_router

router = Router(tags=["screening"])
router.add_router("", scan_router)
router.add_router("", records_router)
router.add_router("", gate_router)
router.add_router("", lanes_router)
