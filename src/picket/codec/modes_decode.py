"""Mode S / ADS-B decoding of whole batches of frames into columnar reports.

Input is an (n, 14) uint8 frame matrix (56-bit frames in the first 7 columns)
with per-frame length, time and raw offset. Everything is array arithmetic on
the batch; the only Python per item is for callsigns that changed.

Trust rules
- DF17/18 must have a zero CRC syndrome; DF11 may carry an interrogator code
  in the low 7 bits of its syndrome. These are the addresses we have *seen*.
- DF0/4/5/16/20/21 overlay the address on the parity: the syndrome *is* the
  address, which is accepted only if that address was already seen in a clean
  DF11/17/18 (otherwise any corrupted frame would invent an aircraft).

Output (domain AIR, subject key(ICAO, address)); `msg` is the type code for
DF17/18 and 100 + DF for other downlink formats:
- POSITION: TC 5-8 (surface: speed, course), 9-18 and 20-22 (lat, lon, alt, nic);
  `on_ground` 1 for surface positions, 0 for airborne ones (the type code says which)
- VELOCITY: TC19 (speed, course, vrate; heading for airspeed subtypes), airborne only
- STATUS: TC28/1 (emergency, squawk), TC31 (version, nacp, sil)
- IDENTITY: DF0/4/16/20 (alt), DF5/21 (squawk)
- Static(callsign, category) from TC1-4 when an aircraft's callsign changes.
- Comm-B (DF20/21, modes_commb.py), where the address was heard clean in the last 60 s:
  VELOCITY rows from BDS 5,0 (ground speed, true track; msg 150) and 6,0 (barometric
  vertical rate, else inertial; msg 160); a Static per aircraft, register and 5 s with
  the fields readsb names them by: `nav_altitude_mcp`, `nav_altitude_fms` (ft), `nav_qnh`
  (hPa) from 4,0; `roll`, `track_rate` (deg/s), `tas` (kt) from 5,0; `mag_heading`,
  `ias` (kt), `mach`, `baro_rate`, `geom_rate` (ft/min) from 6,0. The magnetic heading
  stays out of the `heading` column, which is true.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from picket.codec import modes_commb as commb
from picket.codec.modes_cpr_track import REASONS, CprTracker
from picket.codec.modes_crc import syndrome_mixed
from picket.codec.modes_fields import (
    FPM,
    FT,
    KT,
    ac12_ft,
    ac13_ft,
    callsign_chars,
    callsign_strings,
    header,
    id13_squawk,
    low13,
    me_bits,
    me_word,
)
from picket.model.decoded import Decoded, Static
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.model.subjects import Namespace, key

SHORT_DF = (0, 4, 5, 11)
LONG_DF = (16, 17, 18, 20, 21)
AP_DF = (0, 4, 5, 16, 20, 21)
ES_DF18_CF = (0, 1, 2, 5, 6)  # ES formats; CF 3 (coarse TIS-B) and 4/7 are not

# aircraft flags in one byte per address: version+1 (2 bits), NIC-A, NIC-C, seen
_VER_MASK, _NIC_A, _NIC_C, _SEEN = 0x03, 0x04, 0x08, 0x10

# airborne NIC by type code, without and with the supplement (DO-260B 2.2.3.2.3)
_NIC_AIR = np.full((32, 2), -1, dtype=np.int8)
for _tc, _n0, _n1 in ((9, 11, 11), (10, 10, 10), (11, 8, 9), (12, 7, 7), (13, 6, 6),
                      (14, 5, 5), (15, 4, 4), (16, 2, 3), (17, 1, 1), (18, 0, 0),
                      (20, 11, 11), (21, 10, 10), (22, 0, 0)):  # fmt: skip
    _NIC_AIR[_tc] = (_n0, _n1)

# surface movement field -> ground speed in knots (NaN: not available / reserved)
_MOV = np.full(128, np.nan)
_MOV[1] = 0.0
_MOV[2:9] = 0.125 + (np.arange(2, 9) - 2) * 0.125
_MOV[9:13] = 1 + (np.arange(9, 13) - 9) * 0.25
_MOV[13:39] = 2 + (np.arange(13, 39) - 13) * 0.5
_MOV[39:94] = 15 + (np.arange(39, 94) - 39) * 1.0
_MOV[94:109] = 70 + (np.arange(94, 109) - 94) * 2.0
_MOV[109:124] = 100 + (np.arange(109, 124) - 109) * 5.0
_MOV[124] = 175.0


def _known_before(flags: np.ndarray, aa: np.ndarray, seen: np.ndarray, syn: np.ndarray
                  ) -> np.ndarray:  # fmt: skip
    """Per frame: was the address its parity implies seen (DF11/17/18) in an earlier batch or
    an earlier frame of this one? Order, not batch, decides, so chunking never changes it."""
    addr = syn & 0xFFFFFF
    known = (flags[addr] & _SEEN) != 0
    si = np.flatnonzero(seen)
    if len(si):
        ua, first = np.unique(aa[si], return_index=True)
        j = np.minimum(np.searchsorted(ua, addr), len(ua) - 1)
        known |= (ua[j] == addr) & (si[first][j] < np.arange(len(addr)))
    return known


def _as_of(pre: np.ndarray, icao: np.ndarray, rows: np.ndarray, val: np.ndarray) -> np.ndarray:
    """Per frame: the value set by its aircraft's latest update (`rows`, `val`) at or before
    it in this batch, else `pre` (the value before the batch)."""
    if not len(rows):
        return pre
    n = len(icao)
    upd = np.zeros(n, bool)
    upd[rows] = True
    v = pre.copy()
    v[rows] = val
    o = np.lexsort((np.arange(n), icao))
    ic, pos = icao[o], np.arange(n)
    last = np.maximum.accumulate(np.where(upd[o], pos, -1))
    starts = np.r_[0, np.flatnonzero(ic[1:] != ic[:-1]) + 1]
    group_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    out = pre.copy()
    out[o] = np.where(last >= group_start, v[o][np.maximum(last, 0)], pre[o])
    return out


class ModeSDecoder:
    """Stateful batch decoder: remembers seen addresses, CPR halves, status, callsigns."""

    def __init__(
        self, rejects: Rejects, source: str, reference: tuple[float, float] | None = None
    ) -> None:
        self.rejects = rejects
        self.source = source
        self.source_code = SOURCES.code(source)
        self.flags = np.zeros(1 << 24, dtype=np.uint8)
        self.cpr = CprTracker(reference)
        self.callsigns: dict[int, tuple[str, str]] = {}
        self._ident: dict[int, tuple[int, int]] = {}  # aircraft -> last (packed chars, category)
        self.book = commb.AddressBook()  # clean-reply times and ADS-B velocities (Comm-B)
        self._cb_bucket: dict[int, int] = {}  # (address, register) -> last static's 5-s bucket
        # Comm-B replies by what became of their MB field (the replies themselves are
        # accepted for their altitude or squawk: these are not rejects)
        self.commb_counts: Counter[str] = Counter()

    # -------------------------------------------------------------------------------
    def decode(
        self, frames: np.ndarray, nbytes: np.ndarray, time: np.ndarray, raw: np.ndarray
    ) -> Decoded:
        """Decode a batch; never raises for any frame content."""
        n = frames.shape[0]
        if n == 0:
            return Decoded.empty()
        frames = np.ascontiguousarray(frames, dtype=np.uint8)
        nbytes = np.asarray(nbytes)
        time = np.asarray(time, dtype=np.float64)
        raw = np.asarray(raw, dtype=np.int64)
        df, ca, aa = header(frames)
        syn = syndrome_mixed(frames, nbytes).astype(np.int64)

        length_ok = np.where(nbytes == 7, np.isin(df, SHORT_DF), np.isin(df, LONG_DF) | (df >= 24))
        known_df = np.isin(df, SHORT_DF + LONG_DF)
        es = length_ok & ((df == 17) | ((df == 18) & np.isin(ca, ES_DF18_CF)))
        es_ok = es & (syn == 0)
        df11_ok = length_ok & (df == 11) & ((syn & ~0x7F) == 0)
        ap = length_ok & np.isin(df, AP_DF)
        ap_ok = ap & _known_before(self.flags, aa, es_ok | df11_ok, syn) & (syn < (1 << 24))
        self.flags[aa[es_ok | df11_ok]] |= _SEEN
        icao = np.where(ap, syn & 0xFFFFFF, aa)

        self._count(~length_ok & known_df, "modes.bad_length", frames, nbytes, raw)
        self._count(~known_df, "modes.unsupported_df", frames, nbytes, raw)
        self._count(length_ok & (df == 18) & ~es, "modes.unsupported_df", frames, nbytes, raw)
        bad_crc = (es & (syn != 0)) | (length_ok & (df == 11) & ~df11_ok)
        self._count(bad_crc, "modes.bad_crc", frames, nbytes, raw)
        self._count(ap & ~ap_ok, "modes.unknown_address", frames, nbytes, raw)
        n_ok = int(np.count_nonzero(es_ok | df11_ok | ap_ok))

        parts: list[Reports] = []
        statics: list[Static] = []
        subject = key(Namespace.ICAO, icao)
        base = {"domain": Domain.AIR, "source": self.source_code}

        # surveillance replies: altitude (DF0/4/16/20), identity (DF5/21)
        v13 = low13(frames)
        sel = np.flatnonzero(ap_ok & np.isin(df, (0, 4, 16, 20)))
        alt = ac13_ft(v13[sel]) * FT
        sel, alt = sel[np.isfinite(alt)], alt[np.isfinite(alt)]
        parts.append(Reports.build(
            time=time[sel], kind=Kind.IDENTITY, subject=subject[sel], alt=alt,
            msg=100 + df[sel], raw=raw[sel], **base))  # fmt: skip
        sel = np.flatnonzero(ap_ok & np.isin(df, (5, 21)))
        parts.append(Reports.build(
            time=time[sel], kind=Kind.IDENTITY, subject=subject[sel],
            squawk=id13_squawk(v13[sel]), msg=100 + df[sel], raw=raw[sel], **base))  # fmt: skip

        # extended squitter
        ix = np.flatnonzero(es_ok)
        n_cpr_bad = 0
        statics, srows = [], np.zeros(0, np.int64)
        vel_rows, vel_gs, vel_trk = np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
        if len(ix):
            me = me_word(frames[ix])
            tc = me_bits(me, 1, 5)
            e_icao, e_t, e_raw, e_sub = icao[ix], time[ix], raw[ix], subject[ix]
            st_rows, st_flags = self._status(me, tc, e_icao, e_t, e_raw, e_sub, base, parts)
            # each position reads the status flags as of its own frame, not the batch's end
            fl = _as_of(self.flags[e_icao], e_icao, st_rows, st_flags)
            n_cpr_bad = self._positions(me, tc, e_icao, e_t, e_raw, e_sub, base, parts, fl)
            self.flags[e_icao[st_rows]] = st_flags  # the last per aircraft wins
            vs, vel_gs, vel_trk = self._velocity(me, tc, e_t, e_raw, e_sub, base, parts)
            vel_rows = ix[vs]
            statics, srows = self._identification(me, tc, e_icao, e_t, e_sub)
            srows = ix[srows]
        cstat, crows = self._commb(frames, df, icao, time, raw, subject, ap_ok, es_ok | df11_ok,
                                   v13, (vel_rows, vel_gs, vel_trk), base, parts)  # fmt: skip
        if cstat:  # in frame order, as any chunking of the same frames gives them
            both = statics + cstat
            order = np.argsort(np.r_[srows, crows], kind="stable")
            statics = [both[k] for k in order.tolist()]
        self.rejects.accept(n_ok - n_cpr_bad)

        out = Reports.concat(parts)
        if len(out) > 1:
            out = out.take(np.argsort(out.raw, kind="stable"))
        return Decoded(out, statics)

    # -------------------------------------------------------------------------------
    def _count(
        self, mask: np.ndarray, reason: str, frames: np.ndarray, nbytes: np.ndarray,
        raw: np.ndarray,
    ) -> None:  # fmt: skip
        """One dead-letter record per reason and batch: the first frame and the count."""
        k = int(np.count_nonzero(mask))
        if k:
            i = int(np.flatnonzero(mask)[0])
            first = bytes(frames[i, : int(nbytes[i])])
            self.rejects.reject(reason, f"{self.source}:{int(raw[i])}", first, n=k)

    def _status(self, me, tc, icao, t, raw, sub, base, parts):  # type: ignore[no-untyped-def]
        """Status reports; returns the TC31 rows and the aircraft flags they set."""
        # TC31 operational status: version, NIC supplements, NACp, SIL
        s = np.flatnonzero(tc == 31)
        rows31, new = np.zeros(0, np.int64), np.zeros(0, np.uint8)
        if len(s):
            m = me[s]
            st = me_bits(m, 6, 3)
            ver = me_bits(m, 41, 3)
            keep = (st <= 1) & (ver <= 2)
            s, m, st, ver = s[keep], m[keep], st[keep], ver[keep]
            rows31 = s
            nic_a = me_bits(m, 44, 1)
            nic_c = np.where(st == 1, me_bits(m, 20, 1), 0)
            v12 = ver >= 1
            nacp = np.where(v12, me_bits(m, 45, 4), -1)
            sil = np.where(v12, me_bits(m, 51, 2), -1)
            a = icao[s]
            new = (self.flags[a] & _SEEN) | ((ver + 1) | (nic_a << 2) | (nic_c << 3)).astype(
                np.uint8
            )
            parts.append(Reports.build(
                time=t[s], kind=Kind.STATUS, subject=sub[s], version=ver, nacp=nacp, sil=sil,
                msg=31, raw=raw[s], **base))  # fmt: skip
        # TC28 subtype 1: emergency state and Mode A code
        s = np.flatnonzero(tc == 28)
        s = s[me_bits(me[s], 6, 3) == 1]
        if len(s):
            m = me[s]
            parts.append(Reports.build(
                time=t[s], kind=Kind.STATUS, subject=sub[s], emergency=me_bits(m, 9, 3),
                squawk=id13_squawk(me_bits(m, 12, 13)), msg=28, raw=raw[s], **base))  # fmt: skip
        return rows31, new

    def _positions(self, me, tc, icao, t, raw, sub, base, parts, flags) -> int:  # type: ignore[no-untyped-def]
        air = ((tc >= 9) & (tc <= 18)) | ((tc >= 20) & (tc <= 22))
        surf = (tc >= 5) & (tc <= 8)
        s = np.flatnonzero(air | surf)
        if not len(s):
            return 0
        m, ptc, a = me[s], tc[s], icao[s]
        is_surf = surf[s]
        odd = me_bits(m, 22, 1)
        lat, lon, why = self.cpr.decode(
            a, t[s], odd, me_bits(m, 23, 17), me_bits(m, 40, 17), is_surf
        )
        fl = flags[s]
        ver = (fl & _VER_MASK).astype(np.int64) - 1  # -1: not yet known
        # NIC supplement: NIC-B in the message for v2 (or unknown), NIC-A from TC31 for v1
        supp = np.where(ver == 1, (fl & _NIC_A) > 0, np.where(ver == 0, 0, me_bits(m, 8, 1)))
        nic = _NIC_AIR[np.where(is_surf, 0, ptc), supp.astype(np.int64)].astype(np.int64)
        na, nc = (fl & _NIC_A) > 0, (fl & _NIC_C) > 0
        nic_s = np.select(
            [ptc == 5, ptc == 6, ptc == 7, (ptc == 8) & na & nc, (ptc == 8) & (na | nc)],
            [11, 10, np.where(na, 9, 8), 7, 6], 0,
        )  # fmt: skip
        nic = np.where(is_surf, nic_s, nic)
        alt = np.where(is_surf, np.nan, ac12_ft(me_bits(m, 9, 12)) * FT)
        # TC 20-22 carry GNSS height, not pressure altitude: keep it out of `alt`
        alt = np.where(ptc >= 20, np.nan, alt)
        mov = me_bits(m, 6, 7)
        gspd = np.where(is_surf, _MOV[mov] * KT, np.nan)
        trk_ok = is_surf & (me_bits(m, 13, 1) == 1)
        crs = np.where(trk_ok, me_bits(m, 14, 7) * (360.0 / 128), np.nan)
        bad = why != 0
        k = ~bad
        parts.append(Reports.build(
            time=t[s][k], kind=Kind.POSITION, subject=sub[s][k], lat=lat[k], lon=lon[k],
            alt=alt[k], speed=gspd[k], course=crs[k], nic=nic[k], version=ver[k],
            msg=ptc[k], raw=raw[s][k], on_ground=is_surf[k].astype(np.int8),
            **base))  # fmt: skip
        for code, reason in REASONS.items():
            hit = why == code
            nhit = int(np.count_nonzero(hit))
            if nhit:
                i = int(np.flatnonzero(hit)[0])
                self.rejects.reject(
                    f"modes.{reason}", f"{self.source}:{int(raw[s][i])}",
                    f"icao {int(a[i]):06x}", n=nhit,
                )  # fmt: skip
        return int(np.count_nonzero(bad))

    def _velocity(self, me, tc, t, raw, sub, base, parts):  # type: ignore[no-untyped-def]
        """Velocity reports; returns (rows with a ground velocity, its speed kt, track)."""
        s = np.flatnonzero(tc == 19)
        if not len(s):
            return s, np.zeros(0), np.zeros(0)
        m = me[s]
        st = me_bits(m, 6, 3)
        keep = (st >= 1) & (st <= 4)
        s, m, st = s[keep], m[keep], st[keep]
        fac = np.where((st == 2) | (st == 4), 4.0, 1.0)
        ew, ns = me_bits(m, 15, 10), me_bits(m, 26, 10)
        gnd = (st <= 2) & (ew > 0) & (ns > 0)
        vew = np.where(me_bits(m, 14, 1) == 1, -1.0, 1.0) * (ew - 1) * fac
        vns = np.where(me_bits(m, 25, 1) == 1, -1.0, 1.0) * (ns - 1) * fac
        speed = np.where(gnd, np.hypot(vew, vns) * KT, np.nan)
        course = np.where(gnd, np.degrees(np.arctan2(vew, vns)) % 360.0, np.nan)
        hdg_ok = (st >= 3) & (me_bits(m, 14, 1) == 1)
        heading = np.where(hdg_ok, me_bits(m, 15, 10) * (360.0 / 1024), np.nan)
        vr = me_bits(m, 38, 9)
        vrate = np.where(
            vr > 0, np.where(me_bits(m, 37, 1) == 1, -1.0, 1.0) * (vr - 1) * 64 * FPM, np.nan
        )
        parts.append(Reports.build(
            time=t[s], kind=Kind.VELOCITY, subject=sub[s], speed=speed, course=course,
            heading=heading, vrate=vrate, msg=19, raw=raw[s], on_ground=0,
            **base))  # fmt: skip
        return s[gnd], (speed / KT)[gnd], course[gnd]

    def _commb(self, frames, df, icao, t, raw, sub, ap_ok, clean, v13, vel, base, parts
               ) -> tuple[list[Static], np.ndarray]:  # type: ignore[no-untyped-def]  # fmt: skip
        """BDS 4,0/5,0/6,0 from DF20/21 whose address was heard clean in the last
        `commb.CONFIRM_S`, as of each frame (frame order, not batching, decides). Returns
        the statics and their frame rows."""
        vrows, vgs, vtrk = vel  # ADS-B ground velocities (rows ascending), kt and deg
        n = len(t)
        heard_at = commb.Latest(icao, np.flatnonzero(clean), n)
        vel_at = commb.Latest(icao, vrows, n)
        cb = np.flatnonzero(ap_ok & ((df == 20) | (df == 21)))
        out: list[Static] = []
        rows = np.zeros(0, np.int64)
        if len(cb):
            a = icao[cb]
            heard0, gs0, trk0, vt0 = self.book.lookup(a)
            j = heard_at.before(a, cb)
            heard = np.where(j >= 0, t[np.maximum(j, 0)], heard0)
            # frame order says "before"; receiver clocks may disagree by a little
            ok = t[cb] - heard <= commb.CONFIRM_S
            self.commb_counts["address not heard clean in 60 s"] += int(np.count_nonzero(~ok))
            cb, a, gs0, trk0, vt0 = cb[ok], a[ok], gs0[ok], trk0[ok], vt0[ok]
        if len(cb):
            j = vel_at.before(a, cb)
            k = np.searchsorted(vrows, np.maximum(j, 0))
            has = j >= 0
            vt = np.where(has, t[np.maximum(j, 0)], vt0)
            fresh = t[cb] - vt <= commb.REFERENCE_S
            rgs = np.where(fresh, np.where(has, vgs[k] if len(vgs) else np.nan, gs0), np.nan)
            rtrk = np.where(fresh, np.where(has, vtrk[k] if len(vtrk) else np.nan, trk0), np.nan)
            alt = np.where(df[cb] == 20, ac13_ft(v13[cb]), np.nan)
            reg, d, amb = commb.infer(me_word(frames[cb]), alt, rgs, rtrk)
            c = self.commb_counts
            c["register ambiguous"] += int(amb.sum())
            c["other registers"] += int(((reg == 0) & ~amb).sum())
            for r in (40, 50, 60):
                c[f"BDS {r // 10},0"] += int((reg == r).sum())
            d5, d6 = d[50], d[60]
            k5 = (reg == 50) & (np.isfinite(d5["gs_kt"]) | np.isfinite(d5["track"]))
            vr = np.where(np.isfinite(d6["vr_baro"]), d6["vr_baro"], d6["vr_inertial"])
            k6 = (reg == 60) & np.isfinite(vr)
            parts.append(Reports.build(
                time=t[cb][k5], kind=Kind.VELOCITY, subject=sub[cb][k5],
                speed=d5["gs_kt"][k5] * KT, course=d5["track"][k5], msg=commb.MSG[50],
                raw=raw[cb][k5], **base))  # fmt: skip
            parts.append(Reports.build(
                time=t[cb][k6], kind=Kind.VELOCITY, subject=sub[cb][k6], vrate=vr[k6] * FPM,
                msg=commb.MSG[60], raw=raw[cb][k6], **base))  # fmt: skip
            out, rows = self._commb_statics(cb, reg, d, icao, t, sub)
        # what the next batches are judged against: one merge into the book
        ha, hr = heard_at.last()
        va, vr_ = vel_at.last()
        if len(ha) or len(va):
            u = np.union1d(ha, va)
            nan = np.full(len(u), np.nan)
            heard_u, gs_u, trk_u, vt_u = nan, nan.copy(), nan.copy(), nan.copy()
            heard_u[np.searchsorted(u, ha)] = t[hr]
            iv = np.searchsorted(u, va)
            kv = np.searchsorted(vrows, vr_)
            gs_u[iv], trk_u[iv], vt_u[iv] = vgs[kv], vtrk[kv], t[vr_]
            self.book.update(u, heard_u, gs_u, trk_u, vt_u)
        if n and self.book.size() > 2 * len(ha) + 64:  # now and then, not every batch
            self.book.forget_before(float(np.nanmax(t)) - 2 * commb.CONFIRM_S)
        return out, rows

    def _commb_statics(self, cb, reg, d, icao, t, sub):  # type: ignore[no-untyped-def]
        """One Static per aircraft, register and `commb.STATIC_S` bucket of event time: the
        first decoded reply of each, so the statics do not depend on batching."""
        rows = np.flatnonzero(reg > 0)
        if not len(rows):
            return [], np.zeros(0, np.int64)
        keyv = icao[cb][rows].astype(np.int64) * 4 + np.select(
            [reg[rows] == 40, reg[rows] == 50], [0, 1], 2)  # fmt: skip
        bucket = np.floor(t[cb][rows] / commb.STATIC_S).astype(np.int64)
        n = len(rows)
        o = np.lexsort((np.arange(n), keyv))
        ko, bo = keyv[o], bucket[o]
        head = np.r_[True, ko[1:] != ko[:-1]]
        new = np.r_[True, (bo[1:] != bo[:-1])] | head
        for h in np.flatnonzero(head):
            if self._cb_bucket.get(int(ko[h])) == int(bo[h]):
                new[h] = False
        tail = np.r_[ko[1:] != ko[:-1], True]
        for k in np.flatnonzero(tail):
            self._cb_bucket[int(ko[k])] = int(bo[k])
        emit = rows[np.sort(o[new])]
        names = {40: (("nav_altitude_mcp", "mcp_ft", 0), ("nav_altitude_fms", "fms_ft", 0),
                      ("nav_qnh", "qnh_hpa", 1)),
                 50: (("roll", "roll", 1), ("track_rate", "track_rate", 2), ("tas", "tas_kt", 0)),
                 60: (("mag_heading", "heading", 1), ("ias", "ias_kt", 0), ("mach", "mach", 3),
                      ("baro_rate", "vr_baro", 0), ("geom_rate", "vr_inertial", 0))}  # fmt: skip
        out, at = [], []
        for i in emit.tolist():
            r = int(reg[i])
            f = {}
            for name, col, nd in names[r]:
                v = float(d[r][col][i])
                if v == v:
                    f[name] = round(v) if nd == 0 else round(v, nd)
            if f:
                out.append(Static(float(t[cb][i]), int(sub[cb][i]), f))
                at.append(int(cb[i]))
        return out, np.array(at, np.int64)

    def _identification(self, me, tc, icao, t, sub):  # type: ignore[no-untyped-def]
        """Statics of changed callsigns, and their rows (of the extended squitters)."""
        s = np.flatnonzero((tc >= 1) & (tc <= 4))
        if not len(s):
            return [], s
        chars = callsign_chars(me[s])
        cat = (4 - tc[s]) * 8 + me_bits(me[s], 6, 3)  # set A..D, category 0..7
        packed = np.zeros(len(s), dtype=np.uint64)
        for k in range(8):
            packed = (packed << np.uint64(8)) ^ chars[:, k].astype(np.uint64)
        # a static where an aircraft's (callsign, category) changes, in frame order, so the
        # statics do not depend on how frames are batched
        a = icao[s].astype(np.int64)
        n = len(s)
        o = np.lexsort((np.arange(n), a))
        ao, po, co = a[o], packed[o], cat[o].astype(np.int64)
        head = np.r_[True, ao[1:] != ao[:-1]]
        moved = np.r_[False, (po[1:] != po[:-1]) | (co[1:] != co[:-1])] & ~head
        for h in np.flatnonzero(head):  # once per aircraft in the batch: against the last batch
            if self._ident.get(int(ao[h])) == (int(po[h]), int(co[h])):
                head[h] = False
        emit = np.sort(o[head | moved])  # rows of s, in frame order
        tail = np.r_[ao[1:] != ao[:-1], True]
        for k in np.flatnonzero(tail):
            self._ident[int(ao[k])] = (int(po[k]), int(co[k]))
        out: list[Static] = []
        names = callsign_strings(chars[emit])
        for j, name in zip(emit, names, strict=True):
            c = int(cat[j])
            category = f"{'ABCD'[c // 8]}{c % 8}"
            self.callsigns[int(a[j])] = (name, category)
            out.append(
                Static(float(t[s][j]), int(sub[s][j]), {"callsign": name, "category": category})
            )
        return out, s[emit]
