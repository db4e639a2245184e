"""CCSDS Conjunction Data Messages (CDM, 508.0-B-1) in KVN, one file per conjunction.

States are SGP4's TEME (stated in the message; CDM 1.0 lists no TEME frame, so
a COMMENT says so). The covariance is the assumed one the probability used,
flagged as such: TLEs carry none.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from picket.space.report import ConjunctionReport


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def rtn(r: np.ndarray, v: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Vector x in the radial/transverse/normal frame of the state (r, v)."""
    ur = r / np.linalg.norm(r)
    un = np.cross(r, v)
    un /= np.linalg.norm(un)
    ut = np.cross(un, ur)
    return np.array([x @ ur, x @ ut, x @ un])


def cdm_text(rep: ConjunctionReport, k: int, created: float, originator: str = "PICKET") -> str:
    c, e = rep.conj, rep.elements
    i, j = int(c.i[k]), int(c.j[k])
    dr = rtn(c.r1[k], c.v1[k], c.r2[k] - c.r1[k]) * 1000
    dv = rtn(c.r1[k], c.v1[k], c.v2[k] - c.v1[k]) * 1000
    s2 = (rep.sigma_km * 1000) ** 2
    msg_id = f"{int(e.norad[i])}_{int(e.norad[j])}_{_iso(c.tca[k]).replace(':', '')}"
    out = [
        "CCSDS_CDM_VERS = 1.0",
        f"CREATION_DATE = {_iso(created)}",
        f"ORIGINATOR = {originator}",
        f"MESSAGE_ID = {msg_id}",
        f"TCA = {_iso(c.tca[k])}",
        f"MISS_DISTANCE = {c.miss_km[k] * 1000:.3f} [m]",
        f"RELATIVE_SPEED = {c.speed_kms[k] * 1000:.3f} [m/s]",
        f"RELATIVE_POSITION_R = {dr[0]:.3f} [m]",
        f"RELATIVE_POSITION_T = {dr[1]:.3f} [m]",
        f"RELATIVE_POSITION_N = {dr[2]:.3f} [m]",
        f"RELATIVE_VELOCITY_R = {dv[0]:.3f} [m/s]",
        f"RELATIVE_VELOCITY_T = {dv[1]:.3f} [m/s]",
        f"RELATIVE_VELOCITY_N = {dv[2]:.3f} [m/s]",
        f"COMMENT assumed isotropic {rep.sigma_km} km 1-sigma per object (TLEs carry no "
        f"covariance), hard-body radius {rep.hbr_km[k] * 1000:.1f} m; maximum probability "
        f"{rep.max_prob[k]:.3E} at dilution {rep.dilution_km[k]:.3f} km",
        f"COLLISION_PROBABILITY = {rep.prob[k]:.6E}",
        "COLLISION_PROBABILITY_METHOD = FOSTER-1992",
    ]
    for label, idx, r, v in (("OBJECT1", i, c.r1[k], c.v1[k]), ("OBJECT2", j, c.r2[k], c.v2[k])):
        out += [
            f"OBJECT = {label}",
            f"OBJECT_DESIGNATOR = {int(e.norad[idx])}",
            "CATALOG_NAME = SATCAT",
            f"OBJECT_NAME = {e.name[idx] or 'UNKNOWN'}",
            f"INTERNATIONAL_DESIGNATOR = {e.object_id[idx] or 'UNKNOWN'}",
            "EPHEMERIS_NAME = NONE",
            "COVARIANCE_METHOD = DEFAULT",
            "MANEUVERABLE = N/A",
            "REF_FRAME = TEME",
            "COMMENT REF_FRAME TEME: SGP4 output frame, not in the CDM 1.0 list",
            f"COMMENT element set epoch {_iso(e.epoch[idx])} from {e.provider[idx]}",
            f"X = {r[0]:.6f} [km]", f"Y = {r[1]:.6f} [km]", f"Z = {r[2]:.6f} [km]",
            f"X_DOT = {v[0]:.9f} [km/s]", f"Y_DOT = {v[1]:.9f} [km/s]",
            f"Z_DOT = {v[2]:.9f} [km/s]",
            f"CR_R = {s2:.3f} [m**2]", "CT_R = 0.0 [m**2]", f"CT_T = {s2:.3f} [m**2]",
            "CN_R = 0.0 [m**2]", "CN_T = 0.0 [m**2]", f"CN_N = {s2:.3f} [m**2]",
        ]  # fmt: skip
    return "\n".join(out) + "\n"


def write_cdms(rep: ConjunctionReport, directory: str | Path, created: float) -> int:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    for k in range(len(rep)):
        text = cdm_text(rep, k, created)
        name = text.split("MESSAGE_ID = ", 1)[1].split("\n", 1)[0]
        (d / f"{name}.cdm").write_text(text, encoding="utf-8")
    return len(rep)
