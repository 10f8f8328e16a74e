"""Workforce pages: the overview, the roster grid, guards, duty desk, resources.

Actions post to the same services the API uses; the pages only read and render.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from anbao.accounts.decorators import cap_required
from anbao.accounts.models import User
from anbao.accounts.roles import Cap
from anbao.core import audit, clock
from anbao.core.errors import DomainError
from anbao.sites import services as sites
from anbao.sites.models import Event
from anbao.workforce import demand, duty, rosters
from anbao.workforce.models import (
    SKILL_SHORT,
    Assignment,
    Commendation,
    DutyAlert,
    DutyRecord,
    EquipmentItem,
    Guard,
    Post,
    ReserveUnit,
    Shift,
    SolveJob,
    TrainingSession,
)


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _day(request: HttpRequest, event: Event) -> date:
    text = request.GET.get("day", "")
    try:
        return date.fromisoformat(text)
    except ValueError:
        return clock.now().astimezone(ZoneInfo(event.time_zone)).date()


def _coverage(event: Event, shifts: list[Shift]) -> dict[str, Any]:
    seats = demand.seats(event, shifts)
    wanted = sum(s.count for s in seats if not s.soft)
    filled = (
        Assignment.objects.filter(event=event, shift__in=shifts)
        .exclude(post__kind="reserve")
        .count()
    )
    return {"wanted": wanted, "filled": min(filled, wanted), "short": max(0, wanted - filled)}


@cap_required(Cap.WORKFORCE_VIEW)
def index(request: HttpRequest) -> HttpResponse:
    """Show the workforce now: coverage, check-ins, alerts, reserves and the optimiser."""
    event = sites.current_event()
    if event is None or not Post.objects.filter(event=event).exists():
        return render(request, "workforce/index.html", {"event": event, "empty": True})
    now = clock.now()
    running = list(Shift.objects.filter(event=event, start__lte=now, end__gt=now))
    context = {
        "event": event,
        "now": now,
        "running": running,
        "coverage": _coverage(event, running) if running else None,
        "counts": duty.on_duty_counts(event, now),
        "alerts": DutyAlert.objects.filter(event=event, resolved_at__isnull=True).select_related(
            "assignment__guard", "assignment__post", "assignment__shift"
        )[:50],
        "reserves": ReserveUnit.objects.filter(event=event),
        "job": SolveJob.objects.filter(event=event).first(),
        "guards": Guard.objects.filter(active=True).count(),
        "posts": Post.objects.filter(event=event, active=True).count(),
        "shifts": Shift.objects.filter(event=event).count(),
        "today": now.astimezone(ZoneInfo(event.time_zone)).date(),
        "publication": event.roster_publications.order_by("-version").first(),
        "can_edit": _user(request).can(Cap.WORKFORCE_EDIT),
        "can_duty": _user(request).can(Cap.WORKFORCE_DUTY),
    }
    return render(request, "workforce/index.html", context)


@cap_required(Cap.WORKFORCE_VIEW)
def job(request: HttpRequest, job_id: int) -> HttpResponse:
    """Show one solve job's progress (refreshes itself while it runs)."""
    row = get_object_or_404(SolveJob, pk=job_id)
    return render(request, "workforce/_job.html", {"job": row})


@cap_required(Cap.WORKFORCE_EDIT)
@require_POST
def solve(request: HttpRequest) -> HttpResponse:
    """Start the optimiser from the overview page."""
    event = sites.get_event()
    try:
        limit = int(request.POST.get("time_limit", "60"))
        raw = request.POST.get("from_time", "").strip()
        from_time = (
            datetime.fromisoformat(raw).replace(tzinfo=ZoneInfo(event.time_zone)) if raw else None
        )
        rosters.start_solve_job(event, time_limit=limit, from_time=from_time, user=_user(request))
        messages.success(request, _("The optimiser is running."))
    except (ValueError, DomainError) as exc:
        messages.error(request, str(getattr(exc, "message", exc)))
    return HttpResponseRedirect(reverse("workforce:index"))


@cap_required(Cap.WORKFORCE_EDIT)
@require_POST
def publish(request: HttpRequest) -> HttpResponse:
    """Publish the roster as a new version."""
    row = rosters.publish(sites.get_event(), user=_user(request))
    messages.success(request, _("Roster version %(v)s published.") % {"v": row.version})
    return HttpResponseRedirect(reverse("workforce:index"))


