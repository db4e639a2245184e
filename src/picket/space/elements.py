"""Element sets as columns: one catalogue (or history) is one `ElementSets`.

Fields keep the units the wire formats use (degrees, revolutions per day) so a
round trip to TLE/OMM text is exact; `satrecs()` converts to SGP4's radians and
minutes. Provenance (provider and line/row) rides along per element set so a
fused catalogue can say where each of its elements came from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np

from picket.model.subjects import Namespace, key

MINUTES_PER_DAY = 1440.0
UNIX_TO_EPOCH1949_DAYS = 2440587.5 - 2433281.5  # sgp4init counts days from 1949-12-31 0h
JD_UNIX0 = 2440587.5


@dataclass
class ElementSets:
    """Mean elements (SGP4/SDP4 theory, TEME) for n element sets."""

    norad: np.ndarray  # int64 catalogue number (six digits and Alpha-5 decoded)
    name: np.ndarray  # str object name ("" when the format has none)
    object_id: np.ndarray  # str international designator, "1998-067A"
    epoch: np.ndarray  # f8 unix seconds UTC
    mean_motion: np.ndarray  # f8 rev/day (Kozai, as published)
    ecc: np.ndarray  # f8
    incl: np.ndarray  # f8 deg
    raan: np.ndarray  # f8 deg
    argp: np.ndarray  # f8 deg
    mean_anomaly: np.ndarray  # f8 deg
    bstar: np.ndarray  # f8 1/earth radii
    ndot: np.ndarray  # f8 rev/day^2 (the TLE's first derivative / 2)
    nddot: np.ndarray  # f8 rev/day^3 (the TLE's second derivative / 6)
    elset_no: np.ndarray  # int32
    rev_at_epoch: np.ndarray  # int64
    classification: np.ndarray  # str "U", "C", "S"
    provider: np.ndarray  # str where the element set came from (file or provider name)
    row: np.ndarray  # int64 line number (TLE line 1) or row/record number

    def __len__(self) -> int:
        return len(self.norad)

    @classmethod
    def empty(cls) -> ElementSets:
        return cls.build(0)

    @classmethod
    def build(cls, n: int, **cols: object) -> ElementSets:
        """Columns given, the rest filled as missing (NaN, -1, "")."""
        out = {}
        for f in fields(cls):
            if f.name in cols:
                out[f.name] = np.asarray(cols[f.name])
            elif f.name in _STR:
                out[f.name] = np.full(n, "", dtype="U1")
            elif f.name in _INT:
                out[f.name] = np.full(n, -1, dtype=_INT[f.name])
            else:
                out[f.name] = np.full(n, np.nan)
        return cls(**out)  # type: ignore[arg-type]

    @classmethod
    def concat(cls, parts: Iterable[ElementSets]) -> ElementSets:
        ps = [p for p in parts if len(p)]
        if not ps:
            return cls.empty()
        if len(ps) == 1:
            return ps[0]
        return cls(
            **{f.name: np.concatenate([getattr(p, f.name) for p in ps]) for f in fields(cls)}
        )

    def take(self, index: np.ndarray | slice) -> ElementSets:
        return ElementSets(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def subjects(self) -> np.ndarray:
        return key(Namespace.NORAD, self.norad)  # type: ignore[return-value]

    # derived quantities --------------------------------------------------------------
    def semi_major_axis_km(self) -> np.ndarray:
        """Mean semi-major axis from the Kozai mean motion (two-body, WGS72 mu).

        Good to ~10 km absolute (no J2 un-Kozai) but consistent between element
        sets of one object, which is what manoeuvre detection compares.
        """
        mu = 398600.8  # km^3/s^2, WGS72 as SGP4 uses
        n = self.mean_motion * 2 * np.pi / 86400.0
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.cbrt(mu / n**2)

    def satrecs(self, opsmode: str = "a") -> list:
        """One initialised `sgp4.api.Satrec` per element set (WGS72, as SOCRATES/AFSPC).

        Per element set Python, but once per catalogue, not per propagation step.
        """
        from sgp4.api import WGS72, Satrec

        deg = np.pi / 180.0
        xpdotp = MINUTES_PER_DAY / (2 * np.pi)
        no = self.mean_motion / xpdotp
        ndot = self.ndot / (xpdotp * MINUTES_PER_DAY)
        nddot = self.nddot / (xpdotp * MINUTES_PER_DAY * MINUTES_PER_DAY)
        ep = self.epoch / 86400.0 + UNIX_TO_EPOCH1949_DAYS
        cols = np.stack(
            [ep, np.nan_to_num(self.bstar), np.nan_to_num(ndot), np.nan_to_num(nddot), self.ecc,
             self.argp * deg, self.incl * deg, self.mean_anomaly * deg, no, self.raan * deg],
            axis=1,
        ).tolist()  # fmt: skip
        sats = []
        for num, c in zip(self.norad.tolist(), cols, strict=True):
            s = Satrec()
            s.sgp4init(WGS72, opsmode, int(num) if 0 <= num < 340000 else 0, *c)
            sats.append(s)
        return sats


_STR = {"name", "object_id", "classification", "provider"}
_INT = {"norad": np.int64, "elset_no": np.int32, "rev_at_epoch": np.int64, "row": np.int64}


def unix_to_jd(t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """(whole Julian day, fraction) for SGP4, keeping sub-millisecond precision."""
    d = np.asarray(t, dtype=float) / 86400.0
    whole = np.floor(d)
    return whole + JD_UNIX0, d - whole


def designator_from_tle(text: np.ndarray) -> np.ndarray:
    """TLE "98067A  " -> "1998-067A" (unparseable stays empty).

    A few string operations per catalogue entry on NumPy string arrays; the
    designator is identity data, not on the propagation path.
    """
    s = np.char.strip(np.asarray(text).astype("U8"))
    yy = np.array([x[:2] for x in s.tolist()], dtype="U2")
    rest = np.array([x[2:5] + x[5:] for x in s.tolist()], dtype="U6")
    ok = np.char.isdigit(yy) & (np.char.str_len(s) >= 5)
    century = np.where(yy >= "57", "19", "20")
    launch = np.array([x[:3] for x in rest.tolist()], dtype="U3")
    piece = np.array([x[3:] for x in rest.tolist()], dtype="U3")
    full = np.char.add(np.char.add(np.char.add(np.char.add(century, yy), "-"), launch), piece)
    return np.where(ok, full, "")
