"""The bundled demo site: the World Internet Conference Wuzhen Summit (wic2026)."""

from pathlib import Path

DEMO_SITE_PATH: Path = Path(__file__).resolve().parent / "wuzhen"
"""The folder holding the Wuzhen demo's ``site.yaml`` and ``geometry.geojson``."""
