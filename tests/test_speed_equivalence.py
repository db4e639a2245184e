"""The fast paths of issue 18 give what a simple slow path gives, on real and hostile input.

Each reference below is written the plain way (one record at a time, the CSV module,
per-value conversion): the fast code must match it column for column, static for
static, reject for reject.
"""

from __future__ import annotations

import gzip
import itertools
import random
from pathlib import Path

import numpy as np
import pytest

from picket.model.decoded import Decoded
from picket.model.rejects import Rejects
from picket.model.text import LineFramer, csv_line, csv_lines
from picket.sources.air_json import (
    MAX_FIELD,
    MAX_LINE,
    MAX_ROW,
    OpenSkyCsv,
    OpenSkyJson,
    _callsign,
    _f,
    _icao,
    _Rows,
)


class _SlowOpenSkyCsv:
    """OpenSky CSV the plain way: the CSV module per batch, one `_Rows.add` per row."""

    def __init__(self, rejects: Rejects, source: str) -> None:
        self.rejects, self.source = rejects, source
        self.lines = LineFramer(rejects, source, "opensky.line_too_long", MAX_LINE)
        self.header: list[str] | None = None
        self.json = OpenSkyJson(rejects, source)

    def feed(self, data: bytes) -> Decoded:
        lines, first = self.lines.feed(data)
        return self.decode(lines, first) if lines else Decoded.empty()

    def flush(self) -> Decoded:
        lines, first = self.lines.flush()
        return self.decode(lines, first) if lines else Decoded.empty()

    def decode(self, lines: list[bytes], first: int) -> Decoded:
        text = [ln.decode("utf-8", "replace").rstrip("\r") for ln in lines]
        if self.header is None:
            self.header = [h.strip() for h in csv_line(text[0])]
            text, first = text[1:], first + 1
        h = {name: k for k, name in enumerate(self.header)}
        for k, t in enumerate(text):
            if len(t) > MAX_ROW:
                big = max(map(len, t.split(","))) > MAX_FIELD
                reason = "opensky.field_too_long" if big else "opensky.line_too_long"
                self.rejects.reject(reason, f"{self.source}:{first + k} ({len(t)} chars)", t[:256])
                text[k] = ""
        rows = _Rows()
        for k, rec in enumerate(csv_lines(text)):
            if not rec:
                continue
            if len(rec) != len(h) or _icao(rec[h["icao24"]]) < 0:
                self.rejects.reject("opensky.bad_line", f"{self.source}:{first + k}", text[k][:512])
                continue
            if max(map(len, rec)) > MAX_FIELD:
                self.rejects.reject("opensky.field_too_long", f"{self.source}:{first + k}",
                                    text[k][:512])  # fmt: skip
                continue

            def g(name: str, rec: list[str] = rec) -> str | None:
                j = h.get(name)
                return rec[j] if j is not None and rec[j] != "" else None

            t = _f(g("lastposupdate")) if g("lat") else np.nan
            rows.add(
                time=t if np.isfinite(t) else _f(g("time")), icao=_icao(g("icao24")),
                lat=g("lat"), lon=g("lon"), alt=g("baroaltitude"), speed=g("velocity"),
                course=g("heading"), vrate=g("vertrate"), squawk=g("squawk"),
                raw=first + k, callsign=_callsign(g("callsign")), on_ground=g("onground"),
            )  # fmt: skip
        return self.json.finish(rows, 0)


