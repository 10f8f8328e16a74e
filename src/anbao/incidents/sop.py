"""The incident types and their standard procedures (SOP), seeded per event.

Targets are seconds from the incident's opening: acknowledged, first unit on scene, resolved.
The escalation ladder lists the roles told at level 1, 2, ... when a timer runs out; past its
end the last role is told again.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from anbao.accounts.roles import Role
from anbao.incidents.models import IncidentKind, IncidentType, SopStep
from anbao.sites.models import Event


@dataclass(frozen=True)
class Step:
    """One SOP step: Chinese and English text, and whether it must be done or skipped."""

    zh: str
    en: str
    mandatory: bool = True


@dataclass(frozen=True)
class TypeSpec:
    """How one kind of incident is handled."""

    code: str
    zh: str
    en: str
    priority: int
    ack_s: int
    respond_s: int
    resolve_s: int
    supervisor: str
    unit_kinds: tuple[str, ...]
    steps: tuple[Step, ...]

    @property
    def ladder(self) -> list[str]:
        """Return the escalation roles: the supervisor, then the commander, then the admin."""
        out: list[str] = []
        for role in (self.supervisor, Role.COMMANDER, Role.ADMIN):
            if str(role) not in out:
                out.append(str(role))
        return out


TYPES: tuple[TypeSpec, ...] = (
    TypeSpec(
        IncidentKind.INTRUSION, "周界入侵", "Perimeter intrusion", 1, 60, 300, 1800,
        Role.COMMANDER, ("foot", "canine"),
        (
            Step("调取视频核实报警", "Call up the cameras and verify the alarm"),
            Step("派遣最近的机动力量", "Dispatch the nearest reserve unit"),
            Step("封控入侵区段", "Seal off the section"),
            Step("查明入侵人员身份", "Identify the intruder", mandatory=False),
            Step("必要时移交公安", "Hand over to the police if needed", mandatory=False),
            Step("检查围界并恢复布防", "Inspect the perimeter and re-arm the section"),
        ),
    ),
    TypeSpec(
        IncidentKind.DRONE, "无人机闯入", "Drone incursion", 1, 30, 300, 900,
        Role.COMMANDER, ("vehicle", "foot"),
        (
            Step("确认航迹与远程识别信息", "Confirm the track and its Remote ID"),
            Step("核对白名单", "Check the drone whitelist"),
            Step("派员查找飞手", "Send a unit to locate the pilot"),
            Step("申请反制授权", "Request countermeasure authority", mandatory=False),
            Step("通报公安联络员", "Inform the police liaison"),
            Step("记录处置结果", "Record the outcome"),
        ),
    ),
    TypeSpec(
        IncidentKind.PROHIBITED_ITEM, "查获禁限物品", "Prohibited item found", 3, 120, 600, 1800,
        Role.CHECKPOINT_LEADER, ("foot",),
        (
            Step("控制物品与携带人员", "Secure the item and the person carrying it"),
            Step("登记查获记录", "Register the seizure"),
            Step("违禁品移交公安", "Hand prohibited items to the police", mandatory=False),
            Step("恢复通道运行", "Reopen the lane"),
        ),
    ),
    TypeSpec(
        IncidentKind.MEDICAL, "医疗救护", "Medical emergency", 2, 30, 240, 1800,
        Role.COMMANDER, ("medical", "foot"),
        (
            Step("派遣医疗救护组", "Dispatch the first-aid team"),
            Step("现场急救", "Give first aid on scene"),
            Step("呼叫120救护车", "Call an ambulance (120)", mandatory=False),
            Step("清理救护通道", "Clear an access route"),
            Step("记录交接情况", "Record the hand-over"),
        ),
    ),
    TypeSpec(
        IncidentKind.CROWD, "人员聚集", "Crowd build-up", 2, 60, 300, 2400,
        Role.COMMANDER, ("foot", "vehicle"),
        (
            Step("通过视频评估人群密度", "Assess the crowd density on the cameras"),
            Step("开启疏导通道", "Open relief lanes and redirect arrivals"),
            Step("广播引导", "Broadcast guidance", mandatory=False),
            Step("增设隔离护栏", "Place barriers"),
            Step("报告秩序恢复", "Report when the crowd is stable"),
        ),
    ),
    TypeSpec(
        IncidentKind.SUSPICIOUS_OBJECT, "可疑物品", "Suspicious object", 1, 30, 300, 3600,
        Role.COMMANDER, ("canine", "foot"),
        (
            Step("设立五十米警戒区", "Set up a 50 m cordon"),
            Step("严禁触碰移动物品", "Make sure nobody touches or moves the object"),
            Step("调派警犬搜排", "Send a canine team to check"),
            Step("通报公安排爆", "Inform the police bomb squad"),
            Step("必要时疏散人员", "Evacuate the area if needed", mandatory=False),
            Step("解除警戒", "Give the all clear"),
        ),
    ),
    TypeSpec(
        IncidentKind.VIP_MOVEMENT, "要员行动", "VIP movement", 2, 120, 600, 3600,
        Role.COMMANDER, ("vehicle", "foot"),
        (
            Step("确认路线与时间", "Confirm the route and the time"),
            Step("清理沿线通道", "Clear the route"),
            Step("机动力量就位", "Position the reserve units"),
            Step("全程护卫", "Escort the movement"),
            Step("报告抵达", "Report the arrival"),
        ),
    ),
    TypeSpec(
        IncidentKind.OTHER, "其他事件", "Other incident", 3, 120, 900, 3600,
        Role.COMMANDER, ("foot",),
        (
            Step("核实现场情况", "Assess the situation"),
            Step("确定处置措施", "Decide what to do"),
            Step("记录处置结果", "Record the outcome"),
        ),
    ),
)  # fmt: skip

SPECS = {t.code: t for t in TYPES}


def ensure_types(event: Event) -> list[IncidentType]:
    """Create the standard incident types and their SOP steps for ``event`` (idempotent).

    Existing types and steps are left as they are, so local edits survive a re-run.
    """
    out: list[IncidentType] = []
    with transaction.atomic():
        for spec in TYPES:
            row, _created = IncidentType.objects.get_or_create(
                event=event,
                code=spec.code,
                defaults={
                    "name": spec.zh,
                    "name_en": spec.en,
                    "priority": spec.priority,
                    "ack_s": spec.ack_s,
                    "respond_s": spec.respond_s,
                    "resolve_s": spec.resolve_s,
                    "supervisor_role": str(spec.supervisor),
                    "escalation": spec.ladder,
                    "unit_kinds": list(spec.unit_kinds),
                },
            )
            have = set(row.steps.values_list("order", flat=True))
            SopStep.objects.bulk_create(
                SopStep(type=row, order=i, text=s.zh, text_en=s.en, mandatory=s.mandatory)
                for i, s in enumerate(spec.steps, start=1)
                if i not in have
            )
            out.append(row)
    return out
