"""Validate a site folder completely and report every problem with its file and line or feature."""

from __future__ import annotations

from pathlib import Path

from anbao.core.errors import DomainError, FieldProblem
from anbao.sites.siteio.base import FeatureMap
from anbao.sites.siteio.geometry_rules import GeometryRules
from anbao.sites.siteio.sources import GEOMETRY_FILE, SITE_YAML, read_geojson, read_yaml
from anbao.sites.siteio.spec import Site, SiteSpec
from anbao.sites.siteio.yaml_rules import YamlRules


class SiteChecker(YamlRules, GeometryRules):
    """One validation run over one site folder; collects problems instead of stopping at one."""

    def run(self) -> Site:
        """Validate the folder; return the site, or raise one DomainError listing every problem."""
        raw_yaml = self._read(SITE_YAML)
        raw_geo = self._read(GEOMETRY_FILE)
        spec: SiteSpec | None = None
        if raw_yaml is not None:
            doc, problems = read_yaml(raw_yaml)
            self.problems += problems
            if doc is not None:
                self.doc = doc
                spec = self._check_yaml(doc.data)
        features: FeatureMap = {}
        if raw_geo is not None:
            data, problems = read_geojson(raw_geo)
            self.problems += problems
            if data is not None:
                features = self._check_features(data)
        lengths: dict[str, float] = {}
        if self.yaml_ok and raw_geo is not None:
            lengths = self._check_geometry_rules(features)
        if self.problems or spec is None:
            raise DomainError(
                "sites.invalid_site_files",
                f"The site files in {self.folder.name or self.folder} have "
                f"{len(self.problems)} problem(s); nothing was stored.",
                problems=sorted(self.problems, key=_reading_order),
            )
        return Site(spec=spec, geometry=features, lengths_m=lengths)

    def _read(self, name: str) -> str | None:
        file = self.folder / name
        try:
            return file.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.problems.append(FieldProblem("(file)", f"{name} is missing", "missing_file", name))
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(
                FieldProblem("(file)", f"cannot read: {exc}", "unreadable_file", name)
            )
        return None


def _reading_order(problem: FieldProblem) -> tuple[int, int]:
    """Sort site.yaml problems by line, ahead of the GeoJSON ones (kept in file order)."""
    name, _, line = problem.location.partition(":")
    if name == SITE_YAML and line.isdigit():
        return (0, int(line))
    return (1, 0)


def read_site(folder: Path) -> Site:
    """Read and validate a site folder; raise ``sites.invalid_site_files`` listing every problem."""
    return SiteChecker(folder).run()
