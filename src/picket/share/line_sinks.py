"""The fused picture as the line formats other tools read: SBS-1 (BaseStation, port
30003) for aircraft and AIS NMEA 0183 with tag blocks for vessels.

Why these two: Virtual Radar Server and many small air tools read BaseStation
lines; OpenCPN, AIS aggregators and pyais-based tools read NMEA. picket sends
its fused tracks (one line per new position, not every receiver's copy), so
a consumer sees each aircraft or vessel once whatever feeds picket merged.

They run at the bus's edge (`picket.share.edge`): each snapshot on `picket.picture`
gives the tracks' newest state. Each track's newest position goes out when it is newer
than the last one sent and at least `min_interval_s` (event time) after it; identity
(callsign, squawk; vessel name and dimensions as AIS type 5) when it changes or, for
vessels, every `statics_every_s` as class A ships repeat it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from picket.model.alerts import Event
from picket.model.reports import Domain
from picket.model.subjects import MASK, SHIFT, Namespace
from picket.share.stream_out import open_destination, summed_stats

FT = 0.3048
KT = 1852.0 / 3600.0
FPM = FT / 60.0


def _grow(a: np.ndarray, n: int, fill: float) -> np.ndarray:
    return a if len(a) >= n else np.r_[a, np.full(n - len(a), fill, a.dtype)]


class _LineSink:
    """What SBS and NMEA share: destinations, the per-track 'last sent' clock, counters."""

    kind = ""
    domain = Domain.NONE
    namespace = Namespace.ICAO

    def __init__(self, urls: list[str], min_interval_s: float = 1.0, name: str = "",
                 queue_lines: int = 20_000):  # fmt: skip
        self.dests = [open_destination(u, name, queue_lines) for u in urls]
        self.min_interval_s = min_interval_s
        self._name = name or ", ".join(urls)
        self.last = np.full(0, -np.inf)

    @property
    def name(self) -> str:
        return self._name

    def emit(self, events: list[Event]) -> None:
        pass  # these formats carry no alerts

    def due(self, view: Any) -> np.ndarray:
        """Rows of this sink's domain and namespace with a position newer than the last sent."""
        n = view.n
        self.last = _grow(self.last, n, -np.inf)
        c = view.cols
        subj = c["subject"][:n]
        ok = (c["domain"][:n] == self.domain) & ((subj >> SHIFT) == int(self.namespace))
        ok &= np.isfinite(c["lat"][:n]) & (c["pos_time"][:n] >= self.last + self.min_interval_s)
        idx = np.flatnonzero(ok)
        self.last[idx] = c["pos_time"][idx]
        return idx

    def send(self, lines: list[bytes]) -> None:
        """One queue item per line: a datagram carries one sentence, as UDP receivers expect,
        and every counter counts lines."""
        for d in self.dests:
            for ln in lines:
                d.put(ln)

    def stats(self) -> dict[str, Any]:
        return summed_stats(self.kind, self.name, self.dests)

    def close(self) -> None:
        for d in self.dests:
            d.stop()


def _sbs_times(t: np.ndarray) -> tuple[list[str], list[str]]:
    s = np.datetime_as_string(np.round(t * 1000).astype("datetime64[ms]"), unit="ms")
    return [x[:10].replace("-", "/") for x in s], [x[11:23] for x in s]


def _f(v: float, fmt: str) -> str:
    return format(v, fmt) if np.isfinite(v) else ""


