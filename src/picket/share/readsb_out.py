"""picket's fused air picture as readsb/tar1090 JSON: `aircraft.json`, `receiver.json` and
the `history_N.json` ring, written to a directory (tar1090's `data/` folder).

Why this format: tar1090, its forks and many small tools read readsb's JSON as it
is documented (readsb's README-json.md); writing the same files lets them show
picket's fused tracks (ADS-B, MLAT-free radar tracks, Remote ID) with no change.
Field names and units are readsb's: feet, knots, feet per minute, seconds ago.

Files are replaced atomically (written beside, then renamed), so a web server
never serves half a file. Event time drives the cadence: in a fast replay the
files follow the replayed clock, one write per `interval_s` of event time.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from picket import __version__
from picket.model.alerts import Event
from picket.model.reports import Domain
from picket.model.subjects import SHIFT, Namespace

log = logging.getLogger(__name__)

FT = 0.3048
KT = 1852.0 / 3600.0
FPM = FT / 60.0
# readsb's emergency names by ADS-B emergency state (DO-260B 2.2.3.2.7.8.1.1)
EMERGENCY = ("none", "general", "lifeguard", "minfuel", "nordo", "unlawful", "downed",
             "reserved")  # fmt: skip
DROP_S = 300.0  # tracks silent longer than this leave aircraft.json (tar1090 greys at 60 s)


def _num(v: float, nd: int = 1) -> float | None:
    return round(float(v), nd) if np.isfinite(v) else None


class ReadsbJsonSink:
    """readsb-format JSON of the fused air tracks, written from the bus's edge
    (`picket.share.edge`)."""

    def __init__(self, directory: str | Path, interval_s: float = 1.0,
                 history_every_s: float = 30.0, history: int = 120,
                 receiver: tuple[float, float] | None = None):  # fmt: skip
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.interval_s = interval_s
        self.history_every_s = history_every_s
        self.history = history
        self.receiver = receiver
        self._next = -np.inf
        self._next_hist = -np.inf
        self._hist_i = 0
        self._hist_n = 0
        self._pending: Any = None  # the newest view not yet written
        self.n_written = 0
        self.n_failed = 0
        self._write("receiver.json", self._receiver())

    @property
    def name(self) -> str:
        return f"readsb-json:{self.dir}"

    def emit(self, events: list[Event]) -> None:
        pass  # tar1090 has no alerts: the picture only

    def picture(self, view: Any) -> None:
        self._pending = view
        if view.now >= self._next:
            self._flush(view)

    def _flush(self, view: Any) -> None:
        self._pending = None
        now = float(view.now)
        self._next = (np.floor(now / self.interval_s) + 1) * self.interval_s
        doc = aircraft_json(view, now)
        self._write("aircraft.json", doc)
        if now >= self._next_hist:
            self._next_hist = (np.floor(now / self.history_every_s) + 1) * self.history_every_s
            self._write(f"history_{self._hist_i}.json", doc)
            self._hist_i = (self._hist_i + 1) % self.history
            if self._hist_n < self.history:
                self._hist_n += 1
                self._write("receiver.json", self._receiver())

    def _receiver(self) -> dict[str, Any]:
        d: dict[str, Any] = {"version": f"picket {__version__}",
                             "refresh": int(self.interval_s * 1000), "history": self._hist_n}
        if self.receiver is not None:
            d["lat"], d["lon"] = self.receiver
        return d

    def _write(self, name: str, doc: dict[str, Any]) -> None:
        tmp = self.dir / f".{name}.tmp"
        try:
            tmp.write_text(json.dumps(doc, separators=(",", ":"), allow_nan=False))
            os.replace(tmp, self.dir / name)
            self.n_written += 1
        except OSError as e:  # a full disk must not stop the pipeline; counted
            self.n_failed += 1
            log.warning("readsb-json %s: %s", self.dir / name, e)

    def stats(self) -> dict[str, Any]:
        return {"kind": "readsb_json", "name": self.name, "written": self.n_written,
                "failed": self.n_failed}  # fmt: skip

    def close(self) -> None:
        if self._pending is not None:
            self._flush(self._pending)


def aircraft_json(view: Any, now: float) -> dict[str, Any]:
    """The `aircraft.json` document of the air tracks seen within `DROP_S` of `now`
    (`view`: the bus edge's `EdgeView`)."""
    n = view.n
    c = view.cols
    air = (c["domain"] == Domain.AIR) & (now - c["last_time"] <= DROP_S)
    out = []
    for i in np.flatnonzero(air).tolist():
        subj = int(c["subject"][i])
        ns, num = subj >> SHIFT, subj & ((1 << SHIFT) - 1)
        icao = ns == int(Namespace.ICAO)
        a: dict[str, Any] = {
            "hex": f"{num & 0xFFFFFF:06x}" if icao else f"~{num & 0xFFFFFF:06x}",
            "type": "adsb_icao" if icao else "other",
        }
        st = view.statics.get(subj, {})
        cs = st.get("callsign")
        if isinstance(cs, str) and cs.strip():
            a["flight"] = cs.strip()[:8].ljust(8)
        alt = c["alt"][i]
        if np.isfinite(alt):
            a["alt_baro"] = round(float(alt) / FT)
        for key, col, scale, nd in (("gs", "speed", KT, 1), ("track", "course", 1.0, 1),
                                    ("baro_rate", "vrate", FPM, 0)):  # fmt: skip
            v = _num(c[col][i] / scale, nd)
            if v is not None:
                a[key] = int(v) if nd == 0 else v
        sq = int(c["squawk"][i])
        if sq >= 0:
            a["squawk"] = f"{sq:04d}"
        em = int(c["emergency"][i])
        if 0 <= em < len(EMERGENCY):
            a["emergency"] = EMERGENCY[em]
        if np.isfinite(c["lat"][i]):
            a["lat"], a["lon"] = round(float(c["lat"][i]), 6), round(float(c["lon"][i]), 6)
            a["seen_pos"] = round(max(now - float(c["pos_time"][i]), 0.0), 1)
        for key, col in (("nic", "nic"), ("nac_p", "nacp"), ("sil", "sil"), ("version", "version")):
            v = int(c[col][i])
            if v >= 0:
                a[key] = v
        a["seen"] = round(max(now - float(c["last_time"][i]), 0.0), 1)
        a["messages"] = int(c["n_reports"][i])
        out.append(a)
    return {"now": round(now, 1), "messages": int(c["n_reports"][air].sum()) if n else 0,
            "aircraft": out}  # fmt: skip
