"""Posts and demand: where guards stand, what skills each post needs, and the shifts.

A post belongs to a place (a checkpoint lane, a perimeter patrol, the command centre, a reserve
base, a VIP route). Its needs are skills in counts, optionally for one event phase, one gender
and a time-of-day window. Shifts are generated from templates (3 x 8 h, 2 x 12 h, custom).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from anbao.sites.models import PhaseKind
from anbao.workforce.models.staff import GuardGender, Skill

__all__ = [
    "DemandOverride",
    "Post",
    "PostKind",
    "PostNeed",
    "Shift",
    "ShiftTemplate",
]


class PostKind(models.TextChoices):
    """The kind of place a post is at."""

    LANE = "lane", _("Checkpoint lane")
    PATROL = "patrol", _("Perimeter patrol")
    COMMAND = "command", _("Command centre")
    RESERVE = "reserve", _("Reserve base")
    VIP_ROUTE = "vip_route", _("VIP route")
    OTHER = "other", _("Other")


class Post(models.Model):
    """A fixed post with fixed responsibilities (定岗定责)."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="posts")
    code = models.SlugField(max_length=60)
    name = models.CharField(max_length=120)
    name_en = models.CharField(max_length=120, blank=True)
    kind = models.CharField(max_length=10, choices=PostKind.choices)
    checkpoint = models.ForeignKey(
        "sites.Checkpoint", null=True, blank=True, on_delete=models.CASCADE, related_name="posts"
    )
    lane = models.ForeignKey(
        "sites.Lane", null=True, blank=True, on_delete=models.CASCADE, related_name="posts"
    )
    place_code = models.SlugField(
        max_length=60, help_text="checkpoint or area code; squads are kept together per place"
    )
    place_name = models.CharField(max_length=120, blank=True)
    place_name_en = models.CharField(max_length=120, blank=True)
    lon = models.FloatField(null=True, blank=True)
    lat = models.FloatField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["event", "place_code", "code"]
        verbose_name = _("post")
        constraints = [models.UniqueConstraint(fields=["event", "code"], name="post_code_unique")]

    def __str__(self) -> str:
        return self.code


class PostNeed(models.Model):
    """A post needs count guards with a skill (and a gender) in a phase and time window."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="needs")
    phase = models.CharField(
        max_length=20, choices=PhaseKind.choices, blank=True, help_text="empty: every phase"
    )
    skill = models.CharField(max_length=12, choices=Skill.choices)
    count = models.PositiveSmallIntegerField(default=1)
    gender = models.CharField(max_length=6, choices=GuardGender.choices, blank=True)
    from_time = models.TimeField(null=True, blank=True, help_text="local time of day; empty: 24 h")
    to_time = models.TimeField(null=True, blank=True)
    soft = models.BooleanField(default=False, help_text="fill if possible (reserve pool)")

    class Meta:
        ordering = ["post", "phase", "skill"]
        verbose_name = _("post need")

    def __str__(self) -> str:
        return f"{self.post.code}: {self.count} x {self.skill}"


class ShiftTemplate(models.Model):
    """A day's shift pattern, e.g. 3 x 8 h or 2 x 12 h, as ``[{code, start, hours}]``."""

    event = models.ForeignKey(
        "sites.Event", on_delete=models.CASCADE, related_name="shift_templates"
    )
    code = models.SlugField(max_length=20)
    name = models.CharField(max_length=60)
    pattern = models.JSONField(help_text='[{"code": "D", "start": "08:00", "hours": 8}, ...]')
    phase = models.CharField(
        max_length=20, choices=PhaseKind.choices, blank=True, help_text="empty: default"
    )

    class Meta:
        ordering = ["event", "code"]
        verbose_name = _("shift template")
        constraints = [
            models.UniqueConstraint(fields=["event", "code"], name="shift_template_code_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Shift(models.Model):
    """One dated shift of the event."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="shifts")
    template = models.ForeignKey(
        ShiftTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="shifts"
    )
    code = models.CharField(max_length=8)
    day = models.DateField(help_text="the local date the shift starts on")
    start = models.DateTimeField()
    end = models.DateTimeField()
    phase = models.CharField(max_length=20, choices=PhaseKind.choices, blank=True)

    class Meta:
        ordering = ["event", "start", "code"]
        verbose_name = _("shift")
        constraints = [
            models.UniqueConstraint(fields=["event", "start", "code"], name="shift_unique"),
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="shift_order"
            ),
        ]
        indexes = [models.Index(fields=["event", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.code}"

    @property
    def hours(self) -> float:
        """Return the shift's length in hours."""
        return (self.end - self.start).total_seconds() / 3600


class DemandOverride(models.Model):
    """A planner's change to a post's need for the shifts overlapping a time range."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="overrides")
    skill = models.CharField(max_length=12, choices=Skill.choices)
    gender = models.CharField(max_length=6, choices=GuardGender.choices, blank=True)
    count = models.PositiveSmallIntegerField(help_text="replaces the derived count")
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["post", "start"]
        verbose_name = _("demand override")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="demand_override_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.post.code} {self.skill}={self.count}"
