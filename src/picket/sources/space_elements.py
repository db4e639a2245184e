"""`space-elements`: TLE/3LE and CCSDS OMM (CSV, JSON, XML, KVN) as space reports.

Each element set becomes one SPACE report for `norad:<n>` at its epoch, with the
sub-satellite point and altitude SGP4 gives there and the inertial speed, plus
a `Static` with the name, designator and mean orbit. TLE and OMM CSV decode
as they stream (complete groups of lines); JSON, XML and KVN are whole
documents and decode at the end of input.
"""

from __future__ import annotations

import logging

import numpy as np

from picket.model.decoded import Decoded, Static
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.model.text import LineFramer
from picket.sources.registry import Format, register
from picket.space import read, tle
from picket.space.elements import ElementSets

MAX_DOCUMENT = 512 << 20  # JSON/XML/KVN held whole; beyond this the input is refused
MAX_CSV_LINE = 1 << 16  # an OMM CSV row is ~300 bytes
logger = logging.getLogger(__name__)


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
                "argp_deg": w,
                "mean_anomaly_deg": ma,
                "bstar": bs,
            },
        )
        for t, subj, name, oid, prov, inc, ecc, sma, mm, raan, nd, w, ma, bs in zip(
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
            es.argp.tolist(),
            es.mean_anomaly.tolist(),
            np.nan_to_num(es.bstar).tolist(),
            strict=True,
        )
    ]
    return Decoded(reports, statics)


class ElementDecoder:
    """TLE and OMM CSV stream as lines (`LineFramer`, over-long lines counted); a TLE group
    is never cut between feeds. JSON, XML and KVN are held whole and decoded at the end."""

    MAX_PENDING = 1000  # lines held while waiting for a line 2 before the rest is read

    def __init__(self, rejects: Rejects, source: str):
        self.rejects, self.source = rejects, source
        self.buf = b""
        self.fmt: str | None = None
        self.line = 1  # line number for internal-error reports
        self.header: bytes | None = None
        self.refused = False
        self.lines: LineFramer | None = None
        self.pending: list[bytes] = []  # TLE lines after the last line 2 seen
        self.pending_first = 1

    def _decode(self, es: ElementSets) -> Decoded:
        return element_reports(es, self.rejects, self.source)

    def feed(self, data: bytes) -> Decoded:
        try:
            return self._feed(data)
        except Exception as e:  # never let a reader bug escape
            logger.exception("element sets %s: reader failed", self.source)
            self.rejects.reject(
                "space-elements.internal", f"{self.source}:{self.line}", f"{type(e).__name__}: {e}"
            )
            self.buf = b""
            return Decoded.empty()

    def _feed(self, data: bytes) -> Decoded:
        if self.refused:
            return Decoded.empty()
        if self.lines is not None:
            return self._stream(*self.lines.feed(data), final=False)
        self.buf += data
        if self.fmt is None:
            if b"\n" not in self.buf and len(self.buf) < 4096:
                return Decoded.empty()
            self.fmt = read.sniff(self.buf[:4096], self.source.lower())
            if self.fmt is None and len(self.buf) >= 4096:
                self.fmt = "tle"  # unknown text: let the TLE reader reject it line by line
        if self.fmt in ("tle", "omm-csv"):
            return self._start_lines(final=False)
        if len(self.buf) > MAX_DOCUMENT:
            self.rejects.reject(f"{self.fmt}.too_large", f"{self.source}:0", self.buf[:200])
            self.buf, self.refused = b"", True
        return Decoded.empty()

    def _start_lines(self, final: bool) -> Decoded:
        limit, reason = (
            (tle.MAX_LINE, "tle.line_too_long") if self.fmt == "tle"
            else (MAX_CSV_LINE, "omm-csv.line_too_long")
        )  # fmt: skip
        self.lines = LineFramer(self.rejects, self.source, reason, limit)
        data, self.buf = self.buf, b""
        out = self._stream(*self.lines.feed(data), final=False)
        if not final:
            return out
        last = self._stream(*self.lines.flush(), final=True)
        return Decoded(
            Reports.concat([out.reports, last.reports]), out.statics + last.statics
        )

    def _stream(self, lines: list[bytes], first: int, final: bool) -> Decoded:
        self.line = first
        if self.fmt == "omm-csv":
            if self.header is None:
                if not lines:
                    return Decoded.empty()
                self.header, lines, first = lines[0], lines[1:], first + 1
            if not lines:
                return Decoded.empty()
            es = read.omm.parse_csv(
                self.header + b"\n" + b"\n".join(lines), self.rejects, self.source,
                first_line=first - 1,
            )  # fmt: skip
            return self._decode(es)
        # TLE: read up to the last line 2 so a group never straddles feeds
        if not self.pending:
            self.pending_first = first
        self.pending += lines
        p = self.pending
        if final:
            cut = len(p)
        else:
            cut = next((k + 1 for k in range(len(p) - 1, -1, -1) if p[k].startswith(b"2 ")), 0)
            if cut == 0 and len(p) > self.MAX_PENDING:
                cut = len(p) - 2  # a name and a line 1 may still meet their line 2
        if cut == 0:
            return Decoded.empty()
        chunk, self.pending = p[:cut], p[cut:]
        first, self.pending_first = self.pending_first, self.pending_first + cut
        es = read.tle.parse_tle(b"\n".join(chunk) + b"\n", self.rejects, self.source,
                                first_line=first)  # fmt: skip
        return self._decode(es)

    def flush(self) -> Decoded:
        try:
            if self.refused:
                return Decoded.empty()
            if self.lines is not None:
                return self._stream(*self.lines.flush(), final=True)
            if not self.buf.strip():
                return Decoded.empty()
            if self.fmt is None:
                self.fmt = read.sniff(self.buf[:4096], self.source.lower()) or "tle"
            if self.fmt in ("tle", "omm-csv"):
                return self._start_lines(final=True)
            data, self.buf = self.buf, b""
            return self._decode(read.parse(data, self.fmt, self.rejects, self.source))
        except Exception as e:
            logger.exception("element sets %s: reader failed", self.source)
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