def _run(cls: type, data: bytes, chunk: int, dead: Path) -> tuple[Decoded, Rejects]:
    rejects = Rejects(dead_letter=dead)
    dec = cls(rejects, "sample")
    outs = [dec.feed(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    outs.append(dec.flush())
    rejects.flush()
    from picket.model.reports import Reports

    return Decoded(Reports.concat([o.reports for o in outs]),
                   [s for o in outs for s in o.statics]), rejects  # fmt: skip


def _text(p: Path) -> str:
    return p.read_text() if p.exists() else ""


def _same(data: bytes, chunk: int, tmp_path: Path) -> Decoded:
    fast, rf = _run(OpenSkyCsv, data, chunk, tmp_path / "fast.jsonl")
    slow, rs = _run(_SlowOpenSkyCsv, data, chunk, tmp_path / "slow.jsonl")
    assert len(slow.reports) > 0
    for c, v in slow.reports.cols.items():
        np.testing.assert_array_equal(fast.reports.cols[c], v, err_msg=c)
    assert [(s.time, s.subject, s.fields) for s in fast.statics] == [
        (s.time, s.subject, s.fields) for s in slow.statics
    ]
    assert rf.as_dict() == rs.as_dict()
    assert _text(tmp_path / "fast.jsonl") == _text(tmp_path / "slow.jsonl")
    return fast


def _real_csv(shared: Path) -> bytes:
    files = sorted((shared / "air" / "traffic_samples").glob("*.csv.gz"),
                   key=lambda f: f.stat().st_size)[-6:-1]  # over 2**15 lines, not the largest
    head, body = None, []
    for f in files:
        lines = gzip.decompress(f.read_bytes()).splitlines()
        head = head or lines[0]
        if lines[0] == head:
            body += lines[1:]
    return b"\n".join([head, *body]) + b"\n"


def test_opensky_csv_real_samples_match_slow_path(shared_data: Path, tmp_path: Path) -> None:
    data = _real_csv(shared_data)
    out = _same(data, 1 << 16, tmp_path)
    assert len(out.statics) > 0 and np.isfinite(out.reports.lat).any()
    assert out.reports.raw.max() > 2**15  # line numbers are kept whole


def test_opensky_csv_hostile_lines_match_slow_path(shared_data: Path, tmp_path: Path) -> None:
    lines = _real_csv(shared_data).splitlines()[:3000]
    rng = random.Random(18)
    width = lines[0].count(b",")
    hostile = [
        b"", b"\r", b",,,,", b"zzzzzz" + b"," * width, b"~abcde" + lines[5][6:],
        lines[7].replace(b",", b',"', 1), lines[8] + b"\r", lines[9].replace(b",", b"\r,", 1),
        lines[10].replace(b",", b"\0,", 2), b"x" * 300 + b"," * width, b"," * width,
        lines[11].replace(b",", b"," + b"9" * 300, 3), b"y," * 3000, b"1e308" + lines[12][10:],
        lines[13].replace(b",", b",nan", 4), lines[14].replace(b",", b", 1_0", 5),
        lines[15].replace(b",", b",\xff\xfe", 7), lines[16] + b",extra", b"a,b,c",
        lines[17].replace(b",", b',"x,y"', 7), lines[18].replace(b",", b",TRUE", 8),
        lines[19].replace(b",", b",  QTR\x07123  ,", 7),
    ]  # fmt: skip
    body = lines[1:]
    for h in hostile:
        body.insert(rng.randrange(len(body)), h)
    data = b"\n".join([lines[0], *body]) + b"\n"
    for chunk in (97, 4096, 1 << 20):
        sub = tmp_path / str(chunk)
        sub.mkdir()
        _same(data, chunk, sub)


@pytest.mark.parametrize("header", [b"time,icao24,lat,lon", b"icao24,lat,foo,lon,time"])
def test_opensky_csv_few_columns_match_slow_path(header: bytes, tmp_path: Path) -> None:
    rows = [b"1600000000,4b1805,47.1,8.2", b"1600000001,4B1805,47.2,", b"1600000002,,1,2",
            b"1600000003,4b1806,,", b"4b1805,47,8,1600000004,4b1807",
            b"4b1805,47,,8,1600000005"]  # fmt: skip
    _same(b"\n".join([header, *rows]) + b"\n", 7, tmp_path)


def test_opensky_csv_position_time_matches_slow_path(tmp_path: Path) -> None:
    head = b"time,icao24,lat,lon,lastposupdate,callsign,squawk,onground"
    rows = [b"1600000000,4b1805,47.1,8.2,1599999999.5,SWR12 ,7700,False",
            b"1600000001,4b1805,,,1599999999.5,SWR12,1e6,true",
            b"1600000002,4b1805,47.2,8.3,,EZY9,-12.7,",
            b"1600000003,4b1806,47.3,,x,EZY9,32767.9,1",
            b"1600000004,4b1806,47.3,8.1,1600000003,,nan,0",
            b"1600000005,4b1806,47.3,8.1,1600000004,EZY9,,0"]  # fmt: skip
    out = _same(b"\n".join([head, *rows]) + b"\n", 1 << 10, tmp_path)
    assert len(out.statics) == 3


def _slow_batches(stream, batch_s, min_rows, max_span_s):  # type: ignore[no-untyped-def]
    """`replay.batches` the plain way: every window cut, then merged window by window."""
    from picket.model.reports import Reports
    from picket.pipeline.replay import _joined

    held, n_held, held_t0 = [], 0, np.nan
    for d in stream:
        r = d.reports
        if not len(r):
            if held:
                held.append(d)
            else:
                yield d, np.nan
            continue
        t = r.time
        edges = np.floor(t / batch_s)
        cuts = [0, *(np.flatnonzero(edges[1:] != edges[:-1]) + 1).tolist(), len(t)]
        st = d.statics
        for a, b in itertools.pairwise(cuts):
            hi = float(t[b - 1])
            mine = [s for s in st if s.time <= hi]
            st = [s for s in st if not s.time <= hi]  # a NaN time is kept, not lost
            if n_held and (n_held + b - a > min_rows or hi - held_t0 > max_span_s):
                yield _joined(held)
                held, n_held = [], 0
            if not n_held:
                held_t0 = float(t[a])
            held.append(Decoded(r.take(slice(a, b)), mine))
            n_held += b - a
        if st:
            held.append(Decoded(Reports.empty(0), st))
    if held:
        yield _joined(held)


@pytest.mark.parametrize("seed", range(6))
def test_replay_batches_match_window_by_window(seed: int) -> None:
    from picket.model.decoded import Static
    from picket.model.reports import Reports
    from picket.pipeline.replay import batches

    rng = np.random.default_rng(seed)
    t0, chunks = 1.6e9, []
    for _ in range(int(rng.integers(5, 30))):
        n = int(rng.choice([0, 1, 5, 300, 4000]))
        t = np.sort(t0 + rng.exponential(rng.choice([0.05, 3.0, 400.0]), n).cumsum())
        t0 = float(t[-1]) if n else t0 + 50.0
        lo = float(t[0]) - 30 if n else t0 - 30
        hi = float(t[-1]) + 30 if n else t0
        sts = [Static(float(x), int(i), {"callsign": f"C{i}"})
               for i, x in enumerate(np.sort(rng.uniform(lo, hi, int(rng.integers(0, 40)))))]
        if rng.random() < 0.2:
            sts.append(Static(float("nan"), 7, {"callsign": "N"}))
        chunks.append(Decoded(Reports.build(time=t, raw=np.arange(n)), sts))
    for min_rows, span in ((20_000, 3600.0), (500, 60.0), (1, 1.0)):
        fast = list(batches(iter(chunks), 10.0, min_rows, span))
        slow = list(_slow_batches(iter(chunks), 10.0, min_rows, span))
        assert len(fast) == len(slow)
        for (df, hf), (ds, hs) in zip(fast, slow, strict=True):
            np.testing.assert_array_equal(df.reports.time, ds.reports.time)
            np.testing.assert_array_equal(df.reports.raw, ds.reports.raw)
            assert df.statics == ds.statics
            assert hf == hs or (np.isnan(hf) and np.isnan(hs))


@pytest.mark.parametrize("origin", [(0.0, 0.0, 0.0), (59.9, 24.9, 30.0)])
def test_plane_output_matches_the_trip_through_the_ground(origin: tuple) -> None:
    from picket.geo.geodesy import geodetic_to_enu
    from picket.model.reports import Kind, Reports
    from picket.model.subjects import number
    from picket.track import PlotTracker, TrackerConfig
    from picket.track.tracker import plane_to_ground

    rng = np.random.default_rng(3)
    n, scans = 40, 30
    p0 = rng.uniform(-20_000, 20_000, (n, 2))
    v = rng.normal(0, 50, (n, 2))
    t = np.repeat(np.arange(scans, dtype=float) * 4.0, n)
    xy = np.repeat(p0[None], scans, 0).reshape(-1, 2) + np.repeat(v[None], scans, 0).reshape(
        -1, 2) * t[:, None] + rng.normal(0, 20, (scans * n, 2))  # fmt: skip
    lat, lon = plane_to_ground(xy[:, 0], xy[:, 1], origin)
    plots = Reports.build(time=t, kind=Kind.PLOT, lat=lat, lon=lon)
    cfg = TrackerConfig(measurement_sigma=20.0, initial_velocity_sigma=100.0)
    ref = PlotTracker(cfg, origin=origin)
    a = Reports.concat([ref.update(plots), ref.flush()])
    fast = PlotTracker(cfg, origin=origin, plane_output=True)
    b = Reports.concat([fast.update(plots), fast.flush()])
    assert len(a) > n * (scans - 5)
    np.testing.assert_array_equal(a.time, b.time)
    np.testing.assert_array_equal(number(a.subject), number(b.subject))
    e, nn, _ = geodetic_to_enu(a.lat, a.lon, 0.0, *origin)
    got = np.concatenate(fast.plane_xy)
    np.testing.assert_allclose(got[:, 0], e, atol=1e-6)
    np.testing.assert_allclose(got[:, 1], nn, atol=1e-6)
    assert np.isnan(b.lat).all()
