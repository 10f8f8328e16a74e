"""Default accreditation categories, as in Olympic accreditation."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CategoryPreset:
    """A default category: code, names, colour and whether vetting is required."""

    code: str
    name_zh: str
    name_en: str
    colour: str
    vetting_required: bool


DEFAULT_CATEGORIES: tuple[CategoryPreset, ...] = (
    CategoryPreset("VIP", "贵宾", "VIP", "#c8102e", False),
    CategoryPreset("D", "代表", "Delegate", "#0057b8", True),
    CategoryPreset("E", "媒体", "Media", "#f2a900", True),
    CategoryPreset("S", "工作人员", "Staff", "#00843d", True),
    CategoryPreset("G", "安保", "Security", "#1d1d1b", True),
    CategoryPreset("C", "服务保障", "Contractor", "#7a4fa3", True),
    CategoryPreset("T", "驾驶员", "Driver", "#6d6e71", True),
)
