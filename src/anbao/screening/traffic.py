"""Simulated checkpoint traffic: arrival profiles and the mix of what arrivals carry.

Pure (no Django): the demo's in-process simulator and ``anbao gate sim`` draw from the same
model. The rates follow the reference case: 0.72 % of the people screened carried an item to
seize (14,019 of 1,937,867) and about 5 % carried a bag (96,735).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import time

__all__ = [
    "BAD_KINDS",
    "MORNING_RUSH",
    "Arrival",
    "ArrivalProfile",
    "Mix",
    "item_weights",
    "poisson",
]

#: Kinds of bad credential a simulated arrival may present.
BAD_KINDS = ("revoked", "wrong_zone", "tampered")


@dataclass(frozen=True)
class ArrivalProfile:
    """Arrivals per lane per minute through the day, linear between (local time, rate) points."""

    name: str
    points: tuple[tuple[time, float], ...]

    def __post_init__(self) -> None:
        if not self.points:
            raise ValueError("a profile needs at least one point")
        minutes = [_minutes(t) for t, _ in self.points]
        if minutes != sorted(minutes) or len(set(minutes)) != len(minutes):
            raise ValueError("profile points must be in strictly increasing time order")
        if any(rate < 0 for _, rate in self.points):
            raise ValueError("rates cannot be negative")

    def rate(self, at: time) -> float:
        """Return the arrival rate per lane per minute at local time ``at``."""
        minutes = [_minutes(t) for t, _ in self.points]
        x = _minutes(at)
        i = bisect_right(minutes, x)
        if i == 0:
            return self.points[0][1]
        if i == len(minutes):
            return self.points[-1][1]
        (x0, y0), (x1, y1) = (
            (minutes[i - 1], self.points[i - 1][1]),
            (minutes[i], self.points[i][1]),
        )
        return y0 + (y1 - y0) * (x - x0) / (x1 - x0)

    def scaled(self, factor: float) -> ArrivalProfile:
        """Return the same shape with every rate multiplied by ``factor``."""
        return ArrivalProfile(self.name, tuple((t, r * factor) for t, r in self.points))


def _minutes(t: time) -> float:
    return t.hour * 60 + t.minute + t.second / 60


#: The morning of an opening ceremony at 09:00: a trickle from 06:00, a rush from 07:30 that
#: outruns a lane's service (about 8 people a minute through a detector and X-ray), then calm.
MORNING_RUSH = ArrivalProfile(
    "morning-rush",
    (
        (time(0, 0), 0.2),
        (time(6, 0), 1.0),
        (time(7, 0), 4.0),
        (time(7, 30), 9.0),
        (time(8, 30), 11.0),
        (time(9, 0), 3.0),
        (time(12, 0), 2.0),
        (time(13, 30), 4.0),
        (time(18, 0), 2.0),
        (time(22, 0), 0.5),
        (time(23, 59), 0.2),
    ),
)


def poisson(mean: float, rng: random.Random) -> int:
    """Draw a Poisson count with ``mean`` (Knuth for small means, normal beyond 30)."""
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def item_weights(items: Sequence[tuple[str, int, str]]) -> list[tuple[str, float]]:
    """Weight seizure items from the taxonomy's ``(code, common rank, class)``.

    The ten common items follow Zipf's law by rank; other restricted items are rare and other
    prohibited ones rarer still, as at a real checkpoint.
    """
    out: list[tuple[str, float]] = []
    for code, rank, item_class in items:
        if rank > 0:
            out.append((code, 1.0 / rank))
        else:
            out.append((code, 0.01 if item_class == "restricted" else 0.0005))
    return out


@dataclass(frozen=True)
class Arrival:
    """One simulated person at a lane: what they carry and what credential they show."""

    bag: bool
    item: str | None
    bad: str | None


@dataclass
class Mix:
    """Shares of bags, seizures and bad credentials among arrivals."""

    seizure_rate: float = 0.0072
    bag_rate: float = 0.05
    bad_rates: dict[str, float] = field(
        default_factory=lambda: {"revoked": 0.002, "wrong_zone": 0.004, "tampered": 0.001}
    )
    items: list[tuple[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name, value in (("seizure_rate", self.seizure_rate), ("bag_rate", self.bag_rate)):
            if not 0 <= value <= 1:
                raise ValueError(f"{name} must lie between 0 and 1")
        unknown = set(self.bad_rates) - set(BAD_KINDS)
        if unknown:
            raise ValueError(f"unknown bad credential kinds: {sorted(unknown)}")
        if sum(self.bad_rates.values()) > 1 or any(v < 0 for v in self.bad_rates.values()):
            raise ValueError("bad credential shares must be non-negative and sum to at most 1")
        self._codes = [code for code, _ in self.items]
        self._cum: list[float] = []
        total = 0.0
        for _, weight in self.items:
            total += weight
            self._cum.append(total)

    def draw(self, rng: random.Random) -> Arrival:
        """Draw what one arrival carries and shows."""
        item = None
        if self._cum and rng.random() < self.seizure_rate:
            x = rng.random() * self._cum[-1]
            item = self._codes[min(bisect_right(self._cum, x), len(self._codes) - 1)]
        bad = None
        x = rng.random()
        for kind in BAD_KINDS:
            share = self.bad_rates.get(kind, 0.0)
            if x < share:
                bad = kind
                break
            x -= share
        return Arrival(bag=rng.random() < self.bag_rate, item=item, bad=bad)
