"""The roster: assignments of guards to post seats in shifts, solve jobs and publications."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from anbao.workforce.models.posts import Post, Shift
from anbao.workforce.models.staff import Guard, Skill

__all__ = [
    "Assignment",
    "AssignmentSource",
    "RosterPublication",
    "SolveJob",
    "SolveJobStatus",
]


class AssignmentSource(models.TextChoices):
    """Who put an assignment on the roster."""

    SOLVER = "solver", _("Optimiser")
    MANUAL = "manual", _("Manual")
    OVERRIDE = "override", _("Manual, rule overridden")


class Assignment(models.Model):
    """A guard on a post seat (a skill) for one shift."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="assignments")
    shift = models.ForeignKey(Shift, on_delete=models.CASCADE, related_name="assignments")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="assignments")
    guard = models.ForeignKey(Guard, on_delete=models.PROTECT, related_name="assignments")
    skill = models.CharField(max_length=12, choices=Skill.choices)
    pinned = models.BooleanField(default=False, help_text="kept by the optimiser")
    source = models.CharField(
        max_length=8, choices=AssignmentSource.choices, default=AssignmentSource.SOLVER
    )
    overridden_rule = models.CharField(max_length=30, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["shift__start", "post__code", "skill"]
        verbose_name = _("assignment")
        constraints = [
            models.UniqueConstraint(fields=["guard", "shift"], name="assignment_once_per_shift")
        ]
        indexes = [models.Index(fields=["event", "shift"]), models.Index(fields=["post", "shift"])]

    def __str__(self) -> str:
        return f"{self.guard_id}@{self.post_id}/{self.shift_id}"


class SolveJobStatus(models.TextChoices):
    """Where a solve job is."""

    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class SolveJob(models.Model):
    """One run of the roster optimiser in the background, with its progress and result."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="solve_jobs")
    status = models.CharField(
        max_length=10, choices=SolveJobStatus.choices, default=SolveJobStatus.QUEUED
    )
    time_limit = models.PositiveIntegerField(default=60, help_text="seconds")
    from_time = models.DateTimeField(
        null=True, blank=True, help_text="re-solve: shifts starting before this are kept"
    )
    progress = models.JSONField(default=list, help_text="[{seconds, objective, bound, gap, ...}]")
    objective = models.FloatField(null=True, blank=True)
    bound = models.FloatField(null=True, blank=True)
    gap = models.FloatField(null=True, blank=True)
    assigned = models.PositiveIntegerField(default=0)
    seats = models.PositiveIntegerField(default=0)
    uncovered = models.JSONField(default=list, help_text="[{post, shift, skill, missing, reason}]")
    changed = models.PositiveIntegerField(default=0)
    solver_status = models.CharField(max_length=12, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("solve job")

    def __str__(self) -> str:
        return f"solve job {self.pk} ({self.status})"

    def as_dict(self) -> dict[str, Any]:
        """Return the job as a JSON-ready dict."""
        return {
            "id": self.pk,
            "status": self.status,
            "time_limit": self.time_limit,
            "from_time": self.from_time.isoformat() if self.from_time else None,
            "progress": self.progress,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "assigned": self.assigned,
            "seats": self.seats,
            "uncovered": self.uncovered,
            "changed": self.changed,
            "solver_status": self.solver_status,
            "error": self.error,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
        }


class RosterPublication(models.Model):
    """A published version of the roster; calendar files carry its number as SEQUENCE."""

    event = models.ForeignKey(
        "sites.Event", on_delete=models.CASCADE, related_name="roster_publications"
    )
    version = models.PositiveIntegerField()
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    snapshot = models.JSONField(
        default=list, help_text="[[guard, shift, post, skill]] as published, to find removals"
    )

    class Meta:
        ordering = ["event", "-version"]
        verbose_name = _("roster publication")
        constraints = [
            models.UniqueConstraint(fields=["event", "version"], name="roster_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.event_id} v{self.version}"
