"""Physical bounds on report values, checked once at the pipeline's door.

A decoder turns bytes into numbers; whether the numbers can be true is judged
here, for every format alike, so no track, detector or output ever sees a
latitude of 91 deg, an infinite altitude or an aircraft at 1e308 m/s. A
position outside WGS84's ranges loses the report (it names no place); a speed,
course, altitude or climb rate outside what the domain can do loses that field
only (the report's position and identity stay good). Both are counted per
reason and dead-lettered with the source and where the report came from.

The bounds are wide on purpose: they reject what cannot be, not what is rare.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Reports


@dataclass(frozen=True)
class Range:
    lo: float
    hi: float
    why: str


# per domain: speed (m/s over ground), altitude (m), climb rate (m/s)
SPEED = {
    Domain.AIR: Range(0.0, 1500.0, "Mach 4.4: above any aircraft that transmits ADS-B or is "
                      "tracked by ATC radar (Concorde cruised at 600 m/s)"),
    Domain.MARITIME: Range(0.0, 60.0, "117 kn: AIS SOG tops out at 102.2 kn (1023 = n/a)"),
    Domain.SPACE: Range(0.0, 20_000.0, "above Earth escape speed at LEO (11.2 km/s)"),
}
ALT = {
    Domain.AIR: Range(-1_500.0, 60_000.0, "below the Dead Sea shore (-430 m) less baro error, "
                      "above the highest balloon flights (53 km)"),
    Domain.SPACE: Range(-1_000.0, 1e9, "up to a million km: beyond lunar distance"),
}
VRATE = {
    Domain.AIR: Range(-300.0, 300.0, "ADS-B encodes at most 32,608 ft/min (166 m/s)"),
}
ANGLE = Range(0.0, 360.0, "degrees true")


def check_values(r: Reports, rejects: Rejects | None) -> Reports:
    """`r` with impossible positions dropped and impossible fields set missing (counted)."""
    if not len(r):
        return r
    lat, lon = r.lat, r.lon
    has = ~(np.isnan(lat) & np.isnan(lon))
    bad_pos = has & ~((np.abs(lat) <= 90.0) & (np.abs(lon) <= 180.0))  # NaN, inf, 1e308 fail
    if bad_pos.any():
        _count(rejects, "value.position_out_of_range", r, bad_pos, ("lat", "lon"))
        r = r.where(~bad_pos)
    cols = dict(r.cols)  # the caller's batch is left as it was
    fields: list[tuple[str, np.ndarray]] = []
    for name, table in (("speed", SPEED), ("alt", ALT), ("vrate", VRATE)):
        v = cols[name]
        bad = np.isinf(v)
        for dom, rg in table.items():
            m = r.domain == dom
            bad |= m & ((v < rg.lo) | (v > rg.hi))
        fields.append((name, bad))
    for name in ("course", "heading"):
        v = cols[name]
        fields.append((name, ~np.isnan(v) & ~((v >= ANGLE.lo) & (v <= ANGLE.hi))))
    for name, bad in fields:
        if bad.any():
            _count(rejects, f"value.{name}_out_of_range", r, bad, (name,))
            col = cols[name].copy()
            col[bad] = np.nan
            cols[name] = col
    return Reports(cols)


def _count(rejects: Rejects | None, reason: str, r: Reports, bad: np.ndarray,
           names: tuple[str, ...]) -> None:  # fmt: skip
    if rejects is None:
        return
    i = int(np.flatnonzero(bad)[0])
    src = SOURCES.name(int(r.source[i]))
    vals = ", ".join(f"{n}={float(r.cols[n][i])!r}" for n in names)
    rejects.reject(reason, f"{src}:{int(r.raw[i])}", f"first of batch: {vals}", n=int(bad.sum()))
