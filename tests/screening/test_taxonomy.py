"""The seizure item taxonomy: the bundled default and the bad inputs a loader refuses."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from anbao.screening import taxonomy as tx


def _doc() -> dict[str, Any]:
    return {
        "version": "t",
        "classes": {"prohibited": {"mark": "禁"}, "restricted": {"mark": "限"}},
        "groups": [
            {
                "code": "knives",
                "class": "prohibited",
                "zh": "管制刀具",
                "en": "Knives",
                "items": [
                    {"code": "knife", "zh": "刀", "en": "Knife", "disposition": "police"},
                ],
            },
            {
                "code": "lighters",
                "class": "restricted",
                "zh": "打火机",
                "en": "Lighters",
                "items": [
                    {
                        "code": "lighter",
                        "zh": "打火机",
                        "en": "Lighter",
                        "disposition": "deposited",
                        "common": 1,
                    },
                ],
            },
        ],
    }


def test_default_taxonomy_loads_with_both_classes_and_names() -> None:
    t = tx.default()
    items = t.items()
    assert len(items) >= 20
    assert {i.item_class for i in items} == {"prohibited", "restricted"}
    assert all(i.zh and i.en for i in items)
    for code in ("firearm", "ammunition", "controlled_knife", "explosive", "radioactive_material"):
        item = t.item(code)
        assert item is not None
        assert item.mark == "禁"
    for code in ("lighter", "liquid_over_limit", "drone", "laser_pointer", "banner"):
        assert t.item(code).item_class == "restricted"  # type: ignore[union-attr]
    assert t.item("defence_spray") is not None


def test_ten_common_items_first_in_the_picker() -> None:
    picker = tx.default().as_picker()
    assert len(picker["common"]) == 10
    assert [i["common"] for i in picker["common"]] == list(range(1, 11))
    # Tap 1: a class; tap 2: a group; tap 3: an item. Every item is reachable in three taps.
    assert [c["code"] for c in picker["classes"]] == ["prohibited", "restricted"]
    codes = {i["code"] for c in picker["classes"] for g in c["groups"] for i in g["items"]}
    assert codes == {i.code for i in tx.default().items()}


def test_prohibited_items_are_never_deposited_by_default() -> None:
    for item in tx.default().items():
        if item.item_class == "prohibited":
            assert item.disposition in {"confiscated", "police"}


def test_a_valid_document_parses() -> None:
    t = tx.loads(json.dumps(_doc()))
    assert t.item("knife") is not None
    assert [i.code for i in t.common()] == ["lighter"]


def test_duplicate_item_code_is_refused() -> None:
    doc = _doc()
    doc["groups"][1]["items"][0]["code"] = "knife"
    with pytest.raises(tx.TaxonomyError) as exc:
        tx.parse(doc)
    assert any("duplicate item code knife" in p for p in exc.value.problems)


def test_duplicate_group_code_is_refused() -> None:
    doc = _doc()
    doc["groups"][1]["code"] = "knives"
    with pytest.raises(tx.TaxonomyError, match="duplicate group code knives"):
        tx.parse(doc)


def test_unknown_class_is_refused() -> None:
    doc = _doc()
    doc["groups"][0]["class"] = "forbidden"
    with pytest.raises(tx.TaxonomyError, match="unknown class 'forbidden'"):
        tx.parse(doc)


def test_missing_names_are_all_listed() -> None:
    doc = _doc()
    del doc["groups"][0]["items"][0]["zh"]
    doc["groups"][1]["items"][0]["en"] = "  "
    with pytest.raises(tx.TaxonomyError) as exc:
        tx.parse(doc)
    text = "; ".join(exc.value.problems)
    assert "(knife): missing zh" in text
    assert "(lighter): missing en" in text


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["groups"][0]["items"][0].update(disposition="burn"), "unknown disposition"),
        (lambda d: d["groups"][0]["items"][0].update(common=1), "common rank 1 already used"),
        (lambda d: d["groups"][0]["items"][0].update(common=-1), "common must be"),
        (lambda d: d["groups"][0].update(items=[]), "items must be a non-empty list"),
        (lambda d: d.update(groups=[]), "groups: must be a non-empty list"),
        (lambda d: d["classes"].update(other={}), "classes.other: unknown class"),
    ],
)
def test_bad_documents_are_refused(mutate: Any, expected: str) -> None:
    doc = copy.deepcopy(_doc())
    mutate(doc)
    with pytest.raises(tx.TaxonomyError, match=expected):
        tx.parse(doc)


def test_not_json_is_refused() -> None:
    with pytest.raises(tx.TaxonomyError, match="not JSON"):
        tx.loads("{nope")
    with pytest.raises(tx.TaxonomyError, match="must be an object"):
        tx.loads("[]")
