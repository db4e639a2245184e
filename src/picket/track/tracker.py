"""The plot tracker as a pipeline stage: geodetic plots in, track positions out.

Plots are mapped into a local tangent plane (ENU on WGS84) whose origin is the first
plot seen (or the one given). When the scene's plots drift more than
`config.recentre_km` from it the plane is moved to their centroid and the tracks are
carried over (positions exactly through geodetic coordinates, velocities rotated;
covariances kept as they are, which is close because they are nearly isotropic).

In 2-D mode the tracker works on the ground point under each plot, so a plot's
height never leaks into its east/north position; 3-D mode tracks height as well.

Plots are grouped into scans by (time, sensor) — each sensor's plots update the
tracks in turn; with `scan_quantum` a scan is each sensor's plots within one period of
that clock, every plot still compared with the track at its own time — and held back
`config.out_of_order_window` seconds so that late plots within the window are still
processed in time order. Anything later than that, or unusable, is counted and
dead-lettered in `self.rejects`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from picket.geo.geodesy import (
    enu_to_geodetic,
    geodetic_to_enu,
    haversine_m,
    initial_bearing_deg,
)
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.track.config import TrackerConfig
from picket.track.core import CartesianTracker, TrackSet

F8 = NDArray[np.float64]
EARTH_R = 6_371_008.8
NO_HEIGHT_VAR = 1e12  # m²: a plot without height says nothing about it
WRAP_DEG = 5.0  # azimuth going back by more than this (plot noise) starts a revolution


class PlotTracker:
    """Turns anonymous plots into confirmed tracks (`Kind.POSITION`, `Namespace.TRACK`)."""

    def __init__(
        self,
        config: TrackerConfig | None = None,
        origin: tuple[float, float, float] | None = None,
        keep_assignments: bool = False,
        plane_output: bool = False,
    ):
        self.config = config or TrackerConfig()
        # 2-D tracks of plots given in one plane (`picket track` on x/y): positions come
        # out in `plane_xy` (east/north m of `origin`, one array per non-empty output, in
        # order) instead of lat/lon, the plane never moves, and no conversion to the
        # ground and back is paid for them
        self.plane_output = plane_output and self.config.dims == 2
        self.plane_xy: list[F8] = []
        self.core = CartesianTracker(self.config)
        self.origin = origin
        self.rejects = Rejects()
        self._held = Reports.empty(0)
        self._held_xy: F8 | None = None  # the held plots' plane x/y (see `update`)
        self._latest = -np.inf  # newest plot time seen
        self.keep_assignments = keep_assignments  # for scoring: see `assignments`
        self._fed: list[tuple[NDArray[np.int64], F8, NDArray[np.int64]]] = []
        self._sensors: set[int] = set()
        self._rev: dict[int, tuple[float, float, int]] = {}  # sensor: azimuth, u, revolution

    # input ---------------------------------------------------------------------------
    def update(self, plots: Reports, xy: F8 | None = None) -> Reports:
        """Accept plots; return tracks for every scan that is now due.

        `xy` (n, 2): the plots' own east/north metres in the plane of `origin`, for a
        2-D `plane_output` tracker whose sensors have no site (`picket track` on an x/y
        file): the plots' lat/lon are then not read (they may be NaN), no trip to the
        ground and back. Give it on every call or on none."""
        if xy is not None:
            if not self.plane_output or any(m.site for m in self.config.sensors.values()):
                raise ValueError("plane plots need plane_output and sensors without a site")
            xy = np.asarray(xy, float).reshape(-1, 2)
            self._held_xy = np.zeros((0, 2)) if self._held_xy is None else self._held_xy
        elif self._held_xy is not None:
            raise ValueError("this tracker takes plane plots (xy) on every call")
        plots, xy = self._screen(plots, xy)
        if len(plots):
            self._latest = max(self._latest, float(np.max(plots.time)))
            self._held = Reports.concat([self._held, plots])
            if xy is not None:
                self._held_xy = np.concatenate([self._held_xy, xy])
        due = self._held.time <= self._latest - self.config.out_of_order_window
        return self._process(due)

    def flush(self) -> Reports:
        """End of input: process everything still held back."""
        return self._process(np.ones(len(self._held), bool))

    def _screen(self, plots: Reports, xy: F8 | None = None) -> tuple[Reports, F8 | None]:
        """Drop (and count) plots that cannot be tracked."""
        if len(plots) == 0:
            return plots, xy
        lat, lon, t = plots.lat, plots.lon, plots.time
        if xy is None:
            good = np.isfinite(lat) & np.isfinite(lon) & np.isfinite(t)
            good &= (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        else:
            good = np.isfinite(xy[:, 0]) & np.isfinite(xy[:, 1]) & np.isfinite(t)
        self._reject(plots, ~good, "track.bad_plot")
        late = good & (t < self.core.time)
        self._reject(plots, late, "track.too_late")
        good &= ~late
        if self.config.sensors:
            known = np.isin(plots.source, np.fromiter(self.config.sensors, np.int64))
            self._reject(plots, good & ~known, "track.unknown_sensor")
            good &= known
        if good.all():  # the usual case: no copy of every column
            return plots, xy
        return plots.where(good), (None if xy is None else xy[good])

    def _reject(self, plots: Reports, mask: NDArray[np.bool_], reason: str) -> None:
        for i in np.flatnonzero(mask):  # rare by construction
            where = f"{SOURCES.name(int(plots.source[i]))}:{int(plots.raw[i])}"
            raw = f"t={plots.time[i]!r} lat={plots.lat[i]!r} lon={plots.lon[i]!r}"
            self.rejects.reject(reason, where, raw)

    # scans ---------------------------------------------------------------------------
    def _process(self, due: NDArray[np.bool_]) -> Reports:
        if not due.any():
            return Reports.empty(0)
        xy = None
        if due.all():  # everything held is due (a file, a flush): no copies
            batch, self._held = self._held, self._held.where(~due)
            if self._held_xy is not None:
                xy, self._held_xy = self._held_xy, self._held_xy[:0]
        else:
            batch, self._held = self._held.where(due), self._held.where(~due)
            if self._held_xy is not None:
                xy, self._held_xy = self._held_xy[due], self._held_xy[~due]
        self.rejects.accept(len(batch))
        self._sensors.update(set(batch.source.tolist()))
        if self.origin is None:
            self.origin = (float(batch.lat[0]), float(batch.lon[0]), 0.0)
        self._maybe_recentre(batch)
        z, r = self._to_plane(batch, xy)
        order, cut, index = self._scans(batch)
        # in scan order once, so that each scan is a slice (no per-scan row gathers)
        z, r, t, src = z.take(order, 0), r.take(order, 0), batch.time[order], batch.source[order]
        pds: dict[int, float | None] = {}
        out: list[tuple[TrackSet, int]] = []
        bounds = [0, *cut.tolist(), len(order)]
        for a, b, scan in zip(bounds[:-1], bounds[1:], index, strict=True):
            tz = t[a:b]
            code = int(src[a])
            if code not in pds:
                sensor = self.config.sensor(code)
                pds[code] = sensor.detection_probability if sensor else None
            self.core.step(float(tz.max()), z[a:b], r[a:b], pds[code], tz=tz, scan=scan)
            if self.keep_assignments:
                self._fed.append((batch.raw[order[a:b]], tz, self.core.plot_ids))
            out.append((self.core.confirmed(), code))
        return self._reports(out)

    def _scans(self, batch: Reports) -> tuple[NDArray[np.intp], NDArray[np.intp], list]:
        """Plots in scan order, where each scan ends, and each scan's index (None: counted
        by call).

        A scan is one sensor's plots over one antenna revolution where the sensor's site
        is known (a new revolution starts when the azimuth of its plots wraps past north,
        or after a silence longer than `scan_quantum`), else over one `scan_quantum`
        period of the clock, else (no quantum) at one time stamp. Scans run in the order
        they start.
        """
        t, src = batch.time, batch.source
        q = self.config.scan_quantum
        key = np.floor(t / q) if q > 0 else t.copy()
        sited = []
        for code in sorted(set(src.tolist())):  # np.unique's first call imports numpy.ma
            sensor = self.config.sensor(code)
            if sensor is None or sensor.site is None:
                continue
            sited.append(code)
            rows = np.flatnonzero(src == code)
            rows = rows[np.argsort(t[rows], kind="stable")]
            key[rows] = self._revolutions(code, sensor.site, batch.take(rows))
        order = np.lexsort((t, key, src))
        k, s = key[order], src[order]
        cut = np.flatnonzero((np.diff(k) != 0) | (np.diff(s) != 0)) + 1
        starts = np.r_[0, cut]
        first = t[order][starts]  # plots are time-sorted within a scan
        by_start = np.argsort(first, kind="stable")
        bounds = np.r_[cut, len(order)]
        parts = [order[starts[i] : bounds[i]] for i in by_start.tolist()]
        lens = np.cumsum([len(p) for p in parts])
        # a time stamp is no index: those scans are counted by call (give a quantum to
        # mix unsited sensors with rotating ones)
        index = [
            int(k[starts[i]]) if q > 0 or int(s[starts[i]]) in sited else None
            for i in by_start.tolist()
        ]
        return np.concatenate(parts), lens[:-1], index

    def _revolutions(self, code: int, site: tuple[float, float], plots: Reports) -> F8:
        """Revolution index of each of one sensor's plots (time-sorted), carried on from
        the previous batch so a revolution split between batches stays one scan.

        The beam turns clockwise from north. With `scan_quantum` as the rotation period P,
        a plot at azimuth a and time t says the beam crossed north at u = t - a/360 P, the
        same for every plot of one revolution: a new one starts where u moves on by more
        than P/2, however few plots there are. Without P, a new revolution starts where
        the azimuth goes back (by more than WRAP_DEG): it wrapped past north.
        """
        az = initial_bearing_deg(site[0], site[1], plots.lat, plots.lon)
        t = plots.time
        q = self.config.scan_quantum
        last_az, last_u, last_rev = self._rev.get(code, (np.nan, np.nan, None))
        if last_rev is None:  # a sensor joins at the scan the tracker is on
            last_rev = int(np.floor(t[0] / q)) if q > 0 else self._latest_scan()
        u = t - az / 360.0 * q
        if q > 0:
            cut = np.diff(np.r_[last_u, u]) > 0.5 * q
        else:
            cut = np.diff(np.r_[last_az, az]) < -WRAP_DEG
        rev = last_rev + np.cumsum(cut)
        self._rev[code] = (float(az[-1]), float(u[-1]), int(rev[-1]))
        return rev.astype(float)

    def _latest_scan(self) -> int:
        revs = [v[2] for v in self._rev.values()]
        return max(revs) if revs else 0

    def assignments(self) -> tuple[NDArray[np.int64], F8, NDArray[np.int64]]:
        """(raw, time, track id) of every plot processed so far, with `keep_assignments`:
        which track each plot fed (a tentative track's id even if it was dropped)."""
        if not self._fed:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
        raw, t, ids = zip(*self._fed, strict=True)
        return np.concatenate(raw), np.concatenate(t), np.concatenate(ids)

    def reason(self) -> str:
        """One line on what the tracker made of its plots; says why when no track formed."""
        c, cfg = self.core.counts, self.config
        m, n = cfg.confirm
        head = f"{c.confirmed:,} tracks" if c.confirmed else "0 tracks"
        seen = f"{c.plots:,} plots from {len(self._sensors)} sensors in {c.scans:,} scans"
        if c.confirmed:
            return f"{head} from {seen}"
        if c.plots == 0:
            return f"{head}: no plot reached the tracker (see the rejects)"
        if c.scans >= 2 * n and c.plots < 1.5 * c.scans and cfg.scan_quantum <= 0:
            return (
                f"{head}: {seen}, about one plot a scan: each plot carries its own time and"
                " makes a scan of its own; set --scan-quantum to the sensors' revisit time"
            )
        why = f"no {m} plots of any target within the gate over {n} scans (confirm M/N = {m}/{n})"
        detail = f"{c.gated:,} track-plot pairs gated, {c.started:,} tentative tracks started"
        if c.dropped:
            detail += f", {c.dropped:,} dropped (the best had {c.best_dropped} plots)"
        return (
            f"{head}: {seen}, {why}; {detail}; check --scan-quantum, "
            "--initial-velocity-sigma or the plots' units"
        )

    def _to_plane(self, batch: Reports, xy: F8 | None = None) -> tuple[F8, F8]:
        lat0, lon0, alt0 = self.origin  # type: ignore[misc]
        cfg = self.config
        has_h = np.isfinite(batch.alt)
        if xy is not None:  # 2-D plots given in this plane
            e, n, u = xy[:, 0], xy[:, 1], np.zeros(len(xy))
        else:
            h = np.where(has_h, batch.alt, 0.0) if cfg.dims == 3 else np.zeros(len(batch))
            e, n, u = geodetic_to_enu(batch.lat, batch.lon, h, lat0, lon0, alt0)
        codes, inv = np.unique(batch.source, return_inverse=True)
        models = [cfg.sensor(int(c)) for c in codes]
        sig = np.array([m.sigma if m else cfg.measurement_sigma for m in models])[inv]
        vsig = np.array([m.vertical_sigma if m else cfg.vertical_sigma for m in models])[inv]
        acc = batch.accuracy.astype(float)
        sig = np.where(np.isfinite(acc) & (acc > 0), acc, sig)
        if cfg.dims == 2:
            z = np.column_stack([e, n])
            r = np.column_stack([sig * sig, sig * sig])
        else:
            z = np.column_stack([e, n, np.where(has_h, u, 0.0)])
            rv = np.where(has_h, vsig * vsig, NO_HEIGHT_VAR)
            r = np.column_stack([sig * sig, sig * sig, rv])
        return z, r

    def _maybe_recentre(self, batch: Reports) -> None:
        if self.plane_output:
            return  # the caller's plane is the tracks' frame
        lat0, lon0, _ = self.origin  # type: ignore[misc]
        clat, clon = float(np.mean(batch.lat)), float(np.mean(batch.lon))
        if haversine_m(lat0, lon0, clat, clon) <= self.config.recentre_km * 1e3:
            return
        new = (clat, clon, 0.0)
        s = self.core.state
        if len(s.pos):
            lat, lon, h = self._to_geodetic(s.pos)
            e, n, u = geodetic_to_enu(lat, lon, h, *new)
            old = self.origin

            def rotate(vel: F8) -> F8:
                return _rotate(vel, old, new)  # type: ignore[arg-type]

            pos = np.column_stack([e, n, u][: self.core.k])
            self.core.state = s.relocated(pos, rotate)
        self.origin = new

    def _to_geodetic(self, pos: F8) -> tuple[F8, F8, F8]:
        if self.core.k == 3:
            return enu_to_geodetic(pos[:, 0], pos[:, 1], pos[:, 2], *self.origin)  # type: ignore[misc]
        lat, lon = plane_to_ground(pos[:, 0], pos[:, 1], self.origin)  # type: ignore[arg-type]
        return lat, lon, np.zeros_like(lat)

    # output --------------------------------------------------------------------------
    def _reports(self, scans: list[tuple[TrackSet, int]]) -> Reports:
        """Every scan's confirmed tracks as reports, converted to geodetic in one go."""
        scans = [(ts, src) for ts, src in scans if len(ts.ids)]
        if not scans:
            return Reports.empty(0)
        sizes = [len(ts.ids) for ts, _ in scans]
        pos = np.concatenate([ts.state.pos for ts, _ in scans])
        vel = np.concatenate([ts.state.vel for ts, _ in scans])
        pxx = np.concatenate([ts.state.pxx for ts, _ in scans])
        if self.plane_output:
            self.plane_xy.append(pos[:, :2].copy())
            lat = lon = h = np.full(len(pos), np.nan)
            ve, vn, vu = vel[:, 0], vel[:, 1], np.zeros(len(pos))  # plane east/north
        else:
            lat, lon, h = self._to_geodetic(pos)
            ve, vn, vu = _local_velocity(vel, self.origin, lat, lon)  # type: ignore[arg-type]
        k = self.core.k
        return Reports.build(
            len(pos),
            time=np.repeat([ts.time for ts, _ in scans], sizes),
            domain=Domain.AIR,
            kind=Kind.POSITION,
            source=np.repeat([src for _, src in scans], sizes),
            subject=key(Namespace.TRACK, np.concatenate([ts.ids for ts, _ in scans])),
            lat=lat,
            lon=lon,
            alt=h if k == 3 else np.nan,
            speed=np.hypot(ve, vn),
            course=np.degrees(np.arctan2(ve, vn)) % 360.0,
            vrate=vu if k == 3 else np.nan,
            accuracy=np.sqrt(0.5 * (pxx[:, 0] + pxx[:, 1])),
        )


def plane_to_ground(
    e: F8, n: F8, origin: tuple[float, float, float], rounds: int = 2
) -> tuple[F8, F8]:
    """The point on the ellipsoid whose tangent-plane east/north are (e, n).

    2-D tracking works on ground points (height 0), so the way back has to land on the
    ground too: start from the sphere's drop below the plane and correct by the height
    left over (each round gains several orders of magnitude).
    """
    e, n = np.asarray(e, float), np.asarray(n, float)
    u = -(e * e + n * n) / (2 * EARTH_R) - origin[2]
    for _ in range(rounds):
        lat, lon, h = enu_to_geodetic(e, n, u, *origin)
        u = u - h
    lat, lon, _ = enu_to_geodetic(e, n, u, *origin)
    return lat, lon


def _enu_axes(lat: F8 | float, lon: F8 | float) -> F8:
    """Rows east, north, up of the local frame(s) in ECEF, shape (..., 3, 3)."""
    p, lam = np.radians(lat), np.radians(lon)
    sp, cp, sl, cl = np.sin(p), np.cos(p), np.sin(lam), np.cos(lam)
    zero = np.zeros_like(sp)
    return np.stack(
        [
            np.stack([-sl, cl, zero], -1),
            np.stack([-sp * cl, -sp * sl, cp], -1),
            np.stack([cp * cl, cp * sl, sp], -1),
        ],
        -2,
    )


def _pad3(v: F8) -> F8:
    return v if v.shape[1] == 3 else np.column_stack([v, np.zeros(len(v))])


def _rotate(vel: F8, old: tuple[float, float, float], new: tuple[float, float, float]) -> F8:
    """Velocity in the old plane's axes expressed in the new plane's axes."""
    rot = _enu_axes(new[0], new[1]) @ _enu_axes(old[0], old[1]).T
    return (_pad3(vel) @ rot.T)[:, : vel.shape[1]]


def _local_velocity(
    vel: F8, origin: tuple[float, float, float], lat: F8, lon: F8
) -> tuple[F8, F8, F8]:
    """Plane velocity turned into each track's own east/north/up (true course)."""
    ecef = _pad3(vel) @ _enu_axes(origin[0], origin[1])
    local = np.einsum("nij,nj->ni", _enu_axes(lat, lon), ecef)
    return local[:, 0], local[:, 1], local[:, 2]
