"""Per-aircraft CPR decoding over a batch, with state carried between batches.

Positions arrive as even/odd CPR halves. For each message we find, with sorts
and running maxima instead of a Python loop, the latest opposite-parity message
of the same aircraft: within 10 s the pair decodes globally. Messages without a
usable pair (or whose pair fails the NL-zone consistency check) decode locally
against the aircraft's last decoded position when that is recent. The last even
and odd halves and the last position of each aircraft are carried to the next
batch as pseudo-rows, so a pair may straddle two `feed` calls.

Pairs straddling a jump: when reported positions jump (GNSS spoofing moves an
aircraft tens of km at once), an even half from before the jump and an odd half
from after it still pass the NL-zone check yet decode to a place hundreds or
thousands of km away. Two checks catch this:
- the pair decodes to two positions (one per half); they must lie within what
  the aircraft could fly between the halves. Failing pairs are not used, and
  each frame is decoded locally instead, which keeps the real (spoofed) position.
- a global decode must agree with the local decode of the same frame against
  the aircraft's recent position: a valid pair and a valid reference give the
  same point, a garbage pair does not. Disagreeing frames are dropped (counted).
"""

from __future__ import annotations

import numpy as np

from picket.codec import modes_cpr
from picket.geo.geodesy import haversine_m

PAIR_MAX_S = 10.0  # even/odd halves further apart than this are not paired
REF_MAX_S = 120.0  # a local-decode reference older than this is not trusted
STATE_MAX_S = 600.0  # aircraft silent this long are forgotten (once the state is large)
# state kept for this many aircraft before the silent are forgotten: below it nothing is pruned,
# so decoding never depends on how frames were batched (pairs need 10 s, references 120 s)
STATE_MAX_AIRCRAFT = 10_000
PAIR_SPEED_MAX = 1000.0  # m/s; two halves of a pair further apart than this allows straddle a jump
PAIR_SLACK_M = 1000.0  # m; CPR resolution (~5 m airborne) plus the time a receiver adds
AGREE_M = 1000.0  # m; a global and a local decode of one frame coincide or differ by a zone

# why a frame has no position (the `why` array of `CprTracker.decode`)
OK, INCONSISTENT, STRADDLES_JUMP, DISAGREES = 0, 1, 2, 3
REASONS = {INCONSISTENT: "cpr_inconsistent", STRADDLES_JUMP: "cpr_pair_straddles_jump",
           DISAGREES: "cpr_disagrees_with_track"}  # fmt: skip

_KEYS = ("icao", "te", "ye", "xe", "to", "yo", "xo", "tp", "lat", "lon")


def _prev_where(mask: np.ndarray, gstart: np.ndarray) -> np.ndarray:
    """Index of the last earlier row of the same group where `mask` holds, else -1."""
    n = len(mask)
    idx = np.where(mask, np.arange(n), -1)
    acc = np.maximum.accumulate(idx) if n else idx
    prev = np.concatenate(([-1], acc[:-1])) if n else acc
    return np.where(prev >= gstart, prev, -1)


