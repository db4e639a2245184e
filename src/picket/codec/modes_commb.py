"""Comm-B replies (DF20/21): registers BDS 4,0, 5,0 and 6,0 inferred from their content.

A Comm-B reply does not say which register its 56-bit MB field holds: the ground
interrogator asked, and a receiver that only listens does not know what. The register is
inferred as the literature does (ICAO Doc 9871 field layouts; Sun, Ellerbroek and Hoekstra,
"The 1090 Megahertz Riddle", 2nd ed., chapter on Mode S Comm-B inference):

- status bits: every field has a status bit, and a field whose status says "no data" must
  be all zeros; reserved bits must be zero; an MB with no status bit set is no register;
- physics: roll within +-50 deg, ground speed <= 600 kt, TAS <= 500 kt and within 200 kt of
  the ground speed (5,0); IAS <= 500 kt, Mach <= 1, vertical rates within +-6000 ft/min and,
  with the reply's own altitude (DF20), the Mach and IAS within 20 kt of each other in the
  standard atmosphere (6,0); selected altitudes <= 50,000 ft and the pressure setting
  850-1100 hPa (4,0);
- ambiguity: a reply that passes more than one register is resolved against the aircraft's
  own ADS-B airborne velocity of the last 30 s (5,0 when its ground speed is within 30 kt
  and its track within 10 deg of it; 6,0 when its magnetic heading is within 45 deg of the
  ADS-B track, room for declination and wind), and is not used when nothing decides.

Trust: the address of a DF20/21 is overlaid on its parity, so any corrupted reply yields
some address. Its MB is used only when that address was heard in a clean DF11/17/18 in the
`CONFIRM_S` (60 s) before it, the life dump1090 and readsb give an address in their
filter of addresses heard in clean replies; older addresses are counted as unused.

Everything is array arithmetic on the batch; Python runs per aircraft and batch only, for
the statics.
"""

from __future__ import annotations

import numpy as np

from picket.codec.modes_fields import FT, KT

CONFIRM_S = 60.0  # an address must have been heard clean this recently (see above)
REFERENCE_S = 30.0  # an ADS-B velocity this recent resolves ambiguous replies
STATIC_S = 5.0  # per aircraft, at most one Comm-B static this often (unless the
# selected altitude or pressure setting changed: those go out at once)
MSG = {40: 140, 50: 150, 60: 160}  # Reports.msg of Comm-B rows: 100 + the register


def _b(mb: np.ndarray, first: int, n: int) -> np.ndarray:
    """MB bits `first`..`first+n-1` (1-based, as in Doc 9871) as int64."""
    return ((mb >> np.uint64(56 - first - n + 1)) & np.uint64((1 << n) - 1)).astype(np.int64)


def _signed(sign: np.ndarray, v: np.ndarray, bits: int) -> np.ndarray:
    return np.where(sign == 1, v - (1 << bits), v)


