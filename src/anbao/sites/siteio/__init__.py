"""Site files: a folder with ``site.yaml`` and ``geometry.geojson``; reading, checking, writing.

Pure: no Django here. ``anbao.sites.services`` stores what :func:`read_site` returns.
"""

from anbao.sites.siteio.export import render_geometry, render_site_yaml, write_site
from anbao.sites.siteio.sources import GEOMETRY_FILE, SITE_YAML
from anbao.sites.siteio.spec import Site, SiteSpec, lane_ref
from anbao.sites.siteio.validate import read_site

__all__ = [
    "GEOMETRY_FILE",
    "SITE_YAML",
    "Site",
    "SiteSpec",
    "lane_ref",
    "read_site",
    "render_geometry",
    "render_site_yaml",
    "write_site",
]