class SbsSink(_LineSink):
    """Fused aircraft as SBS-1 BaseStation lines: MSG,3 position, MSG,4 velocity, MSG,1
    callsign and MSG,6 squawk when they change."""

    kind = "sbs"
    domain = Domain.AIR
    namespace = Namespace.ICAO

    def __init__(self, *a: Any, **kw: Any):
        super().__init__(*a, **kw)
        self.callsign: dict[int, str] = {}
        self.squawk = np.full(0, -1, np.int64)

    def picture(self, view: Any) -> None:
        idx = self.due(view)
        if not len(idx):
            return
        c, st = view.cols, view.statics
        self.squawk = _grow(self.squawk, view.n, -1)
        dates, times = _sbs_times(c["pos_time"][idx])
        lines: list[bytes] = []
        for k, i in enumerate(idx.tolist()):
            subj = int(c["subject"][i])
            hexid = f"{subj & MASK & 0xFFFFFF:06X}"
            stamp = f"{dates[k]},{times[k]},{dates[k]},{times[k]}"
            head = f"MSG,%d,1,1,{hexid},1,{stamp}"
            cs = st.get(subj, {}).get("callsign")
            if isinstance(cs, str) and cs.strip() and self.callsign.get(subj) != cs.strip():
                self.callsign[subj] = cs.strip()
                lines.append(f"{head % 1},{cs.strip()},,,,,,,,,,,0\r\n".encode())
            alt = c["alt"][i]
            lines.append((f"{head % 3},,{_f(alt / FT, '.0f')},,,{c['lat'][i]:.5f},"
                          f"{c['lon'][i]:.5f},,,0,0,0,0\r\n").encode())  # fmt: skip
            gs = c["speed"][i]
            if np.isfinite(gs):
                lines.append((f"{head % 4},,,{gs / KT:.1f},{_f(c['course'][i], '.1f')},,,"
                              f"{_f(c['vrate'][i] / FPM, '.0f')},,,,,0\r\n").encode())  # fmt: skip
            sq = int(c["squawk"][i])
            if sq >= 0 and sq != self.squawk[i]:
                self.squawk[i] = sq
                emerg = int(sq in (7500, 7600, 7700) or c["emergency"][i] > 0)
                lines.append(f"{head % 6},,,,,,,,{sq:04d},0,{emerg},0,0\r\n".encode())
        self.send(lines)


class AisNmeaSink(_LineSink):
    """Fused vessels as AIS NMEA 0183 with NMEA 4.10 tag blocks (`c:` time, `s:` source):
    type 1 positions, type 5 identity (two sentences) when first seen and every
    `statics_every_s`."""

    kind = "ais_nmea"
    domain = Domain.MARITIME
    namespace = Namespace.MMSI

    def __init__(self, *a: Any, statics_every_s: float = 360.0, station: str = "picket",
                 **kw: Any):  # fmt: skip
        super().__init__(*a, **kw)
        self.statics_every_s = statics_every_s
        self.station = station
        self.statics_sent = np.full(0, -np.inf)

    def picture(self, view: Any) -> None:
        from picket.codec.ais_encode import encode_positions, encode_statics

        idx = self.due(view)
        if not len(idx):
            return
        c = view.cols
        mmsi = c["subject"][idx] & MASK
        t = c["pos_time"][idx]
        lines = encode_positions(t, mmsi, c["lat"][idx], c["lon"][idx], c["speed"][idx] / KT,
                                 c["course"][idx], c["heading"][idx], c["nav_status"][idx],
                                 station=self.station)  # fmt: skip
        self.statics_sent = _grow(self.statics_sent, view.n, -np.inf)
        st = view.statics
        named = [k for k, i in enumerate(idx.tolist())
                 if st.get(int(c["subject"][i]), {}).get("name")
                 and t[k] >= self.statics_sent[i] + self.statics_every_s]  # fmt: skip
        if named:
            sel = idx[named]
            self.statics_sent[sel] = t[named]
            f = [st.get(int(s), {}) for s in c["subject"][sel].tolist()]

            def col(key: str) -> np.ndarray:
                return np.array([float(x.get(key) or 0) for x in f])

            lines += encode_statics(
                t[named], mmsi[named], [str(x.get("name", "")) for x in f],
                [str(x.get("callsign", "")) for x in f], col("imo"), col("ship_type"),
                col("to_bow"), col("to_stern"), col("to_port"), col("to_starboard"),
                [str(x.get("destination", "")) for x in f], col("draught"), station=self.station,
            )  # fmt: skip
        self.send([ln if ln.endswith(b"\n") else ln + b"\r\n" for ln in lines])