def _field(mb: np.ndarray, status_bit: int, first: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(status bit, the field's bits after it: sign and value)."""
    st = _b(mb, status_bit, 1)
    v = _b(mb, first, n)
    return st, v


def _consistent(*pairs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    ok = np.ones(len(pairs[0][0]), bool)
    for st, v in pairs:
        ok &= (st == 1) | (v == 0)
    return ok


def bds40(mb: np.ndarray) -> dict[str, np.ndarray]:
    """Selected vertical intention: MCP/FCU and FMS selected altitude (ft), pressure
    setting (hPa); `ok` where the content is consistent with the register."""
    s1, mcp = _field(mb, 1, 2, 12)
    s2, fms = _field(mb, 14, 15, 12)
    s3, baro = _field(mb, 27, 28, 12)
    s4, mode = _field(mb, 48, 49, 3)
    s5, src = _field(mb, 54, 55, 2)
    ok = _consistent((s1, mcp), (s2, fms), (s3, baro), (s4, mode), (s5, src))
    ok &= (_b(mb, 40, 8) == 0) & (_b(mb, 52, 2) == 0) & ((s1 | s2 | s3) == 1)
    mcp_ft = np.where(s1 == 1, mcp * 16.0, np.nan)
    fms_ft = np.where(s2 == 1, fms * 16.0, np.nan)
    qnh = np.where(s3 == 1, baro * 0.1 + 800.0, np.nan)
    ok &= ~(mcp_ft > 50000) & ~(fms_ft > 50000) & ~((qnh < 850) | (qnh > 1100))
    return {"ok": ok, "mcp_ft": mcp_ft, "fms_ft": fms_ft, "qnh_hpa": qnh}


def bds50(mb: np.ndarray) -> dict[str, np.ndarray]:
    """Track and turn report: roll (deg), true track (deg), ground speed (kt), track angle
    rate (deg/s), true airspeed (kt)."""
    s1, roll = _field(mb, 1, 2, 10)
    s2, trk = _field(mb, 12, 13, 11)
    s3, gs = _field(mb, 24, 25, 10)
    s4, rate = _field(mb, 35, 36, 10)
    s5, tas = _field(mb, 46, 47, 10)
    ok = _consistent((s1, roll), (s2, trk), (s3, gs), (s4, rate), (s5, tas))
    ok &= (s1 | s2 | s3 | s4 | s5) == 1
    roll_d = np.where(s1 == 1, _signed(roll >> 9, roll & 0x1FF, 9) * 45.0 / 256, np.nan)
    trk_d = np.where(s2 == 1, (_signed(trk >> 10, trk & 0x3FF, 10) * 90.0 / 512) % 360.0,
                     np.nan)  # fmt: skip
    gs_kt = np.where(s3 == 1, gs * 2.0, np.nan)
    # a rate field of all ones is read as "not available" (as pyModeS and rs1090 do)
    rate_d = np.where((s4 == 1) & ((rate & 0x1FF) != 0x1FF),
                      _signed(rate >> 9, rate & 0x1FF, 9) * 8.0 / 256, np.nan)  # fmt: skip
    tas_kt = np.where(s5 == 1, tas * 2.0, np.nan)
    ok &= ~(np.abs(roll_d) > 50) & ~(gs_kt > 600) & ~(tas_kt > 500)
    ok &= ~(np.abs(gs_kt - tas_kt) > 200)
    return {"ok": ok, "roll": roll_d, "track": trk_d, "gs_kt": gs_kt, "track_rate": rate_d,
            "tas_kt": tas_kt}  # fmt: skip


def bds60(mb: np.ndarray, alt_ft: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Heading and speed report: magnetic heading (deg), IAS (kt), Mach, barometric and
    inertial vertical rates (ft/min). `alt_ft`: the reply's own altitude (DF20), for the
    Mach/IAS consistency check."""
    s1, hdg = _field(mb, 1, 2, 11)
    s2, ias = _field(mb, 13, 14, 10)
    s3, mach = _field(mb, 24, 25, 10)
    s4, vrb = _field(mb, 35, 36, 10)
    s5, vri = _field(mb, 46, 47, 10)
    ok = _consistent((s1, hdg), (s2, ias), (s3, mach), (s4, vrb), (s5, vri))
    ok &= (s1 | s2 | s3 | s4 | s5) == 1
    hdg_d = np.where(s1 == 1, (_signed(hdg >> 10, hdg & 0x3FF, 10) * 90.0 / 512) % 360.0,
                     np.nan)  # fmt: skip
    ias_kt = np.where(s2 == 1, ias * 1.0, np.nan)
    mach_ = np.where(s3 == 1, mach * 2.048 / 512, np.nan)
    # a vertical rate of all ones (with either sign) is a level -0, read as 0 (as pyModeS
    # and rs1090 do: it is what level aircraft send)
    vrb_f = np.where(s4 == 1, np.where((vrb & 0x1FF) == 0x1FF, 0, _signed(vrb >> 9, vrb & 0x1FF,
                                       9)) * 32.0, np.nan)  # fmt: skip
    vri_f = np.where(s5 == 1, np.where((vri & 0x1FF) == 0x1FF, 0, _signed(vri >> 9, vri & 0x1FF,
                                       9)) * 32.0, np.nan)  # fmt: skip
    ok &= ~(ias_kt > 500) & ~(mach_ > 1) & ~(np.abs(vrb_f) > 6000) & ~(np.abs(vri_f) > 6000)
    if alt_ft is not None:
        cas = mach_to_cas_kt(mach_, alt_ft)
        ok &= ~(np.abs(cas - ias_kt) > 20)
    return {"ok": ok, "heading": hdg_d, "ias_kt": ias_kt, "mach": mach_, "vr_baro": vrb_f,
            "vr_inertial": vri_f}  # fmt: skip


def mach_to_cas_kt(mach: np.ndarray, alt_ft: np.ndarray) -> np.ndarray:
    """Calibrated airspeed (kt) of a Mach number at a pressure altitude, in the ISA
    (troposphere and the isothermal layer to 20 km); NaN where either is unknown."""
    h = np.asarray(alt_ft, float) * FT
    t = np.where(h < 11000, 288.15 - 0.0065 * h, 216.65)
    p = np.where(h < 11000, 101325.0 * (t / 288.15) ** 5.25588,
                 22632.06 * np.exp(-9.80665 / (287.053 * 216.65) * (h - 11000)))  # fmt: skip
    qc = p * ((1 + 0.2 * mach**2) ** 3.5 - 1)
    a0 = 340.294
    cas = a0 * np.sqrt(5 * ((qc / 101325.0 + 1) ** (2 / 7) - 1))
    return cas / KT


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs((a - b + 180.0) % 360.0 - 180.0)


def infer(mb: np.ndarray, alt_ft: np.ndarray, ref_gs_kt: np.ndarray, ref_trk: np.ndarray
          ) -> tuple[np.ndarray, dict[int, dict[str, np.ndarray]], np.ndarray]:  # fmt: skip
    """(register per reply: 40, 50, 60 or 0; each register's decoded fields; replies left
    ambiguous). `ref_*`: the aircraft's recent ADS-B ground speed and track (NaN: none)."""
    d = {40: bds40(mb), 50: bds50(mb), 60: bds60(mb, alt_ft)}
    ok = np.stack([d[40]["ok"], d[50]["ok"], d[60]["ok"]], axis=1)
    n_ok = ok.sum(axis=1)
    reg = np.where(n_ok == 1, np.array([40, 50, 60])[np.argmax(ok, axis=1)], 0)
    amb = n_ok > 1
    m50 = (np.abs(d[50]["gs_kt"] - ref_gs_kt) <= 30) & (_angle(d[50]["track"], ref_trk) <= 10)
    m60 = _angle(d[60]["heading"], ref_trk) <= 45
    pick50 = amb & ok[:, 1] & m50 & ~(ok[:, 2] & m60 & ~m50)
    pick60 = amb & ok[:, 2] & m60 & ~m50
    reg = np.where(pick50, 50, np.where(pick60, 60, reg))
    return reg, d, amb & (reg == 0)


class AddressBook:
    """Per address: when it was last heard in a clean reply, and its latest ADS-B ground
    velocity (kt, deg, time). Sorted arrays merged once per batch: no Python per frame."""

    def __init__(self) -> None:
        self.addr = np.zeros(0, np.int64)
        self.heard = np.zeros(0)
        self.gs = np.zeros(0)
        self.trk = np.zeros(0)
        self.vt = np.zeros(0)

    def size(self) -> int:
        return len(self.addr)

    def lookup(self, addr: np.ndarray) -> tuple[np.ndarray, ...]:
        """(heard time, gs, track, velocity time) per address before this batch (NaN)."""
        if not len(self.addr):
            nan = np.full(len(addr), np.nan)
            return nan, nan.copy(), nan.copy(), nan.copy()
        j = np.minimum(np.searchsorted(self.addr, addr), len(self.addr) - 1)
        hit = self.addr[j] == addr
        return tuple(np.where(hit, col[j], np.nan)
                     for col in (self.heard, self.gs, self.trk, self.vt))  # type: ignore[return-value]

    def update(self, addr: np.ndarray, heard: np.ndarray, gs: np.ndarray, trk: np.ndarray,
               vt: np.ndarray) -> None:  # fmt: skip
        """Merge the batch's last values per address (sorted, unique; NaN leaves a value as
        it was)."""
        if not len(addr):
            return
        old = self.lookup(addr)
        new = [np.where(np.isnan(x), o, x) for x, o in zip((heard, gs, trk, vt), old,
                                                           strict=True)]  # fmt: skip
        # `addr` is sorted and unique (np.union1d): membership by binary search
        j = np.minimum(np.searchsorted(addr, self.addr), len(addr) - 1)
        keep = addr[j] != self.addr
        a = np.r_[self.addr[keep], addr]
        o = np.argsort(a, kind="stable")
        self.addr = a[o]
        self.heard, self.gs, self.trk, self.vt = (
            np.r_[col[keep], nv][o]
            for col, nv in zip((self.heard, self.gs, self.trk, self.vt), new, strict=True))

    def forget_before(self, t: float) -> None:
        """Drop addresses silent since `t` (both clocks), so the book follows the traffic."""
        live = (self.heard >= t) | (self.vt >= t)
        if not live.all():
            self.addr, self.heard, self.gs, self.trk, self.vt = (
                c[live] for c in (self.addr, self.heard, self.gs, self.trk, self.vt))


class Latest:
    """Frames `rows` (ascending) of a batch sorted once by (address, frame): which of them
    is the latest of an address before a given frame, and the last of each address."""

    def __init__(self, addr: np.ndarray, rows: np.ndarray, n: int) -> None:
        self.n = n
        key = addr[rows].astype(np.int64) * n + rows
        o = np.argsort(key, kind="stable")
        self.key, self.rows = key[o], rows[o]

    def before(self, addr: np.ndarray, at: np.ndarray) -> np.ndarray:
        """Per query: the latest row of `addr` before frame `at`, else -1."""
        if not len(self.key):
            return np.full(len(at), -1, np.int64)
        pos = np.searchsorted(self.key, addr.astype(np.int64) * self.n + at) - 1
        p = np.maximum(pos, 0)
        return np.where((pos >= 0) & (self.key[p] // self.n == addr), self.rows[p], -1)

    def last(self) -> tuple[np.ndarray, np.ndarray]:
        """(each address, its last row)."""
        a = self.key // self.n
        end = np.r_[a[1:] != a[:-1], True] if len(a) else np.zeros(0, bool)
        return a[end], self.rows[end]
