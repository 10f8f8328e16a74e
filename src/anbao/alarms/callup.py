"""Camera call-up and CAP export for stored alarms: feed the pure engines from the models."""

from __future__ import annotations

import time as _time
from typing import Any

from anbao.alarms import cap, ptz
from anbao.alarms.models import Alarm, Priority
from anbao.sites.models import Camera, Event

_CACHE_S = 30.0
_poses: dict[int, tuple[float, list[ptz.CameraPose]]] = {}


def camera_poses(event: Event) -> list[ptz.CameraPose]:
    """Return the event's cameras as poses (cached for half a minute)."""
    hit = _poses.get(event.pk)
    if hit is not None and _time.monotonic() - hit[0] < _CACHE_S:
        return hit[1]
    poses = [
        ptz.CameraPose(
            code=c.code,
            kind=ptz.CameraKind(c.kind),
            lon=c.lon,
            lat=c.lat,
            height_m=c.height_m,
            heading_deg=c.heading_deg,
            pan_min_deg=c.pan_min_deg,
            pan_max_deg=c.pan_max_deg,
            tilt_min_deg=c.tilt_min_deg,
            tilt_max_deg=c.tilt_max_deg,
            zoom_max=c.zoom_max,
            intrinsics=ptz.Intrinsics.from_mapping(c.intrinsics),
        )
        for c in Camera.objects.filter(event=event)
    ]
    _poses[event.pk] = (_time.monotonic(), poses)
    return poses


def cameras_for_point(event: Event, lon: float, lat: float, limit: int = 4) -> list[dict[str, Any]]:
    """Return the cameras that can show a point, best first, with pan, tilt and zoom."""
    call = ptz.select_cameras(camera_poses(event), lon, lat)
    return [
        {
            "camera": c.code,
            "kind": str(c.camera.kind),
            "distance_m": round(c.aim.ground_distance_m, 1),
            "pan_deg": round(c.pan_command_deg, 2) if c.pan_command_deg is not None else None,
            "tilt_deg": round(c.aim.tilt_deg, 2),
            "azimuth_deg": round(c.aim.azimuth_deg, 2),
            "zoom": round(c.aim.zoom, 2) if c.aim.zoom is not None else None,
        }
        for c in call.chosen[:limit]
    ]


_SEVERITY = {
    Priority.CRITICAL: ("Immediate", "Extreme"),
    Priority.HIGH: ("Immediate", "Severe"),
    Priority.MEDIUM: ("Expected", "Moderate"),
    Priority.LOW: ("Future", "Minor"),
}


def cap_for_alarm(alarm: Alarm) -> bytes:
    """Return an alarm as a CAP 1.2 alert with one info block per language."""
    urgency, severity = _SEVERITY[Priority(alarm.priority)]
    areas: tuple[cap.Area, ...] = ()
    where = alarm.source_key
    if alarm.lon is not None and alarm.lat is not None:
        areas = (
            cap.Area(
                area_desc=where,
                circles=(cap.Circle(lat=alarm.lat, lon=alarm.lon, radius_km=0.1),),
            ),
        )
    else:
        areas = (cap.Area(area_desc=where),)
    certainty = "Observed" if alarm.details.get("confirmed") else "Likely"
    infos = (
        cap.Info(
            language="zh-CN",
            categories=("Security",),
            event=alarm.title.split(" · ")[0],
            urgency=urgency,
            severity=severity,
            certainty=certainty,
            headline=alarm.title,
            description=f"报警 #{alarm.number}, {alarm.raised_at.isoformat()} 触发 "
            f"{alarm.trigger_count} 次。",
            instruction="请指挥中心核实并处置。",
            areas=areas,
        ),
        cap.Info(
            language="en-US",
            categories=("Security",),
            event=alarm.title_en.split(" · ")[0],
            urgency=urgency,
            severity=severity,
            certainty=certainty,
            headline=alarm.title_en,
            description=f"Alarm #{alarm.number}, raised {alarm.raised_at.isoformat()}, "
            f"triggered {alarm.trigger_count} times.",
            instruction="The command centre verifies and responds.",
            areas=areas,
        ),
    )
    alert = cap.Alert(
        identifier=f"anbao-{alarm.event.code}-alarm-{alarm.number}",
        sender=f"command@{alarm.event.code}.anbao",
        sent=alarm.raised_at,
        status="Test" if alarm.test else "Actual",
        msg_type="Alert",
        scope="Restricted",
        restriction="Security partners of the event",
        infos=infos,
    )
    return cap.build_alert(alert)
