"""Reading the two site files into plain data, keeping where each value came from."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import yaml

from anbao.core.errors import FieldProblem

SITE_YAML = "site.yaml"
GEOMETRY_FILE = "geometry.geojson"

Path_ = tuple[str | int, ...]


@dataclass
class YamlDoc:
    """Parsed YAML plus the line (1-based) of every mapping key and sequence item."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int:
        """Return the line of ``path``, or of its nearest ancestor that has one."""
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                return line
        return 1

    def location(self, path: Path_) -> str:
        """Return ``site.yaml:LINE`` for ``path``."""
        return f"{SITE_YAML}:{self.line_of(path)}"


def field_name(path: Path_) -> str:
    """Spell a data path as ``checkpoints[3].lanes[0].kind``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


def _walk(node: yaml.Node, path: Path_, doc: YamlDoc, problems: list[FieldProblem]) -> None:
    doc.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            line = key_node.start_mark.line + 1
            if key in seen:
                # PyYAML keeps the last of two equal keys silently; an editor would not expect that.
                problems.append(
                    FieldProblem(
                        field=field_name((*path, key)),
                        message=f"the key {key!r} appears twice in this mapping",
                        code="duplicate_key",
                        location=f"{SITE_YAML}:{line}",
                    )
                )
                continue
            seen.add(key)
            doc.lines[(*path, key)] = line
            _walk(value_node, (*path, key), doc, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), doc, problems)


def _syntax(message: str, line: int) -> FieldProblem:
    return FieldProblem("(document)", message, "yaml_syntax", f"{SITE_YAML}:{line}")


def read_yaml(text: str) -> tuple[YamlDoc | None, list[FieldProblem]]:
    """Parse ``site.yaml`` text; a syntax error comes back as a problem with its line."""
    problems: list[FieldProblem] = []
    loader: yaml.SafeLoader | None = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = exc.problem or exc.context or "invalid YAML"
        problems.append(_syntax(f"YAML syntax: {reason}", line))
        return None, problems
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        problems.append(_syntax(f"YAML: {exc.reason} (character #x{exc.character:04x})", line))
        return None, problems
    except yaml.YAMLError as exc:
        problems.append(_syntax(f"YAML: {exc}", 1))
        return None, problems
    finally:
        if loader is not None:
            loader.dispose()
    doc = YamlDoc(data=data)
    if node is not None:
        _walk(node, (), doc, problems)
    return doc, problems


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number GeoJSON allows")


def read_geojson(text: str) -> tuple[Any, list[FieldProblem]]:
    """Parse ``geometry.geojson`` text; a syntax error comes back as a problem with its line."""
    try:
        return json.loads(text, parse_constant=_reject_constant), []
    except json.JSONDecodeError as exc:
        return None, [
            FieldProblem(
                field="(document)",
                message=f"JSON syntax: {exc.msg} (column {exc.colno})",
                code="json_syntax",
                location=f"{GEOMETRY_FILE}:{exc.lineno}",
            )
        ]
    except ValueError as exc:
        return None, [FieldProblem("(document)", str(exc), "json_syntax", f"{GEOMETRY_FILE}:1")]