@cap_required(Cap.WORKFORCE_VIEW)
def roster(request: HttpRequest) -> HttpResponse:
    """Show a day's roster: places, posts, shifts, guards, and seats still empty."""
    event = sites.get_event()
    day = _day(request, event)
    place = request.GET.get("place", "")
    shifts = list(Shift.objects.filter(event=event, day=day))
    posts = Post.objects.filter(event=event, active=True)
    if place:
        posts = posts.filter(place_code=place)
    rows = (
        Assignment.objects.filter(event=event, shift__in=shifts, post__in=posts)
        .select_related("guard", "post")
        .order_by("skill", "guard__employee_no")
    )
    checked = set(
        DutyRecord.objects.filter(event=event, shift__in=shifts).values_list("guard_id", "shift_id")
    )
    cells: dict[tuple[int, int], list[Assignment]] = defaultdict(list)
    for a in rows:
        cells[(a.post_id, a.shift_id)].append(a)
    wanted: dict[tuple[int, int], int] = defaultdict(int)
    for s in demand.seats(event, shifts):
        if not s.soft:
            wanted[(s.post_id, s.shift_id)] += s.count
    places: dict[str, dict[str, Any]] = {}
    for post in posts:
        entry = places.setdefault(
            post.place_code,
            {
                "code": post.place_code,
                "name": post.place_name,
                "name_en": post.place_name_en,
                "posts": [],
            },
        )
        line = []
        for shift in shifts:
            people = cells.get((post.pk, shift.pk), [])
            need = wanted.get((post.pk, shift.pk), 0)
            line.append(
                {
                    "people": [
                        (a, (a.guard_id, a.shift_id) in checked, SKILL_SHORT.get(a.skill, a.skill))
                        for a in people
                    ],
                    "need": need,
                    "short": max(0, need - len(people)),
                }
            )
        entry["posts"].append({"post": post, "cells": line})
    all_places = (
        Post.objects.filter(event=event)
        .values_list("place_code", "place_name")
        .distinct()
        .order_by("place_code")
    )
    context = {
        "event": event,
        "day": day,
        "prev": day - timedelta(days=1),
        "next": day + timedelta(days=1),
        "shifts": shifts,
        "places": list(places.values()),
        "place": place,
        "all_places": all_places,
    }
    return render(request, "workforce/roster.html", context)


@cap_required(Cap.WORKFORCE_VIEW)
def guards(request: HttpRequest) -> HttpResponse:
    """List guards with skills and masked phones."""
    q = request.GET.get("q", "").strip()
    rows = Guard.objects.select_related("employer", "squad").prefetch_related("qualifications")
    if q:
        rows = rows.filter(employee_no__icontains=q) | rows.filter(name__icontains=q)
    return render(
        request, "workforce/guards.html", {"guards": rows.order_by("employee_no")[:200], "q": q}
    )


@cap_required(Cap.WORKFORCE_VIEW)
def guard(request: HttpRequest, number: str) -> HttpResponse:
    """Show one guard: skills, leave, shifts, downloads and the personal check-in link."""
    row = get_object_or_404(Guard.objects.select_related("employer", "squad"), employee_no=number)
    event = sites.get_event()
    shifts = Assignment.objects.filter(event=event, guard=row).select_related("shift", "post")
    link = None
    if _user(request).can(Cap.WORKFORCE_EDIT):
        link = request.build_absolute_uri(
            reverse("workforce:me", args=[duty.personal_link_token(row)])
        )
        audit.record_read("guard.check_in_link", obj=row)
    context = {
        "guard": row,
        "shifts": shifts,
        "leaves": row.leaves.all(),
        "dogs": row.dogs.all(),
        "commendations": row.commendations.all(),
        "link": link,
    }
    return render(request, "workforce/guard.html", context)


@cap_required(Cap.WORKFORCE_DUTY)
def duty_desk(request: HttpRequest) -> HttpResponse:
    """Show the leader's check-in desk: scan badges, see who is missing."""
    event = sites.get_event()
    now = clock.now()
    records = DutyRecord.objects.filter(event=event).select_related("guard", "post")[:30]
    alerts = DutyAlert.objects.filter(event=event, resolved_at__isnull=True).select_related(
        "assignment__guard", "assignment__post", "assignment__shift"
    )[:50]
    tz = ZoneInfo(event.time_zone)
    today = now.astimezone(tz).date()
    return render(
        request,
        "workforce/duty.html",
        {
            "records": records,
            "alerts": alerts,
            "counts": duty.on_duty_counts(event, now),
            "today": today,
            "week_ago": today - timedelta(days=6),
        },
    )


@cap_required(Cap.WORKFORCE_VIEW)
def resources(request: HttpRequest) -> HttpResponse:
    """Reserves, equipment, training and commendations on one page."""
    event = sites.get_event()
    return render(
        request,
        "workforce/resources.html",
        {
            "reserves": ReserveUnit.objects.filter(event=event),
            "items": EquipmentItem.objects.select_related("lane__checkpoint").order_by(
                "status", "asset_no"
            )[:200],
            "sessions": TrainingSession.objects.select_related("course").prefetch_related(
                "attendance"
            )[:20],
            "commendations": Commendation.objects.filter(event=event).select_related("guard")[:50],
        },
    )


def me(request: HttpRequest, token: str) -> HttpResponse:
    """Show a guard's own phone page: next shifts and check in or out (the link is the key)."""
    try:
        row = duty.guard_from_link(token)
    except DomainError:
        return render(request, "workforce/me.html", {"invalid": True}, status=403)
    result = None
    error = None
    if request.method == "POST":
        try:
            from anbao.workforce.models import CheckMethod

            result = duty.check(row, method=CheckMethod.OWN_PHONE).as_dict()
        except DomainError as exc:
            error = exc.message
    now = clock.now()
    upcoming = (
        Assignment.objects.filter(guard=row, shift__end__gt=now)
        .select_related("shift", "post")
        .order_by("shift__start")[:5]
    )
    on_duty = DutyRecord.objects.filter(guard=row, check_out_at__isnull=True).exists()
    return render(
        request,
        "workforce/me.html",
        {"guard": row, "upcoming": upcoming, "result": result, "error": error, "on_duty": on_duty},
    )


def local_midnight(event: Event, day: date) -> datetime:
    """Return 00:00 local on ``day`` at the event."""
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(event.time_zone))
