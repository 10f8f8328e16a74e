"""Property-based tests of the import parsers."""

from __future__ import annotations

import contextlib
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from anbao.accreditation.importing import check_resident_id, nfkc, normalise_id, parse_date
from anbao.demo.people import gb11643_check_digit

digits17 = st.text(alphabet="0123456789", min_size=17, max_size=17)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)), st.integers(0, 999))
def test_any_valid_resident_id_passes_and_gives_its_birth_date(born: date, seq: int) -> None:
    first17 = f"330483{born:%Y%m%d}{seq:03d}"
    number = first17 + gb11643_check_digit(first17)
    assert check_resident_id(number) == born
    wide = "".join(chr(ord(c) + 0xFEE0) for c in number)
    assert normalise_id("resident_id", f" {wide.lower()} ") == number


@given(digits17, st.sampled_from("0123456789X"))
def test_a_wrong_check_character_is_always_refused(first17: str, check: str) -> None:
    if check == gb11643_check_digit(first17):
        return
    try:
        check_resident_id(first17 + check)
    except ValueError:
        return
    raise AssertionError("accepted a wrong check character")


@given(st.dates(min_value=date(1900, 3, 1), max_value=date(9999, 12, 31)))
def test_every_date_format_round_trips(day: date) -> None:
    assert parse_date(day.isoformat()) == day
    assert parse_date(f"{day.year}/{day.month}/{day.day}") == day
    assert parse_date(f"{day.year}年{day.month}月{day.day}日") == day
    assert parse_date((day - date(1899, 12, 30)).days) == day


@given(st.text())
def test_parsers_never_crash_on_any_text(text: str) -> None:
    assert isinstance(nfkc(text), str)
    with contextlib.suppress(ValueError):
        parse_date(text)
