"""What one badge shows: plain data, no database objects, so worker processes can receive it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BadgeData:
    """What one badge shows; no database objects, so worker processes can receive it."""

    name_zh: str = ""
    family_name: str = ""
    given_name: str = ""
    organisation: str = ""
    function: str = ""
    category_code: str = ""
    category_name: str = ""
    category_colour: str = "#808080"
    zones: tuple[str, ...] = ()
    venues: tuple[str, ...] = ()
    photo: bytes | None = None
    qr_png: bytes | None = None
    qr_text: str = ""
    credential_id: str = ""
    event_name: str = ""
    validity: str = ""
    badge_number: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def name_latin(self) -> str:
        """The Latin name as printed: family name in capitals, then the given name."""
        return " ".join(p for p in (self.family_name.upper(), self.given_name) if p)

    def value(self, name: str) -> str:
        """Return the text of a layout field (``name_zh``, ``extra.seat`` …)."""
        if name.startswith("extra."):
            return str(self.extra.get(name[6:], ""))
        return str(getattr(self, name, "") or "")


def sample_badge(*, qr_text: str = "ANB1:SAMPLE", photo: bytes | None = None) -> BadgeData:
    """Return a sample badge for template previews."""
    return BadgeData(
        name_zh="王小明",
        family_name="Wang",
        given_name="Xiaoming",
        organisation="乌镇峰会组委会 Organising Committee",
        function="Delegate liaison",
        category_code="D",
        category_name="Delegate 代表",
        category_colour="#1f6feb",
        zones=("1", "2", "5"),
        venues=("WICC", "XZ", "ZH"),
        photo=photo,
        qr_text=qr_text,
        credential_id="SAMPLE",
        event_name="World Internet Conference 世界互联网大会",
        validity="2026-11-20 to 2026-11-24",
        badge_number="000001",
    )
