"""Per-aircraft CPR decoding over a batch, with state carried between batches.

Positions arrive as even/odd CPR halves. For each message we find, with sorts
and running maxima instead of a Python loop, the latest opposite-parity message
of the same aircraft: within 10 s the pair decodes globally. Messages without a
usable pair (or whose pair fails the NL-zone consistency check) decode locally
against the aircraft's last decoded position when that is recent. The last even
and odd halves and the last position of each aircraft are carried to the next
batch as pseudo-rows, so a pair may straddle two `feed` calls.
"""

from __future__ import annotations

import numpy as np

from picket.codec import modes_cpr

PAIR_MAX_S = 10.0  # even/odd halves further apart than this are not paired
REF_MAX_S = 120.0  # a local-decode reference older than this is not trusted
STATE_MAX_S = 600.0  # aircraft silent this long are forgotten

_KEYS = ("icao", "te", "ye", "xe", "to", "yo", "xo", "tp", "lat", "lon")


def _prev_where(mask: np.ndarray, gstart: np.ndarray) -> np.ndarray:
    """Index of the last earlier row of the same group where `mask` holds, else -1."""
    n = len(mask)
    idx = np.where(mask, np.arange(n), -1)
    acc = np.maximum.accumulate(idx) if n else idx
    prev = np.concatenate(([-1], acc[:-1])) if n else acc
    return np.where(prev >= gstart, prev, -1)


