"""Remote ID fusion for the counter-drone tracker: identity, position and spoofing checks.

Pure Python (numpy), no Django. :class:`RemoteIdFusion` merges decoded Remote ID messages
into per-serial identities, fuses the broadcast positions into tracks and flags positions
that radar, the receiver's range or the aircraft's speed contradict; docs/counter-drone.md
explains the checks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from anbao.alarms.remoteid import BasicId, Location, OperatorId, SelfId, SingleMessage, System
from anbao.alarms.tracker_core import (
    _POS,
    FloatArray,
    TrackerCore,
    _Identity,
    _Track,
    _transition,
    _utc,
)
from anbao.alarms.tracker_types import (
    SOURCE_RADAR,
    SOURCE_REMOTE_ID,
    SpoofFlag,
    TrackSnapshot,
    require_lon_lat,
)


class RemoteIdFusion(TrackerCore):
    """Remote ID fusion on top of the track table; Tracker adds radar and RF."""

    def _flag(self, track: _Track, t: float, code: str, reason: str) -> None:
        track.flags.append(SpoofFlag(code, reason, _utc(t)))
        del track.flags[: -self.config.max_spoof_flags]

    def update_remote_id(
        self,
        t: datetime,
        messages: Sequence[SingleMessage],
        receiver: tuple[float, float],
        transmitter: str | None = None,
    ) -> TrackSnapshot | None:
        """Fuse one Remote ID report (decoded messages); return the track it updated, if any.

        ``transmitter`` (e.g. the Bluetooth/Wi-Fi MAC) links messages that carry no Basic ID
        to a serial seen earlier from the same transmitter.
        """
        receiver_lon, receiver_lat = receiver
        require_lon_lat(receiver_lon, receiver_lat, "Remote ID receiver")
        ts = self._advance(t, "Remote ID time")
        basic: BasicId | None = None
        location: Location | None = None
        system: System | None = None
        operator: OperatorId | None = None
        self_id: SelfId | None = None
        for message in messages:
            if isinstance(message, BasicId):
                # A serial number (type 1) beats a registration or session id for identity.
                if message.uas_id and (basic is None or message.id_type == 1):
                    basic = message
            elif isinstance(message, Location):
                if message.latitude is not None and message.longitude is not None:
                    location = message
            elif isinstance(message, System):
                system = message
            elif isinstance(message, OperatorId):
                operator = message
            elif isinstance(message, SelfId):
                self_id = message
            elif not hasattr(message, "protocol_version"):
                raise ValueError(f"not a Remote ID message: {type(message).__name__}")
        serial = basic.uas_id if basic is not None else None
        if serial is None and transmitter is not None:
            serial = self._transmitters.get(transmitter)
        if serial is not None:
            if transmitter is not None:
                self._transmitters[transmitter] = serial
            ident = self._identities.get(serial)
            if ident is None:
                ident = self._identities[serial] = _Identity(serial)
            if operator is not None and operator.operator_id:
                ident.operator_id = operator.operator_id
            if self_id is not None and self_id.description:
                ident.self_id = self_id.description
            if system is not None:
                ident.has_system = True
                ident.operator_location_type = system.operator_location_type
                ident.operator_lon = system.operator_longitude
                ident.operator_lat = system.operator_latitude
                ident.operator_alt_m = system.operator_altitude_geo_m
                ident.operator_position_at = (
                    system.timestamp.timestamp() if system.timestamp is not None else ts
                )
        if location is None:
            number = self._by_serial.get(serial) if serial is not None else None
            if number is not None and number in self._tracks:
                track = self._tracks[number]
                track.last_rid = ts
                return self._snapshot(track)
            return None
        return self._snapshot(self._rid_location(ts, serial, location, receiver))

    # The name the counter-drone issue uses for the same entry point.
    observe_remote_id = update_remote_id

    def _rid_measurement(self, location: Location) -> tuple[FloatArray, FloatArray]:
        cfg = self.config
        if location.longitude is None or location.latitude is None:
            raise ValueError("Remote ID location has no position")
        x, y = self.frame.to_xy(location.longitude, location.latitude)
        # Height above ground is what the airspace floor/ceiling use; fall back to the
        # ellipsoid, barometric, then above-take-off figures.
        if location.height_m is not None and location.height_type == 1:
            up = location.height_m
        elif location.altitude_geo_m is not None:
            up = location.altitude_geo_m - cfg.ground_alt_m
        elif location.altitude_baro_m is not None:
            up = location.altitude_baro_m - cfg.ground_alt_m
        elif location.height_m is not None:
            up = location.height_m
        else:
            up = 0.0
        h = location.horizontal_accuracy_m or cfg.rid_default_accuracy_m
        v = location.vertical_accuracy_m or cfg.rid_default_vertical_accuracy_m
        # The accuracy categories are 95 % bounds; halve them for a 1-sigma figure.
        r = np.diag([(h / 2.0) ** 2, (h / 2.0) ** 2, (v / 2.0) ** 2])
        return np.array([float(x), float(y), float(up)]), r

    def _rid_location(
        self,
        t: float,
        serial: str | None,
        location: Location,
        receiver: tuple[float, float],
    ) -> _Track:
        cfg = self.config
        z, r = self._rid_measurement(location)
        number = self._by_serial.get(serial) if serial is not None else None
        track = self._tracks.get(number) if number is not None else None
        flags: list[tuple[str, str]] = []
        rx, ry = self._xy(*receiver)
        distance_rx = math.hypot(z[0] - rx, z[1] - ry)
        if distance_rx > cfg.rid_max_range_m:
            flags.append(
                (
                    "beyond_receiver_range",
                    f"claimed position {distance_rx:.0f} m from the receiver, more than the "
                    f"{cfg.rid_max_range_m:.0f} m a Remote ID broadcast carries",
                )
            )
        if track is None:
            track = self._rid_attach(t, z, r)
            if track is None:
                track = self._new_track(t, z, r, SOURCE_REMOTE_ID)
            elif not flags:
                self._update(track, t, z, r)
            if serial is not None:
                track.serial = serial
                self._by_serial[serial] = track.number
            else:
                track.rid_anonymous = True
        else:
            if track.rid_last is not None:
                lt, lx, ly = track.rid_last
                jump = math.hypot(z[0] - lx, z[1] - ly)
                # Reports closer than 0.1 s apart still cannot jump further than 6 m at 60 m/s.
                speed = jump / max(t - lt, 0.1)
                if speed > cfg.max_drone_speed_mps:
                    flags.append(
                        (
                            "implausible_jump",
                            f"claimed position moved {jump:.0f} m in {t - lt:.1f} s "
                            f"({speed:.0f} m/s, above {cfg.max_drone_speed_mps:.0f} m/s)",
                        )
                    )
            radar_backed = (
                track.last_radar is not None and t - track.last_radar <= cfg.radar_support_s
            )
            if radar_backed:
                dt = max(t - track.last_update, 0.0)
                px = track.kf.x[0, 0] + dt * track.kf.x[1, 0]
                py = track.kf.x[2, 0] + dt * track.kf.x[3, 0]
                off = math.hypot(z[0] - px, z[1] - py)
                sd = math.sqrt(track.kf.P[0, 0] + track.kf.P[2, 2] + r[0, 0] + r[1, 1])
                limit = max(cfg.spoof_distance_m, 3.0 * sd)
                if off > limit:
                    flags.append(
                        (
                            "radar_mismatch",
                            f"claimed position {off:.0f} m from the radar track "
                            f"(limit {limit:.0f} m)",
                        )
                    )
            if not flags:
                if not radar_backed and self._outside_gate(track, t, z, r):
                    self._reseat(track, z, r)
                    track.last_update = t
                    track.hits += 1
                    self._sync(track)
                else:
                    self._update(track, t, z, r)
        if (
            SOURCE_RADAR not in track.sources or t - (track.last_radar or t) > cfg.radar_support_s
        ) and not any(f.code == "radar_mismatch" for f in track.flags):
            twin = self._radar_twin(t, z, location)
            if twin is not None:
                flags.append(twin)
        if (
            track.last_radar is None
            and t - track.first_seen >= cfg.no_radar_return_s
            and self._radar_watching(t, z)
            and not any(f.code == "no_radar_return" for f in track.flags)
        ):
            flags.append(
                (
                    "no_radar_return",
                    f"claimed position inside radar coverage but no radar return in "
                    f"{t - track.first_seen:.0f} s",
                )
            )
        for code, reason in flags:
            self._flag(track, t, code, reason)
        track.sources.add(SOURCE_REMOTE_ID)
        track.rid_located = True
        track.last_rid = t
        track.rid_last = (t, float(z[0]), float(z[1]))
        if track.status == "tentative":
            self._hit(track, True)
        return track

    def _outside_gate(self, track: _Track, t: float, z: FloatArray, r: FloatArray) -> bool:
        dt = max(t - track.last_update, 0.0)
        f, q = _transition(round(dt * 1000), self._var_h, self._var_v)
        x = f @ track.kf.x[:, 0]
        p = f @ track.kf.P @ f.T + q
        s = p[np.ix_(_POS, _POS)] + r
        v = z - x[_POS]
        return float(v @ np.linalg.solve(s, v)) > self._gate

    def _radar_watching(self, t: float, z: FloatArray) -> bool:
        """Whether a radar that scanned recently covers the horizontal position ``z``."""
        return any(
            t - seen <= self.config.radar_support_s
            and math.hypot(z[0] - ox, z[1] - oy) <= self.config.radar_coverage_m
            for (ox, oy), seen in self._radar_sites.items()
        )

    def _rid_attach(self, t: float, z: FloatArray, r: FloatArray) -> _Track | None:
        """Find the unidentified track that a new serial's first position report belongs to."""
        order, pos, cov = self._predicted(t)
        if not order:
            return None
        # Anonymous Remote ID tracks are free too: a Basic ID may arrive after the Location.
        free = np.array([tr.serial is None for tr in order])
        resid = z[None, :] - pos
        d2 = np.einsum("nk,nk->n", resid, np.linalg.solve(cov + r[None], resid[..., None])[..., 0])
        horizontal = np.hypot(resid[:, 0], resid[:, 1])
        ok = free & (d2 <= self._gate) & (horizontal <= self.config.spoof_distance_m)
        if not ok.any():
            return None
        return order[int(np.argmin(np.where(ok, d2, np.inf)))]

    def _radar_twin(self, t: float, z: FloatArray, location: Location) -> tuple[str, str] | None:
        """Flag a claimed position with no echo when one radar track nearby flies its velocity.

        The only unidentified firm radar track within ``spoof_search_m`` whose velocity is
        within ``spoof_velocity_match_mps`` of the broadcast velocity is most likely the
        aircraft itself, broadcasting a displaced position.
        """
        cfg = self.config
        speed = location.speed_horizontal_mps
        # A hovering velocity matches every hovering aircraft: only a moving one is a signature.
        if speed is None or location.direction_deg is None or speed < cfg.twin_min_speed_mps:
            return None
        order, pos, _ = self._predicted(t)
        if not order:
            return None
        heading = math.radians(location.direction_deg)
        ve, vn = speed * math.sin(heading), speed * math.cos(heading)
        _, x, _, _ = self._arrays()
        candidate = np.array(
            [
                tr.serial is None
                and not tr.rid_anonymous
                and tr.status != "tentative"
                and tr.last_radar is not None
                and t - tr.last_radar <= cfg.radar_support_s
                for tr in order
            ]
        )
        horizontal = np.hypot(pos[:, 0] - z[0], pos[:, 1] - z[1])
        near = (
            candidate
            & (horizontal > cfg.spoof_distance_m)
            & (horizontal <= cfg.spoof_search_m)
            & (np.hypot(x[:, 1] - ve, x[:, 3] - vn) <= cfg.spoof_velocity_match_mps)
        )
        if int(near.sum()) != 1:
            return None
        row = int(np.flatnonzero(near)[0])
        return (
            "radar_mismatch",
            f"no radar echo at the claimed position; radar track {order[row].track_id}, "
            f"{horizontal[row]:.0f} m away, flies the claimed velocity",
        )
