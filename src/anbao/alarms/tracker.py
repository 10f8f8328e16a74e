"""Counter-drone multi-target tracker: radar plots, Remote ID and RF bearings fused into tracks.

Pure Python (numpy, scipy, filterpy, pyproj), no Django: the ingestion side feeds it decoded
device messages and stores the :class:`TrackSnapshot` values it returns.  The method is in
docs/counter-drone.md: a 3-D constant-velocity Kalman filter per track in a local azimuthal
equidistant frame, chi-square gating, global nearest neighbour association, M-of-N
confirmation, coasting and deletion, Remote ID identity and spoofing checks.  The types are
in ``tracker_types``, the track table and filter in ``tracker_core`` and the Remote ID fusion
in ``tracker_remoteid``; this module adds radar association, RF bearings and track upkeep.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from pyproj import Geod
from scipy.optimize import linear_sum_assignment

from anbao.alarms.tracker_core import FloatArray
from anbao.alarms.tracker_remoteid import RemoteIdFusion
from anbao.alarms.tracker_types import (
    SOURCE_RADAR,
    SOURCE_RF,
    RadarPlot,
    RfBearing,
    RfDetection,
    RfResult,
    TrackSnapshot,
)

# Effective Earth radius for radio paths (4/3 of the real one): the usual standard-atmosphere
# correction for the height a radar beam reaches at a given range and elevation.
_EFFECTIVE_EARTH_RADIUS_M = 4.0 / 3.0 * 6_371_000.0
_GEOD = Geod(ellps="WGS84")
_BIG = 1e12


def _gnn(rows_in: NDArray[np.intp], cols_in: NDArray[np.intp], d2: FloatArray) -> dict[int, int]:
    """Solve the assignment over the gated (row, col, cost) triples; return row -> col."""
    if rows_in.size == 0:
        return {}
    rows, ri = np.unique(rows_in, return_inverse=True)
    cols, ci = np.unique(cols_in, return_inverse=True)
    cost = np.full((rows.size, cols.size), _BIG)
    cost[ri, ci] = d2
    a, b = linear_sum_assignment(cost)
    return {int(rows[i]): int(cols[j]) for i, j in zip(a, b, strict=True) if cost[i, j] < _BIG}


class Tracker(RemoteIdFusion):
    """Multi-target tracker around a reference point; feed it measurements in time order."""

    # ---- radar -----------------------------------------------------------------------

    def _radar_measurements(self, plots: Sequence[RadarPlot]) -> tuple[FloatArray, FloatArray]:
        cfg = self.config
        rng = np.array([p.range_m for p in plots])
        az = np.radians([p.azimuth_deg for p in plots])
        el = np.radians([p.elevation_deg for p in plots])
        lon0 = np.array([p.origin_lon for p in plots])
        lat0 = np.array([p.origin_lat for p in plots])
        ground = rng * np.cos(el)
        # Geodesic forward from the radar, then projection: exact at any offset of the radar
        # from the frame's reference, where a plain east/north sum would not be.
        lon, lat, _ = _GEOD.fwd(lon0, lat0, np.degrees(az), ground)
        x, y = self.frame.to_xy(lon, lat)
        up = (
            np.array([p.origin_alt_m for p in plots])
            - cfg.ground_alt_m
            + rng * np.sin(el)
            + ground**2 / (2.0 * _EFFECTIVE_EARTH_RADIUS_M)
        )
        z = np.column_stack([np.asarray(x), np.asarray(y), up])
        sa, ca, se, ce = np.sin(az), np.cos(az), np.sin(el), np.cos(el)
        jac = np.empty((len(plots), 3, 3))
        jac[:, 0] = np.column_stack([ce * sa, rng * ce * ca, -rng * se * sa])
        jac[:, 1] = np.column_stack([ce * ca, -rng * ce * sa, -rng * se * ca])
        jac[:, 2] = np.column_stack([se, np.zeros_like(se), rng * ce])
        sd = np.array(
            [
                cfg.radar_range_sd_m,
                math.radians(cfg.radar_azimuth_sd_deg),
                math.radians(cfg.radar_elevation_sd_deg),
            ]
        )
        r = np.einsum("mij,j,mkj->mik", jac, sd**2, jac)
        # A floor keeps R invertible for plots right over the radar.
        r += np.eye(3) * 1.0
        return z, r

    def update_radar(self, plots: Sequence[RadarPlot]) -> list[str | None]:
        """Fuse one radar scan (plots sharing one time); return each plot's track id or None.

        None marks a plot left unused: near a firm track that already took a better plot.
        """
        if not plots:
            return []
        for plot in plots:
            if not isinstance(plot, RadarPlot):
                raise ValueError(f"expected RadarPlot, got {type(plot).__name__}")
        t0 = plots[0].t
        if any(p.t != t0 for p in plots):
            raise ValueError("all plots of one radar scan must share one time")
        t = self._advance(t0, "radar plot time")
        z, r = self._radar_measurements(plots)
        for plot in plots:
            self._radar_sites[self._xy(plot.origin_lon, plot.origin_lat)] = t
        order, pos, cov = self._predicted(t)
        assigned: dict[int, int] = {}
        suppressed: set[int] = set()
        if order:
            firm = np.array([tr.status != "tentative" for tr in order], dtype=bool)
            assigned, suppressed = self._associate(z, r, pos, cov, firm)
        result: list[str | None] = []
        hit_rows: set[int] = set()
        for i in range(len(plots)):
            row = assigned.get(i)
            if i in suppressed:
                result.append(None)
                continue
            if row is None:
                track = self._new_track(t, z[i], r[i], SOURCE_RADAR)
                track.last_radar = t
            else:
                track = order[row]
                self._update(track, t, z[i], r[i])
                track.sources.add(SOURCE_RADAR)
                track.last_radar = t
                hit_rows.add(row)
            result.append(track.track_id)
        for row, track in enumerate(order):
            if track.status == "tentative" and SOURCE_RADAR in track.sources:
                self._hit(track, row in hit_rows)
        return result

    def _associate(
        self, z: FloatArray, r: FloatArray, pos: FloatArray, cov: FloatArray, firm: FloatArray
    ) -> tuple[dict[int, int], set[int]]:
        """Global nearest neighbour: measurement index -> track row, inside the chi2 gate.

        A second pass gives plots left over to firm (confirmed or coasting) tracks left over
        inside a gate ``wide_gate_factor`` times wider; plots still left inside that wide gate
        of a firm track are returned as suppressed, so one outlier does not spawn a duplicate.
        """
        wide = self._gate * self.config.wide_gate_factor
        resid = z[:, None, :] - pos[None, :, :]
        d2e = np.einsum("mnk,mnk->mn", resid, resid)
        trace = np.trace(cov, axis1=1, axis2=2)[None, :] + np.trace(r, axis1=1, axis2=2)[:, None]
        # |r|^2 / trace(S) bounds the Mahalanobis distance from below, so this cheap test only
        # drops pairs the exact gate would drop too.
        ii, jj = np.nonzero(d2e <= wide * trace)
        if ii.size == 0:
            return {}, set()
        s = cov[jj] + r[ii]
        v = resid[ii, jj]
        d2 = np.einsum("ki,ki->k", v, np.linalg.solve(s, v[..., None])[..., 0])
        keep = d2 <= wide
        ii, jj, d2 = ii[keep], jj[keep], d2[keep]
        inner = d2 <= self._gate
        assigned = _gnn(ii[inner], jj[inner], d2[inner])
        taken_rows = set(assigned.values())
        loose = np.array(
            [
                i not in assigned and j not in taken_rows and bool(firm[j])
                for i, j in zip(ii.tolist(), jj.tolist(), strict=True)
            ],
            dtype=bool,
        )
        if loose.any():
            assigned.update(_gnn(ii[loose], jj[loose], d2[loose]))
        suppressed = {
            int(i) for i, j in zip(ii, jj, strict=True) if firm[j] and int(i) not in assigned
        }
        return assigned, suppressed

    # ---- RF --------------------------------------------------------------------------

    def update_rf(self, bearing: RfBearing) -> RfResult:
        """Corroborate tracks lying within k sigma of an RF bearing, or report an RF-only hit."""
        if not isinstance(bearing, RfBearing):
            raise ValueError(f"expected RfBearing, got {type(bearing).__name__}")
        t = self._advance(bearing.t, "RF bearing time")
        ox, oy = self._xy(bearing.origin_lon, bearing.origin_lat)
        order, pos, cov = self._predicted(t)
        corroborated: list[str] = []
        if order:
            dx, dy = pos[:, 0] - ox, pos[:, 1] - oy
            rng = np.maximum(np.hypot(dx, dy), 1.0)
            to_track = np.degrees(np.arctan2(dx, dy))
            diff = np.abs((to_track - bearing.bearing_deg + 180.0) % 360.0 - 180.0)
            pos_sd = np.sqrt(np.maximum((cov[:, 0, 0] + cov[:, 1, 1]) / 2.0, 0.0))
            angular_sd = np.degrees(np.arctan2(pos_sd, rng))
            sigma = np.hypot(bearing.bearing_sd_deg, angular_sd)
            for row in np.flatnonzero(diff <= self.config.rf_k_sigma * sigma):
                track = order[int(row)]
                track.last_rf = t
                track.sources.add(SOURCE_RF)
                corroborated.append(track.track_id)
        if corroborated:
            return RfResult(tuple(corroborated), None)
        detection = RfDetection(
            bearing.t.astimezone(UTC),
            bearing.origin_lon,
            bearing.origin_lat,
            bearing.bearing_deg,
            bearing.bearing_sd_deg,
            bearing.frequency_mhz,
            bearing.rssi_dbm,
        )
        self._rf_only.append(detection)
        return RfResult((), detection)

    def rf_only(self) -> list[RfDetection]:
        """RF-only detections younger than ``rf_only_ttl_s`` at the tracker's current time."""
        self._expire_rf()
        return list(self._rf_only)

    def _expire_rf(self) -> None:
        if self._now is None:
            return
        limit = self._now - self.config.rf_only_ttl_s
        while self._rf_only and self._rf_only[0].t.timestamp() < limit:
            self._rf_only.popleft()

    # ---- management and output -------------------------------------------------------

    def step(self, now: datetime) -> list[str]:
        """Advance to ``now``: coast silent tracks, delete stale ones; return deleted ids."""
        ts = self._advance(now, "step time")
        cfg = self.config
        deleted: list[str] = []
        for track in list(self._tracks.values()):
            age = ts - track.last_update
            if track.status == "tentative":
                if age > cfg.tentative_timeout_s:
                    self._delete(track)
                    deleted.append(track.track_id)
            elif age > cfg.delete_after_s:
                self._delete(track)
                deleted.append(track.track_id)
            elif age > cfg.coast_after_s:
                track.status = "coasting"
        self._expire_rf()
        return deleted

    def tracks(self, include_tentative: bool = False) -> list[TrackSnapshot]:
        """Snapshots of the live tracks (confirmed and coasting; tentative on request)."""
        chosen = [
            tr for tr in self._tracks.values() if include_tentative or tr.status != "tentative"
        ]
        return self._snapshots(chosen)

    def track(self, track_id: str) -> TrackSnapshot | None:
        """Snapshot of one track by id, or None if it does not exist (any more)."""
        for track in self._tracks.values():
            if track.track_id == track_id:
                return self._snapshot(track)
        return None

    def track_for_serial(self, serial: str) -> TrackSnapshot | None:
        """Snapshot of the track carrying a Remote ID serial, or None."""
        number = self._by_serial.get(serial)
        track = self._tracks.get(number) if number is not None else None
        return self._snapshot(track) if track is not None else None