def _last_where(mask: np.ndarray, gstart: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Index of the last row of each group (ending at `ends`) where `mask` holds, else -1."""
    idx = np.where(mask, np.arange(len(mask)), -1)
    acc = np.maximum.accumulate(idx)[ends]
    return np.where(acc >= gstart[ends], acc, -1)


class CprTracker:
    """Decodes CPR positions for airborne (global + local) and surface (local) messages."""

    def __init__(self, reference: tuple[float, float] | None = None) -> None:
        self.reference = reference  # receiver position, for surface messages only
        self.state = {k: np.zeros(0, dtype=np.int64 if k == "icao" else np.float64) for k in _KEYS}

    def decode(
        self,
        icao: np.ndarray,
        t: np.ndarray,
        odd: np.ndarray,
        yz: np.ndarray,
        xz: np.ndarray,
        surface: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lat, lon, inconsistent) for each message, in input order; NaN where undecodable."""
        n = len(icao)
        lat = np.full(n, np.nan)
        lon = np.full(n, np.nan)
        bad = np.zeros(n, dtype=bool)
        if n == 0:
            return lat, lon, bad
        st = self.state
        use = np.isin(st["icao"], icao)
        s = {k: v[use] for k, v in st.items()}
        m = len(s["icao"])
        e_first = s["te"] <= s["to"]
        # rows: state pseudo-rows first (even, odd, last position), then this batch
        r_icao = np.concatenate([s["icao"], s["icao"], s["icao"], icao])
        r_t = np.concatenate([s["te"], s["to"], s["tp"], t])
        r_seq = np.concatenate(
            [np.where(e_first, -3, -2), np.where(e_first, -2, -3), np.full(m, -1), np.arange(n)]
        )
        r_par = np.concatenate(
            [np.where(np.isfinite(s["te"]), 0, -1), np.where(np.isfinite(s["to"]), 1, -1),
             np.full(m, -1), np.asarray(odd, dtype=np.int64)]
        )  # fmt: skip
        r_yz = np.concatenate([s["ye"], s["yo"], np.zeros(m), yz]).astype(np.float64)
        r_xz = np.concatenate([s["xe"], s["xo"], np.zeros(m), xz]).astype(np.float64)
        r_surf = np.concatenate([np.zeros(3 * m, dtype=bool), surface])
        r_lat = np.concatenate([np.full(2 * m, np.nan), s["lat"], np.full(n, np.nan)])
        r_lon = np.concatenate([np.full(2 * m, np.nan), s["lon"], np.full(n, np.nan)])
        real = r_seq >= 0

        o = np.lexsort((r_seq, r_icao))
        r_icao, r_t, r_seq, r_par = r_icao[o], r_t[o], r_seq[o], r_par[o]
        r_yz, r_xz, r_surf, r_lat, r_lon, real = (
            r_yz[o], r_xz[o], r_surf[o], r_lat[o], r_lon[o], real[o]
        )  # fmt: skip
        nr = len(o)
        ar = np.arange(nr)
        first = np.concatenate(([True], r_icao[1:] != r_icao[:-1]))
        gstart = np.maximum.accumulate(np.where(first, ar, 0))

        # global decoding of airborne pairs
        air = (r_par >= 0) & ~r_surf
        p_even = _prev_where(air & (r_par == 0), gstart)
        p_odd = _prev_where(air & (r_par == 1), gstart)
        partner = np.where(r_par == 1, p_even, p_odd)
        pk = np.maximum(partner, 0)
        paired = real & air & (partner >= 0) & (np.abs(r_t - r_t[pk]) <= PAIR_MAX_S)
        is_odd = r_par == 1
        ye = np.where(is_odd, r_yz[pk], r_yz)
        xe = np.where(is_odd, r_xz[pk], r_xz)
        yo = np.where(is_odd, r_yz, r_yz[pk])
        xo = np.where(is_odd, r_xz, r_xz[pk])
        g_lat, g_lon, g_ok = modes_cpr.decode_global(ye, xe, yo, xo, is_odd)
        valid = np.isfinite(r_lat)  # the carried last positions
        good = paired & g_ok
        r_lat = np.where(good, g_lat, r_lat)
        r_lon = np.where(good, g_lon, r_lon)
        valid |= good

        # local decoding against the last good position, repeated to follow chains
        todo = real & (r_par >= 0) & ~valid
        for _ in range(3):
            if not todo.any():
                break
            ref = _prev_where(valid, gstart)
            rk = np.maximum(ref, 0)
            can = todo & (ref >= 0) & (np.abs(r_t - r_t[rk]) <= REF_MAX_S)
            if not can.any():
                break
            idx = np.flatnonzero(can)
            la, lo = modes_cpr.decode_local(
                r_yz[idx], r_xz[idx], r_par[idx], r_lat[rk[idx]], r_lon[rk[idx]], False
            )
            sf = r_surf[idx]
            if sf.any():
                la_s, lo_s = modes_cpr.decode_local(
                    r_yz[idx], r_xz[idx], r_par[idx], r_lat[rk[idx]], r_lon[rk[idx]], True
                )
                la, lo = np.where(sf, la_s, la), np.where(sf, lo_s, lo)
            r_lat[idx], r_lon[idx] = la, lo
            valid[idx] = True
            todo[idx] = False
        if self.reference is not None:  # surface messages with no track: the receiver
            idx = np.flatnonzero(todo & r_surf)
            if len(idx):
                la, lo = modes_cpr.decode_local(
                    r_yz[idx], r_xz[idx], r_par[idx],
                    np.full(len(idx), self.reference[0]), np.full(len(idx), self.reference[1]),
                    True,
                )  # fmt: skip
                r_lat[idx], r_lon[idx] = la, lo
                valid[idx] = True
                todo[idx] = False
        r_bad = todo & paired & ~g_ok

        # results back in input order
        rr = np.flatnonzero(real)
        lat[r_seq[rr]] = np.where(valid[rr], r_lat[rr], np.nan)
        lon[r_seq[rr]] = np.where(valid[rr], r_lon[rr], np.nan)
        bad[r_seq[rr]] = r_bad[rr]

        # new state: last even, last odd (airborne) and last position per aircraft
        ends = np.flatnonzero(np.concatenate((r_icao[1:] != r_icao[:-1], [True])))
        le = _last_where(air & (r_par == 0), gstart, ends)
        lo_ = _last_where(air & (r_par == 1), gstart, ends)
        lp = _last_where(valid, gstart, ends)

        def pick(a: np.ndarray, i: np.ndarray) -> np.ndarray:
            return np.where(i >= 0, a[np.maximum(i, 0)], np.nan)

        new = {
            "icao": r_icao[ends], "te": pick(r_t, le), "ye": pick(r_yz, le),
            "xe": pick(r_xz, le), "to": pick(r_t, lo_), "yo": pick(r_yz, lo_),
            "xo": pick(r_xz, lo_), "tp": pick(r_t, lp), "lat": pick(r_lat, lp),
            "lon": pick(r_lon, lp),
        }  # fmt: skip
        keep = ~use
        merged = {k: np.concatenate([st[k][keep], new[k]]) for k in _KEYS}
        tmax = np.nanmax(t) if np.isfinite(t).any() else 0.0
        with np.errstate(invalid="ignore"):
            newest = np.fmax(np.fmax(merged["te"], merged["to"]), merged["tp"])
        alive = newest >= tmax - STATE_MAX_S
        self.state = {k: v[alive] for k, v in merged.items()}
        return lat, lon, bad
