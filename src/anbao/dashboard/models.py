"""What the big screen keeps for replay: a minute-by-minute record of the present-only state.

Passages, alarms and incidents are stored with their times, so the screen at a past moment is
computed from them. Zone occupancy, the reserve units' states, the guards on post and the
incidents' states are kept only as they are now; a frame each minute keeps them for replay.
"""

from __future__ import annotations

from django.db import models


class ScreenFrame(models.Model):
    """The present-only parts of the big screen at one minute."""

    event = models.ForeignKey("sites.Event", on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(help_text="the minute, UTC")
    data = models.JSONField(help_text="zones, reserves and incidents as the screen showed them")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "at"], name="dashboard_frame_once_a_minute")
        ]
        indexes = [models.Index(fields=["event", "-at"], name="dashboard_frame_latest")]

    def __str__(self) -> str:
        return f"{self.event_id} {self.at:%Y-%m-%d %H:%M}"
