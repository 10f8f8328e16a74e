"""Staff and resources: employers, squads, guards, qualifications, leave, dogs.

A guard's phone is encrypted at rest and masked on screens. Guards belong to the contractor,
not to one event; squads, posts and rosters belong to an event.
"""

from __future__ import annotations

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from anbao.core import crypto
from anbao.core.fields import EncryptedTextField

StrOrPromise = str | Promise

__all__ = [
    "SKILL_SHORT",
    "Dog",
    "DogDetection",
    "Employer",
    "EnglishLevel",
    "Guard",
    "GuardGender",
    "Leave",
    "LeaveKind",
    "Qualification",
    "Skill",
    "Squad",
]


class Skill(models.TextChoices):
    """A qualification a post can require; most carry a certificate with an expiry date."""

    LICENCE = "licence", _("Security guard licence")
    XRAY = "xray", _("X-ray screener")
    SEARCH = "search", _("Handheld and search")
    VEHICLE = "vehicle", _("Vehicle inspection")
    CANINE = "canine", _("Canine handler")
    LEADER = "leader", _("Team leader")
    FIRST_AID = "first_aid", _("First aid")
    DRIVER = "driver", _("Driver")
    ENGLISH = "english", _("Spoken English")


#: Short skill names for crowded roster cells.
SKILL_SHORT: dict[str, StrOrPromise] = {
    Skill.LICENCE: pgettext_lazy("skill", "Guard"),
    Skill.XRAY: pgettext_lazy("skill", "X-ray"),
    Skill.SEARCH: pgettext_lazy("skill", "Search"),
    Skill.VEHICLE: pgettext_lazy("skill", "Vehicle"),
    Skill.CANINE: pgettext_lazy("skill", "Dog"),
    Skill.LEADER: pgettext_lazy("skill", "Leader"),
    Skill.FIRST_AID: pgettext_lazy("skill", "Medic"),
    Skill.DRIVER: pgettext_lazy("skill", "Driver"),
    Skill.ENGLISH: pgettext_lazy("skill", "English"),
}


class Employer(models.Model):
    """The company or a subcontractor that employs guards."""

    name = models.CharField(max_length=200, unique=True)
    name_en = models.CharField(max_length=200, blank=True)
    subcontractor = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("employer")

    def __str__(self) -> str:
        return self.name


class Squad(models.Model):
    """A team of guards kept together where possible, with its leader."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="squads")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=100)
    leader = models.ForeignKey(
        "Guard", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reserve = models.BooleanField(default=False, help_text="a reserve (机动) squad")
    place_code = models.SlugField(
        max_length=60, blank=True, help_text="the checkpoint or area the squad works at"
    )

    class Meta:
        ordering = ["event", "code"]
        verbose_name = _("squad")
        constraints = [models.UniqueConstraint(fields=["event", "code"], name="squad_code_unique")]

    def __str__(self) -> str:
        return self.name


class GuardGender(models.TextChoices):
    """Needed for pat-down posts."""

    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class EnglishLevel(models.TextChoices):
    """Spoken English, as assessed in training."""

    NONE = "none", _("None")
    BASIC = "basic", _("Basic")
    WORKING = "working", _("Working")
    FLUENT = "fluent", _("Fluent")


class Guard(models.Model):
    """A guard: identity, employer, squad, languages and base; phone encrypted at rest."""

    employee_no = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=100, blank=True)
    gender = models.CharField(max_length=6, choices=GuardGender.choices)
    phone = EncryptedTextField(blank=True, default="")
    employer = models.ForeignKey(Employer, on_delete=models.PROTECT, related_name="guards")
    squad = models.ForeignKey(
        Squad, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    english = models.CharField(
        max_length=8, choices=EnglishLevel.choices, default=EnglishLevel.NONE
    )
    languages = models.CharField(max_length=100, blank=True, help_text="comma-separated")
    party_member = models.BooleanField(default=False)
    base_name = models.CharField(max_length=100, blank=True, help_text="hotel or home")
    base_lon = models.FloatField(null=True, blank=True)
    base_lat = models.FloatField(null=True, blank=True)
    max_hours_week = models.FloatField(null=True, blank=True)
    person = models.ForeignKey(
        "accreditation.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="guard_profiles",
        help_text="the accredited person whose badge the guard scans at check-in",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["employee_no"]
        verbose_name = _("guard")

    def __str__(self) -> str:
        return f"{self.employee_no} {self.name}"

    def masked_phone(self) -> str:
        """Return the phone with its middle hidden (for screens)."""
        return crypto.mask(self.phone or "", keep_start=3, keep_end=4) if self.phone else ""


class Qualification(models.Model):
    """A skill a guard holds, with its certificate number and expiry."""

    guard = models.ForeignKey(Guard, on_delete=models.CASCADE, related_name="qualifications")
    skill = models.CharField(max_length=12, choices=Skill.choices)
    certificate_no = models.CharField(max_length=60, blank=True)
    issued = models.DateField(null=True, blank=True)
    expires = models.DateField(null=True, blank=True, help_text="empty: does not expire")

    class Meta:
        ordering = ["guard", "skill"]
        verbose_name = _("qualification")
        constraints = [
            models.UniqueConstraint(fields=["guard", "skill"], name="qualification_once")
        ]

    def __str__(self) -> str:
        return f"{self.guard_id} {self.skill}"


class LeaveKind(models.TextChoices):
    """Why a guard is not available."""

    LEAVE = "leave", _("Leave")
    SICK = "sick", _("Sick")
    TRAINING = "training", _("Training")
    ABSENT = "absent", _("Absent")
    OTHER = "other", _("Other")


class Leave(models.Model):
    """A time a guard is not available for duty."""

    guard = models.ForeignKey(Guard, on_delete=models.CASCADE, related_name="leaves")
    kind = models.CharField(max_length=10, choices=LeaveKind.choices, default=LeaveKind.LEAVE)
    start = models.DateTimeField()
    end = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["guard", "start"]
        verbose_name = _("leave")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="leave_order"
            )
        ]

    def __str__(self) -> str:
        return f"{self.guard_id} {self.kind} {self.start:%Y-%m-%d}"


class DogDetection(models.TextChoices):
    """What a detection dog searches for."""

    EXPLOSIVES = "explosives", _("Explosives")
    DRUGS = "drugs", _("Drugs")


class Dog(models.Model):
    """A detection dog with its handler and its work/rest limits."""

    name = models.CharField(max_length=60)
    chip_no = models.CharField(max_length=40, unique=True)
    handler = models.ForeignKey(Guard, on_delete=models.PROTECT, related_name="dogs")
    detection = models.CharField(max_length=12, choices=DogDetection.choices)
    max_hours_day = models.FloatField(default=8)
    min_rest_hours = models.FloatField(default=16)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("dog")

    def __str__(self) -> str:
        return self.name
