"""The counter-drone tracker's core: time, the track table, the Kalman filter, snapshots.

Pure Python (numpy, filterpy), no Django. :class:`TrackerCore` keeps the tracks and their
3-D constant-velocity filters in the local frame; :class:`anbao.alarms.tracker.Tracker`
builds the radar, Remote ID and RF fusion on it. The method is in docs/counter-drone.md.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np
from filterpy.common import Q_discrete_white_noise
from filterpy.kalman import KalmanFilter
from numpy.typing import NDArray
from scipy.stats import chi2

from anbao.alarms.tracker_types import (
    Compliance,
    LocalFrame,
    RfDetection,
    SpoofFlag,
    TrackerConfig,
    TrackSnapshot,
    TrackStatus,
    require_aware,
)

FloatArray = NDArray[np.float64]
_POS = np.array([0, 2, 4])
_VEL = np.array([1, 3, 5])
_H = np.zeros((3, 6))
_H[0, 0] = _H[1, 2] = _H[2, 4] = 1.0


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


@dataclass(slots=True)
class _Identity:
    """What Remote ID has told about one serial, merged over reports."""

    serial: str
    operator_id: str | None = None
    operator_lon: float | None = None
    operator_lat: float | None = None
    operator_alt_m: float | None = None
    operator_location_type: int | None = None
    operator_position_at: float | None = None
    self_id: str | None = None
    has_system: bool = False


@dataclass(slots=True)
class _Track:
    number: int
    kf: KalmanFilter
    first_seen: float
    last_update: float
    status: TrackStatus = "tentative"
    history: deque[bool] = field(default_factory=deque)
    hits: int = 1
    sources: set[str] = field(default_factory=set)
    serial: str | None = None
    rid_anonymous: bool = False
    rid_located: bool = False
    last_radar: float | None = None
    last_rid: float | None = None
    last_rf: float | None = None
    rid_last: tuple[float, float, float] | None = None  # t, x, y of the last claimed position
    flags: list[SpoofFlag] = field(default_factory=list)
    row: int = -1

    @property
    def track_id(self) -> str:
        return f"T{self.number:06d}"


@lru_cache(maxsize=4096)
def _transition(dt_ms: int, var_h: float, var_v: float) -> tuple[FloatArray, FloatArray]:
    # Cached per millisecond of dt: Q_discrete_white_noise is costly to rebuild per update.
    dt = dt_ms / 1000.0
    f = np.eye(6)
    f[0, 1] = f[2, 3] = f[4, 5] = dt
    q = np.zeros((6, 6))
    q[:4, :4] = Q_discrete_white_noise(dim=2, dt=dt, var=var_h, block_size=2)
    q[4:, 4:] = Q_discrete_white_noise(dim=2, dt=dt, var=var_v)
    f.setflags(write=False)
    q.setflags(write=False)
    return f, q


class TrackerCore:
    """The track table and its filters; the fusion of measurements is in Tracker."""

    def __init__(
        self, reference_lon: float, reference_lat: float, config: TrackerConfig | None = None
    ) -> None:
        self.frame = LocalFrame(reference_lon, reference_lat)
        self.config = config or TrackerConfig()
        self._gate = float(chi2.ppf(self.config.gate_probability, 3))
        self._var_h = self.config.accel_sd_horizontal_mps2**2
        self._var_v = self.config.accel_sd_vertical_mps2**2
        self._tracks: dict[int, _Track] = {}
        self._by_serial: dict[str, int] = {}
        self._identities: dict[str, _Identity] = {}
        self._transmitters: dict[str, str] = {}
        self._next = 1
        self._now: float | None = None
        self._origins: dict[tuple[float, float], tuple[float, float]] = {}
        self._radar_sites: dict[tuple[float, float], float] = {}  # origin xy -> last scan time
        self._rf_only: deque[RfDetection] = deque()
        self._dirty = True
        self._order: list[_Track] = []
        self._x: FloatArray = np.zeros((0, 6))
        self._p: FloatArray = np.zeros((0, 6, 6))
        self._t: FloatArray = np.zeros(0)

    # ---- time and arrays -------------------------------------------------------------

    def _advance(self, t: datetime, what: str) -> float:
        ts = require_aware(t, what)
        if self._now is not None and ts < self._now - self.config.max_lateness_s:
            raise ValueError(
                f"{what} {t.isoformat()} is out of order: the tracker is at "
                f"{_utc(self._now).isoformat()} (lateness allowed "
                f"{self.config.max_lateness_s} s)"
            )
        if self._now is None or ts > self._now:
            self._now = ts
        return ts

    def _xy(self, lon: float, lat: float) -> tuple[float, float]:
        key = (lon, lat)
        found = self._origins.get(key)
        if found is None:
            x, y = self.frame.to_xy(lon, lat)
            found = (float(x), float(y))
            if len(self._origins) < 10_000:
                self._origins[key] = found
        return found

    def _arrays(self) -> tuple[list[_Track], FloatArray, FloatArray, FloatArray]:
        if self._dirty:
            self._order = list(self._tracks.values())
            n = len(self._order)
            self._x = np.empty((n, 6))
            self._p = np.empty((n, 6, 6))
            self._t = np.empty(n)
            for row, track in enumerate(self._order):
                track.row = row
                self._x[row] = track.kf.x[:, 0]
                self._p[row] = track.kf.P
                self._t[row] = track.last_update
            self._dirty = False
        return self._order, self._x, self._p, self._t

    def _sync(self, track: _Track) -> None:
        if not self._dirty and track.row >= 0:
            self._x[track.row] = track.kf.x[:, 0]
            self._p[track.row] = track.kf.P
            self._t[track.row] = track.last_update

    def _predicted(self, t: float) -> tuple[list[_Track], FloatArray, FloatArray]:
        """Positions and position covariances of all tracks extrapolated to ``t``."""
        order, x, p, tt = self._arrays()
        dt = np.maximum(t - tt, 0.0)
        pos = x[:, _POS] + dt[:, None] * x[:, _VEL]
        ppp = p[:, _POS][:, :, _POS]
        ppv = p[:, _POS][:, :, _VEL]
        pvv = p[:, _VEL][:, :, _VEL]
        d = dt[:, None, None]
        cov = ppp + d * (ppv + np.transpose(ppv, (0, 2, 1))) + d * d * pvv
        q = 0.25 * dt**4
        cov[:, 0, 0] += q * self._var_h
        cov[:, 1, 1] += q * self._var_h
        cov[:, 2, 2] += q * self._var_v
        return order, pos, cov

    # ---- filter ----------------------------------------------------------------------

    def _new_track(self, t: float, z: FloatArray, r: FloatArray, source: str) -> _Track:
        kf = KalmanFilter(dim_x=6, dim_z=3)
        kf.H = _H
        kf.x = np.zeros((6, 1))
        kf.x[_POS, 0] = z
        p = np.zeros((6, 6))
        p[np.ix_(_POS, _POS)] = r
        vsd = self.config.initial_velocity_sd_mps
        p[1, 1] = p[3, 3] = vsd**2
        p[5, 5] = (vsd / 4.0) ** 2
        kf.P = p
        track = _Track(self._next, kf, first_seen=t, last_update=t)
        track.history.append(True)
        track.sources.add(source)
        self._next += 1
        self._tracks[track.number] = track
        self._dirty = True
        return track

    def _reseat(self, track: _Track, z: FloatArray, r: FloatArray) -> None:
        """Restart a track's filter at ``z``, keeping its identity (after an RID-only jump)."""
        kf = track.kf
        kf.x = np.zeros((6, 1))
        kf.x[_POS, 0] = z
        p = np.zeros((6, 6))
        p[np.ix_(_POS, _POS)] = r
        vsd = self.config.initial_velocity_sd_mps
        p[1, 1] = p[3, 3] = vsd**2
        p[5, 5] = (vsd / 4.0) ** 2
        kf.P = p

    def _update(self, track: _Track, t: float, z: FloatArray, r: FloatArray) -> None:
        dt = t - track.last_update
        if dt > 0:
            f, q = _transition(round(dt * 1000), self._var_h, self._var_v)
            track.kf.predict(F=f, Q=q)
            track.last_update = t
        track.kf.update(z, R=r)
        track.hits += 1
        if track.status == "coasting":
            track.status = "confirmed"
        self._sync(track)

    def _hit(self, track: _Track, hit: bool) -> None:
        """Record an M-of-N opportunity for a tentative track; confirm or drop it."""
        if track.status != "tentative":
            return
        cfg = self.config
        track.history.append(hit)
        while len(track.history) > cfg.confirm_window:
            track.history.popleft()
        hits = sum(track.history)
        if hits >= cfg.confirm_hits:
            track.status = "confirmed"
        elif hits + (cfg.confirm_window - len(track.history)) < cfg.confirm_hits:
            self._delete(track)

    def _delete(self, track: _Track) -> None:
        self._tracks.pop(track.number, None)
        if track.serial is not None and self._by_serial.get(track.serial) == track.number:
            del self._by_serial[track.serial]
        self._dirty = True

    # ---- output --------------------------------------------------------------------

    def _snapshot(self, track: _Track) -> TrackSnapshot:
        return self._snapshots([track])[0]

    def _snapshots(self, chosen: Iterable[_Track]) -> list[TrackSnapshot]:
        tracks = list(chosen)
        if not tracks:
            return []
        xs = np.array([tr.kf.x[:, 0] for tr in tracks])
        lon, lat = self.frame.to_lonlat(xs[:, 0], xs[:, 2])
        lon, lat = np.atleast_1d(lon), np.atleast_1d(lat)
        out = []
        for i, tr in enumerate(tracks):
            x = xs[i]
            p = tr.kf.P
            ident = self._identities.get(tr.serial) if tr.serial is not None else None
            ve, vn, vu = float(x[1]), float(x[3]), float(x[5])
            horizontal = np.array([[p[0, 0], p[0, 2]], [p[2, 0], p[2, 2]]])
            major = float(np.linalg.eigvalsh(horizontal)[-1])
            out.append(
                TrackSnapshot(
                    track_id=tr.track_id,
                    status=tr.status,
                    lon=float(lon[i]),
                    lat=float(lat[i]),
                    alt_m=float(x[4]),
                    x_m=float(x[0]),
                    y_m=float(x[2]),
                    velocity_east_mps=ve,
                    velocity_north_mps=vn,
                    velocity_up_mps=vu,
                    speed_mps=math.hypot(ve, vn),
                    heading_deg=math.degrees(math.atan2(ve, vn)) % 360.0,
                    position_sd_m=math.sqrt(max(major, 0.0)),
                    altitude_sd_m=math.sqrt(max(float(p[4, 4]), 0.0)),
                    sources=tuple(sorted(tr.sources)),
                    first_seen=_utc(tr.first_seen),
                    last_update=_utc(tr.last_update),
                    hits=tr.hits,
                    serial=tr.serial,
                    operator_id=ident.operator_id if ident else None,
                    operator_lon=ident.operator_lon if ident else None,
                    operator_lat=ident.operator_lat if ident else None,
                    operator_alt_m=ident.operator_alt_m if ident else None,
                    operator_location_type=ident.operator_location_type if ident else None,
                    operator_position_at=(
                        _utc(ident.operator_position_at)
                        if ident and ident.operator_position_at is not None
                        else None
                    ),
                    self_id=ident.self_id if ident else None,
                    remote_id_compliance=self._compliance(tr, ident),
                    spoof_flags=tuple(tr.flags),
                    last_radar=_utc(tr.last_radar) if tr.last_radar is not None else None,
                    last_remote_id=_utc(tr.last_rid) if tr.last_rid is not None else None,
                    last_rf=_utc(tr.last_rf) if tr.last_rf is not None else None,
                )
            )
        return out

    @staticmethod
    def _compliance(track: _Track, ident: _Identity | None) -> Compliance:
        """Full: serial, position, operator position and operator id; partial: some of them."""
        if ident is None:
            return "partial" if track.rid_anonymous or track.last_rid is not None else "none"
        full = (
            track.rid_located
            and ident.operator_lat is not None
            and ident.operator_lon is not None
            and ident.operator_id is not None
        )
        return "full" if full else "partial"
