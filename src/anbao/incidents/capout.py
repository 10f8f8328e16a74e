"""CAP 1.2 outbound for an incident, built with the alarms app's pure CAP builder."""

from __future__ import annotations

from anbao.alarms import cap
from anbao.incidents.models import Incident, IncidentKind, IncidentState
from anbao.incidents.services import get_incident

_SEVERITY = {
    1: ("Immediate", "Extreme"),
    2: ("Immediate", "Severe"),
    3: ("Expected", "Moderate"),
    4: ("Future", "Minor"),
}

_CATEGORY = {
    IncidentKind.MEDICAL: "Health",
    IncidentKind.CROWD: "Safety",
    IncidentKind.SUSPICIOUS_OBJECT: "CBRNE",
}


def cap_for_incident(incident_id: int) -> bytes:
    """Return an incident as a CAP 1.2 alert with one info block per language.

    A resolved or closed incident goes out as an ``Update`` with the all-clear response.
    """
    incident: Incident = get_incident(incident_id)
    urgency, severity = _SEVERITY.get(incident.priority, ("Unknown", "Unknown"))
    over = incident.state in (IncidentState.RESOLVED, IncidentState.CLOSED)
    if over:
        urgency = "Past"
    areas: tuple[cap.Area, ...]
    where = incident.title
    if incident.lon is not None and incident.lat is not None:
        areas = (
            cap.Area(
                area_desc=where,
                circles=(cap.Circle(lat=incident.lat, lon=incident.lon, radius_km=0.2),),
            ),
        )
    else:
        areas = (cap.Area(area_desc=where),)
    category = _CATEGORY.get(IncidentKind(incident.type.code), "Security")
    response = ("AllClear",) if over else ("Monitor",)
    common = {
        "categories": (category,),
        "urgency": urgency,
        "severity": severity,
        "certainty": "Observed",
        "areas": areas,
        "response_types": response,
        "parameters": (("incident_number", str(incident.number)), ("state", incident.state)),
    }
    infos = (
        cap.Info(
            language="zh-CN",
            event=incident.type.name,
            headline=f"事件 #{incident.number} {incident.type.name}",
            description=f"{incident.title} 状态 {incident.state}",
            instruction="请按标准处置流程处置" if not over else "事件已处置完毕",
            **common,  # type: ignore[arg-type]
        ),
        cap.Info(
            language="en-US",
            event=incident.type.name_en,
            headline=f"Incident #{incident.number}: {incident.type.name_en}",
            description=f"{incident.title} (state: {incident.state})",
            instruction="Follow the standard procedure."
            if not over
            else "The incident is resolved.",
            **common,  # type: ignore[arg-type]
        ),
    )
    alert = cap.Alert(
        identifier=f"anbao-{incident.event.code}-incident-{incident.number}"
        + ("-resolved" if over else ""),
        sender=f"command@{incident.event.code}.anbao",
        sent=incident.resolved_at if over and incident.resolved_at else incident.opened_at,
        status="Actual",
        msg_type="Update" if over else "Alert",
        scope="Restricted",
        restriction="Security partners of the event",
        infos=infos,
        incidents=(f"anbao-{incident.event.code}-incident-{incident.number}",),
        references=(
            (
                cap.Reference(
                    sender=f"command@{incident.event.code}.anbao",
                    identifier=f"anbao-{incident.event.code}-incident-{incident.number}",
                    sent=incident.opened_at,
                ),
            )
            if over
            else ()
        ),
    )
    return cap.build_alert(alert)