def _ref_at(
    carried: np.ndarray, decoded: np.ndarray, valid: np.ndarray, i: np.ndarray
) -> np.ndarray:
    """The reference coordinate at rows `i`: a carried position or a global decode."""
    return np.where(valid[i], carried[i], decoded[i])


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
        # pairs set aside, whether or not their frames still decoded locally
        self.pairs_straddling_jump = 0
        self.pairs_disagreeing = 0

    def decode(
        self,
        icao: np.ndarray,
        t: np.ndarray,
        odd: np.ndarray,
        yz: np.ndarray,
        xz: np.ndarray,
        surface: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lat, lon, why) for each message, in input order; NaN where undecodable.

        `why` is OK (0) for decoded frames, else the reason code (see REASONS)
        for frames left without a position by a failed pair; frames merely
        lacking a partner or reference are NaN with `why` OK.
        """
        n = len(icao)
        lat = np.full(n, np.nan)
        lon = np.full(n, np.nan)
        why = np.zeros(n, dtype=np.int8)
        if n == 0:
            return lat, lon, why
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
        valid = np.isfinite(r_lat)  # the carried last positions
        g_lat, g_lon, g_ok = np.full(nr, np.nan), np.full(nr, np.nan), np.zeros(nr, dtype=bool)
        jump = np.zeros(nr, dtype=bool)
        disagree = np.zeros(nr, dtype=bool)
        gi = np.flatnonzero(paired)
        if len(gi):
            # both halves' positions: they must be as close as the aircraft can fly
            la0, lo0, ok = modes_cpr.decode_global(ye[gi], xe[gi], yo[gi], xo[gi], False)
            la1, lo1, _ = modes_cpr.decode_global(ye[gi], xe[gi], yo[gi], xo[gi], True)
            sep = haversine_m(la0, lo0, la1, lo1)
            reach = PAIR_SLACK_M + PAIR_SPEED_MAX * np.abs(r_t[gi] - r_t[pk[gi]])
            jump[gi] = ok & ~(sep <= reach)
            g_ok[gi] = ok & ~jump[gi]
            g_lat[gi] = np.where(is_odd[gi], la1, la0)
            g_lon[gi] = np.where(is_odd[gi], lo1, lo0)
        paired_ok = paired & g_ok
        good = paired_ok
        # the global decode against a local decode from the last trusted position;
        # a dropped decode must not serve as the next one's reference, hence a few rounds
        for _ in range(3):
            ref = _prev_where(good | valid, gstart)
            rk = np.maximum(ref, 0)
            chk = np.flatnonzero(paired_ok & (ref >= 0) & (np.abs(r_t - r_t[rk]) <= REF_MAX_S))
            now = np.zeros(nr, dtype=bool)
            if len(chk):
                la, lo = modes_cpr.decode_local(
                    r_yz[chk], r_xz[chk], r_par[chk], _ref_at(r_lat, g_lat, valid, rk[chk]),
                    _ref_at(r_lon, g_lon, valid, rk[chk]), False,
                )  # fmt: skip
                now[chk] = ~(haversine_m(la, lo, g_lat[chk], g_lon[chk]) <= AGREE_M)
            settled = np.array_equal(now, disagree)
            disagree = now
            good = paired_ok & ~disagree
            if settled:
                break
        self.pairs_straddling_jump += int(np.count_nonzero(jump & real))
        self.pairs_disagreeing += int(np.count_nonzero(disagree & real))
        r_lat = np.where(good, g_lat, r_lat)
        r_lon = np.where(good, g_lon, r_lon)
        valid |= good

        # local decoding against the last good position, repeated to follow chains
        todo = real & (r_par >= 0) & ~valid & ~disagree
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
        r_why = np.where(disagree, DISAGREES, 0)
        r_why = np.where(todo & jump, STRADDLES_JUMP, r_why)
        r_why = np.where(todo & paired & ~g_ok & ~jump, INCONSISTENT, r_why).astype(np.int8)

        # results back in input order
        rr = np.flatnonzero(real)
        lat[r_seq[rr]] = np.where(valid[rr], r_lat[rr], np.nan)
        lon[r_seq[rr]] = np.where(valid[rr], r_lon[rr], np.nan)
        why[r_seq[rr]] = r_why[rr]

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
        if len(merged["icao"]) > STATE_MAX_AIRCRAFT:
            # forget the long silent, measured from the batch's median time: one frame dated
            # weeks ahead (a damaged counter) must not make every aircraft forget its halves
            with np.errstate(invalid="ignore"):
                newest = np.fmax(np.fmax(merged["te"], merged["to"]), merged["tp"])
            tmid = np.nanmedian(t) if np.isfinite(t).any() else 0.0
            alive = newest >= tmid - STATE_MAX_S
            merged = {k: v[alive] for k, v in merged.items()}
        self.state = merged
        return lat, lon, why
