"""Badge layout documents: what is accepted and how refusals name the element."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anbao.accreditation.badges import (
    DEFAULT_TEMPLATES,
    LayoutError,
    LayoutProblem,
    default_layout,
    default_layout_document,
    parse_layout,
)


def problems_of(doc: Any) -> list[str]:
    with pytest.raises(LayoutError) as info:
        parse_layout(doc)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("name", DEFAULT_TEMPLATES)
def test_bundled_templates_are_valid(name: str) -> None:
    layout = default_layout(name)
    assert layout.front.elements
    types = {e.type for e in layout.front.elements}
    assert {"photo", "band", "zones", "venues"} <= types


def test_cr80_is_double_sided_landscape_card() -> None:
    layout = default_layout("cr80-double")
    assert (layout.width_mm, layout.height_mm, layout.sides) == (85.6, 54.0, 2)
    assert layout.back is not None
    assert any(e.type == "qr" for e in layout.back.elements)


def test_a6_is_portrait() -> None:
    layout = default_layout("a6-single")
    assert (layout.width_mm, layout.height_mm, layout.sides) == (105.0, 148.0, 1)


def test_unknown_element_type_names_the_element() -> None:
    doc = default_layout_document()
    doc["front"]["elements"].append({"type": "hologram", "x": 1, "y": 1, "w": 5, "h": 5})
    index = len(doc["front"]["elements"]) - 1
    [problem] = problems_of(doc)
    assert problem.startswith(f"front.elements[{index}] (hologram)")
    assert "unknown element type" in problem


def test_box_off_the_card_names_the_element() -> None:
    doc = default_layout_document()
    doc["back"]["elements"][1]["x"] = 60  # the QR, 40 mm wide, on an 85.6 mm card
    [problem] = problems_of(doc)
    assert problem.startswith("back.elements[1] (qr)")
    assert "off the 85.6 x 54 mm card" in problem


def test_every_problem_is_listed_at_once() -> None:
    doc = default_layout_document()
    doc["front"]["elements"][1]["w"] = "wide"
    doc["front"]["elements"][2]["field"] = "salary"
    doc["front"]["elements"][3]["colour"] = "red"
    doc["page"]["size"] = "A3"
    problems = problems_of(doc)
    assert any(p.startswith("page.size") for p in problems)
    assert any(p.startswith("front.elements[1] (photo)") and "'w'" in p for p in problems)
    assert any("front.elements[2] (text) 'name-zh'" in p and "salary" in p for p in problems)
    assert any("colour" in p for p in problems)


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d.pop("front"), "front"),
        (lambda d: d.__setitem__("sides", 3), "sides"),
        (lambda d: d.__setitem__("extra", 1), "extra: unknown key"),
        (lambda d: d["front"]["elements"][2].pop("size"), "size"),
        (lambda d: d["front"]["elements"][2].__setitem__("text", "x"), "exactly one"),
        (
            lambda d: d["front"]["elements"].append(
                {"type": "image", "x": 0, "y": 0, "w": 1, "h": 1}
            ),
            "asset",
        ),
        (
            lambda d: d["front"]["elements"].append(
                {"type": "photo", "x": 0, "y": 0, "w": 0, "h": 1}
            ),
            "positive",
        ),
        (lambda d: d["front"]["elements"].append("text"), "must be an object"),
        (lambda d: d["front"]["elements"][2].__setitem__("align", "justify"), "align"),
    ],
)
def test_bad_documents_are_refused(mutate: Any, fragment: str) -> None:
    doc = copy.deepcopy(default_layout_document())
    mutate(doc)
    assert any(fragment in p for p in problems_of(doc))


def test_single_sided_layout_with_a_back_is_refused() -> None:
    doc = default_layout_document()
    doc["sides"] = 1
    assert any(p.startswith("back") for p in problems_of(doc))


def test_non_object_is_refused() -> None:
    assert problems_of([1, 2]) == ["layout: the layout must be a JSON object"]


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-1000, 1000)
    | st.floats(-1e6, 1e6)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    side=st.sampled_from(["front", "back"]),
    element=st.dictionaries(
        st.sampled_from(
            ["type", "x", "y", "w", "h", "size", "field", "text", "asset", "colour", "align"]
        ),
        _json,
    ),
)
def test_any_element_is_accepted_or_refused_with_a_layout_error(side: str, element: dict) -> None:
    doc = default_layout_document()
    doc[side]["elements"].append(element)
    problems: list[LayoutProblem] = []
    try:
        layout = parse_layout(doc)
    except LayoutError as exc:
        problems = exc.problems or [LayoutProblem("?", "a refusal without a problem")]
    if problems:
        assert all(p.path.startswith(side) for p in problems)
    else:
        assert len(getattr(layout, side).elements) == len(doc[side]["elements"])


@settings(max_examples=200, deadline=None)
@given(doc=_json)
def test_any_json_is_refused_cleanly(doc: object) -> None:
    with pytest.raises(LayoutError):
        parse_layout(doc)
