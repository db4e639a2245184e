"""`space-elements`: TLE/3LE and CCSDS OMM (CSV, JSON, XML, KVN) as space reports.

Each element set becomes one SPACE report for `norad:<n>` at its epoch, with the
sub-satellite point and altitude SGP4 gives there and the inertial speed, plus
a `Static` with the name, designator and mean orbit. TLE and OMM CSV decode
as they stream (complete groups of lines); JSON, XML and KVN are whole
documents and decode at the end of input.
"""

from __future__ import annotations

import numpy as np

from picket.model.decoded import Decoded, Static
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.sources.registry import Format, register
from picket.space import read
from picket.space.elements import ElementSets

MAX_DOCUMENT = 512 << 20  # JSON/XML/KVN held whole; beyond this the input is refused


def element_reports(es: ElementSets, rejects: Rejects, source: str) -> Decoded:
    """Reports at each element set's own epoch (per-set SGP4 call: once per set, not per step)."""
    from picket.space.propagate import subpoints

    if not len(es):
        return Decoded.empty()
    sats = es.satrecs("a")
    r = np.full((len(es), 3), np.nan)
    v = np.full((len(es), 3), np.nan)
    ok = np.zeros(len(es), bool)
    for k, s in enumerate(sats):
        if s.error:
            continue
        e, rr, vv = s.sgp4_tsince(0.0)
        if e == 0:
            r[k], v[k], ok[k] = rr, vv, True
    for k in np.flatnonzero(~ok):
        rejects.reject(
            "space-elements.sgp4_error",
            f"{source}:{int(es.row[k])}",
            f"norad {int(es.norad[k])} error {sats[k].error}",
        )
    rejects.accepted -= int((~ok).sum())  # counted as accepted by the parser
    g = np.flatnonzero(ok)
    es = es.take(g)
    lat, lon, alt = subpoints(r[g], es.epoch)
    reports = Reports.build(
        time=es.epoch,
        domain=Domain.SPACE,
        kind=Kind.POSITION,
        source=SOURCES.code(source),
        subject=es.subjects(),
        lat=lat,
        lon=lon,
        alt=alt,
        speed=np.linalg.norm(v[g], axis=1) * 1000.0,
        raw=es.row,
    )
    a = es.semi_major_axis_km()
    statics = [
        Static(
            t,
            int(subj),
            {
                "name": name,
                "object_id": oid,
                "provider": prov,
                "epoch": t,
                "inclination_deg": inc,
                "eccentricity": ecc,
                "semi_major_axis_km": round(sma, 3),
                "mean_motion_rev_day": mm,
                "raan_deg": raan,
                "mean_motion_dot": nd,
            },
        )
        for t, subj, name, oid, prov, inc, ecc, sma, mm, raan, nd in zip(
            es.epoch.tolist(),
            reports.subject.tolist(),
            es.name.tolist(),
            es.object_id.tolist(),
            es.provider.tolist(),
            es.incl.tolist(),
            es.ecc.tolist(),
            a.tolist(),
            es.mean_motion.tolist(),
            es.raan.tolist(),
            es.ndot.tolist(),
            strict=True,
        )
    ]
    return Decoded(reports, statics)


class ElementDecoder:
    def __init__(self, rejects: Rejects, source: str):
        self.rejects, self.source = rejects, source
        self.buf = b""
        self.fmt: str | None = None
        self.line = 1  # line number of buf's first line
        self.header: bytes | None = None
        self.refused = False

    def _decode(self, es: ElementSets) -> Decoded:
        return element_reports(es, self.rejects, self.source)

    def feed(self, data: bytes) -> Decoded:
        try:
            return self._feed(data)
        except Exception as e:  # never let a reader bug escape
            self.rejects.reject(
                "space-elements.internal", f"{self.source}:{self.line}", f"{type(e).__name__}: {e}"
            )
            self.buf = b""
            return Decoded.empty()

    def _feed(self, data: bytes) -> Decoded:
        if self.refused:
            return Decoded.empty()
        self.buf += data
        if self.fmt is None:
            if b"\n" not in self.buf and len(self.buf) < 4096:
                return Decoded.empty()
            self.fmt = read.sniff(self.buf[:4096], self.source.lower())
            if self.fmt is None and len(self.buf) >= 4096:
                self.fmt = "tle"  # unknown text: let the TLE reader reject it line by line
        if self.fmt in ("tle", "omm-csv"):
            return self._stream_lines(final=False)
        if len(self.buf) > MAX_DOCUMENT:
            self.rejects.reject(f"{self.fmt}.too_large", f"{self.source}:0", self.buf[:200])
            self.buf, self.refused = b"", True
        return Decoded.empty()

    def _stream_lines(self, final: bool) -> Decoded:
        end = len(self.buf) if final else self.buf.rfind(b"\n") + 1
        if end <= 0:
            return Decoded.empty()
        if self.fmt == "omm-csv":
            if self.header is None:
                nl = self.buf.find(b"\n")
                if nl < 0 and not final:
                    return Decoded.empty()
                nl = len(self.buf) if nl < 0 else nl
                self.header = self.buf[: nl + 1]
                self.buf = self.buf[nl + 1 :]
                self.line += 1
                end = max(0, end - nl - 1)
            chunk, self.buf = self.buf[:end], self.buf[end:]
            es = read.omm.parse_csv(
                self.header + chunk, self.rejects, self.source, first_line=self.line - 1
            )
            self.line += chunk.count(b"\n")
            return self._decode(es)
        # TLE: cut after the last line 2 so a group never straddles feeds
        chunk = self.buf[:end]
        if not final:
            lines = chunk.split(b"\n")
            last2 = max((k for k, x in enumerate(lines) if x.startswith(b"2 ")), default=-1)
            if last2 < 0 and len(chunk) < (1 << 16):
                return Decoded.empty()  # wait for a line 2 (a lone header or line 1)
            if last2 >= 0:
                end = sum(len(x) + 1 for x in lines[: last2 + 1])
                chunk = self.buf[:end]
        self.buf = self.buf[end:]
        es = read.tle.parse_tle(chunk, self.rejects, self.source, first_line=self.line)
        self.line += chunk.count(b"\n")
        return self._decode(es)

    def flush(self) -> Decoded:
        try:
            if self.refused or not self.buf.strip():
                return Decoded.empty()
            if self.fmt is None:
                self.fmt = read.sniff(self.buf[:4096], self.source.lower()) or "tle"
            if self.fmt in ("tle", "omm-csv"):
                return self._stream_lines(final=True)
            data, self.buf = self.buf, b""
            return self._decode(read.parse(data, self.fmt, self.rejects, self.source))
        except Exception as e:
            self.rejects.reject(
                "space-elements.internal", f"{self.source}:{self.line}", f"{type(e).__name__}: {e}"
            )
            self.buf = b""
            return Decoded.empty()


def _sniff(head: bytes, name: str) -> bool:
    return read.sniff(head, name) is not None


register(
    Format(
        name="space-elements",
        domain="space",
        description="TLE/3LE (Alpha-5) and CCSDS OMM in CSV, JSON, XML, KVN: element sets",
        sniff=_sniff,
        decoder=ElementDecoder,
        priority=5,
    )
)
