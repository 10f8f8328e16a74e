"""Generated demo people: valid ID check digits, deterministic, unique."""

from __future__ import annotations

import csv
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from anbao.demo.people import (
    DemoGuard,
    DemoPerson,
    gb11643_check_digit,
    generate_guards,
    generate_people,
    resident_id,
    write_csv,
)


def test_known_check_digit() -> None:
    # The worked example of GB 11643-1999: 11010519491231002X.
    assert gb11643_check_digit("11010519491231002") == "X"


@given(
    st.dates(min_value=date(1930, 1, 1), max_value=date(2008, 12, 31)),
    st.integers(0, 10**6),
    st.booleans(),
)
def test_resident_ids_validate(born: date, serial: int, female: bool) -> None:
    number = resident_id("330483", born, serial, female)
    assert len(number) == 18
    assert number[-1] == gb11643_check_digit(number[:17])
    assert int(number[16]) % 2 == (0 if female else 1)


def test_people_are_deterministic_and_unique() -> None:
    a = list(generate_people(500))
    b = list(generate_people(500))
    assert a == b
    assert len({p.id_number for p in a}) == 500
    assert {p.category for p in a} >= {"D", "E", "S"}


def test_guards_include_women_and_skills() -> None:
    guards = list(generate_guards(200))
    assert any(g.gender == "F" for g in guards)
    assert all("licence" in g.skills for g in guards)


def test_csv_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    n = write_csv(tmp_path / "p.csv", generate_people(20), DemoPerson)
    m = write_csv(tmp_path / "g.csv", generate_guards(5), DemoGuard)
    rows = list(csv.DictReader((tmp_path / "p.csv").open(encoding="utf-8")))
    assert n == len(rows) == 20
    assert m == 5
    assert rows[0]["id_number"] == next(generate_people(1)).id_number
