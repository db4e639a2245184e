"""air.loitering judged for all ticks at once (compiled windows) against the per-tick
implementation it replaced, kept here as the reference: the same signals, field for field
(kind, subject, time, severity, summary and every evidence value), on every real traffic
sample, the border-control orbits in 1 s and 1 h batches, and the OpenSky benchmark's
merged input."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from picket.config import Config
from picket.detect.air_loiter import AirLoitering
from picket.detect.air_rules import in_aerodrome_traffic, on_ground_rows
from picket.detect.base import in_zone_kinds, make_signal
from picket.fusion.context import BatchContext
from picket.geo.airports import airports_of
from picket.model.alerts import Signal
from picket.model.reports import Domain
from picket.pipeline.assemble import assemble
from picket.pipeline.replay import merge, run_stream
from picket.sources.registry import read_file


class Reference(AirLoitering):
    """The per-tick detector as it was (60 NumPy calls a tick over the whole window)."""

    def update(self, ctx: BatchContext) -> list[Signal]:
        r = ctx.reports
        th = self.th
        rows, _ = self.sampler.rows(ctx, Domain.AIR)
        if len(rows):
            ground = on_ground_rows(ctx, rows)
            away = ~in_zone_kinds(ctx, r.lat[rows], r.lon[rows], ("airport",))
            away &= ~in_aerodrome_traffic(ctx, rows)
            keep = ground | away
            rows, ground = rows[keep], ground[keep]
            self.slot = np.concatenate([self.slot, ctx.slots[rows]])
            self.t = np.concatenate([self.t, r.time[rows]])
            self.lat = np.concatenate([self.lat, r.lat[rows]])
            self.lon = np.concatenate([self.lon, r.lon[rows]])
            self.ground = np.concatenate([self.ground, ground])
            self._sort_and_pair()
        if not len(self.t):
            return []
        now = ctx.world.now_of(Domain.AIR, ctx.now)
        out: list[Signal] = []
        for tk in self.ticker.due(float(self.t.min()), now, self.t).tolist():
            inside = (self.t <= tk) & (self.t >= tk - th.window_s)
            if inside.any() or self.active:
                out += self._judge(ctx, tk, inside)
        self._closed.clear()
        keep = self.t >= min(now, self.ticker.done + th.check_every_s) - th.window_s
        self.slot, self.t, self.lat, self.lon = (
            self.slot[keep], self.t[keep], self.lat[keep], self.lon[keep])  # fmt: skip
        self.ground = self.ground[keep]
        self.n_ok, self.n_brg = self.n_ok[keep], self.n_brg[keep]
        self.n_step, self.n_dt = self.n_step[keep], self.n_dt[keep]
        self.rlat, self.coslat = self.rlat[keep], self.coslat[keep]
        self.ux, self.uy, self.uz = self.ux[keep], self.uy[keep], self.uz[keep]
        self.gturn = self.gturn[keep]
        old = min(now, self.ticker.done) - th.window_s
        self.cut = {k: v for k, v in self.cut.items() if v >= old}
        return out

    def _judge(self, ctx: BatchContext, now: float, inside: np.ndarray) -> list[Signal]:
        th = self.th
        w = self.turns(inside)
        slots, net, radius = w["slots"], w["net"], w["radius"]
        turning = (np.abs(net) >= th.min_turn_deg) & (radius >= th.min_radius_m)
        loiter = turning & (radius <= th.max_radius_m)
        holding = np.zeros(len(slots), bool)
        if loiter.any():
            arc, speed = self.shape(w)
            cand = np.flatnonzero(loiter & (arc < th.orbit_arc_deg)
                                  & (speed >= th.holding_speed_ms))  # fmt: skip
            ap = airports_of(ctx.world)
            if len(cand) and ap is not None:
                near, _ = ap.served_within(w["mlat"][cand], w["mlon"][cand],
                                           th.terminal_radius_m)  # fmt: skip
                holding[cand] = near >= 0
            loiter &= ~holding
        pos = {int(sl): i for i, sl in enumerate(slots.tolist())}
        out: list[Signal] = []
        for sl in sorted(self.active):
            a = self.active[sl]
            i = pos.get(sl)
            if i is not None:
                m = (w["turn_slot"] == sl) & (w["turn_t"] > a["turn_t"])
                if m.any():
                    a["turn"] += float(w["turn"][m].sum())
                    a["turn_t"] = float(w["turn_t"][m].max())
                    a["last_t"] = max(a["last_t"], float(w["last"][i]))
            landed = i is not None and w["landed"][i] > a["since"]
            heard = float(w["last_any"][i]) if i is not None else -np.inf
            looping = i is not None and bool(turning[i])
            why = ("landed" if landed else
                   "silent" if now - max(heard, a["last_t"]) >= th.silence_s else
                   "no full turn" if not looping and now - a["last_true"] >= th.quiet_s else "")
            if why:
                out.append(self._end(ctx, sl, now, why, float(w["landed"][i]) if landed else None))
                continue
            if looping:
                a["last_true"] = now
                if now - a["last_signal"] >= th.resignal_s:
                    a["last_signal"] = now
                    out.append(self._signal(ctx, sl, now, a, w, int(i)))  # type: ignore[arg-type]
            elif now - a["last_signal"] >= th.resignal_s:
                a["last_signal"] = now
                out.append(make_signal(ctx, self.kind, sl, None, "info", "",
                                       {"quiet_s": round(now - a["last_true"], 1)},
                                       t=now))  # fmt: skip
        for i in np.flatnonzero(loiter).tolist():
            sl = int(slots[i])
            if sl in self.active or self.cut.get(sl) == now:
                continue
            a = self.active[sl] = {"since": float(w["first"][i]), "turn": float(net[i]),
                                   "turn_t": now, "last_t": float(w["last"][i]),
                                   "last_signal": now, "last_true": now}  # fmt: skip
            out.append(self._signal(ctx, sl, now, a, w, i))
        return out


class Both:
    """Runs the detector under test and the reference on the same batches; the pipeline
    sees the detector's signals, both lists are kept."""

    kind = "air.loitering"

    def __init__(self) -> None:
        self.fast, self.ref = AirLoitering(), Reference()
        self.got: list[Signal] = []
        self.want: list[Signal] = []

    def update(self, ctx: BatchContext) -> list[Signal]:
        got = self.fast.update(ctx)
        self.want += self.ref.update(ctx)
        self.got += got
        return got


def _rows(signals: list[Signal]) -> list[tuple[Any, ...]]:
    return [repr(dataclasses.astuple(s)) for s in signals]  # type: ignore[misc]


def _run(paths: list[tuple[Any, str]], batch_s: float = 60.0, rows: int = 20_000,
         span: float = 3600.0) -> Both:  # fmt: skip
    asm = assemble(Config(store_path=None), console=False, store=False)
    dets = asm.pipeline.detectors
    k = next(i for i, d in enumerate(dets) if isinstance(d, AirLoitering))
    both = dets[k] = Both()
    streams = [read_file(p, asm.rejects, fmt) for p, fmt in paths]
    run_stream(asm.pipeline, merge(streams), batch_s, 0.0, None, rows, span)
    return both


def _same(both: Both) -> None:
    got, want = _rows(both.got), _rows(both.want)
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g == w, (i, g, w)


SAMPLES = "air/traffic_samples"


@pytest.mark.realdata
def test_every_traffic_sample_gives_the_reference_signals(shared_data):
    files = sorted((shared_data / SAMPLES).glob("*.csv.gz"))
    assert len(files) >= 20
    n = ended = 0
    for f in files:
        both = _run([(f, "auto")])
        _same(both)
        n += len(both.got)
        ended += sum(1 for s in both.got if s.ended)
    assert n > 100 and ended > 10  # orbits opened, went on and closed


@pytest.mark.realdata
def test_border_control_orbits_in_one_second_and_one_hour_batches(shared_data):
    f = shared_data / "air" / "border_control_channel_20200417.json.gz"
    for batch_s, rows, span in ((1.0, 0, 0.0), (60.0, 20_000, 3600.0)):
        both = _run([(f, "opensky")], batch_s, rows, span)
        assert any(not s.ended for s in both.got)
        _same(both)


@pytest.mark.realdata
@pytest.mark.slow
def test_the_opensky_benchmark_input_gives_the_reference_signals(shared_data, tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_opensky import build_input

    path = tmp_path / "merged.csv"
    build_input(path)
    both = _run([(path, "opensky")])
    assert sum(1 for s in both.got if s.ended) > 10
    _same(both)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_all_ticks_at_once_equal_each_window_measured_alone(seed):
    """The compiled windows (net turn, sortie bounds, landing, centre and spread, turning and
    loitering verdicts, largest continuous turn and speed) are the per-window `turns` and
    `shape`, bit for bit, on random orbits with ground samples and closed activities."""
    from picket.detect import air_loiter_kernels as kern

    rng = np.random.default_rng(seed)
    det = AirLoitering()
    n = 4000
    det.slot = rng.integers(0, 15, n)
    det.t = rng.uniform(0, 10_800, n).round(1)
    o = np.lexsort((det.t, det.slot))
    det.slot, det.t = det.slot[o], det.t[o]
    ang = det.t / rng.uniform(200, 900, 15)[det.slot] + rng.normal(0, 0.05, n)
    rad = rng.choice([0.002, 0.05, 0.3, 0.7], 15)[det.slot]  # deg: 200 m to 75 km
    det.lat = 47 + rad * np.sin(ang)
    det.lon = 8 + rad * np.cos(ang) * 1.5
    det.ground = rng.random(n) < 0.003
    det._sort_and_pair()
    det.cut = {int(s): float(rng.uniform(0, 9000)) for s in rng.choice(15, 5, replace=False)}
    ticks = np.arange(600.0, 10_800, 60.0)
    starts = np.flatnonzero(np.r_[True, det.slot[1:] != det.slot[:-1]])
    seg = np.append(starts, n).astype(np.int64)
    seg_slot = det.slot[starts]
    cut_s = np.repeat([det.cut.get(int(s), -np.inf) for s in seg_slot.tolist()], np.diff(seg))
    w = det._windows(ticks, seg, seg_slot, cut_s)
    one = det._windows(ticks, seg, seg_slot, cut_s)  # rows measured one by one (signals)
    det._exact(w, np.arange(len(w["slots"])))
    for g in np.flatnonzero(one["count"] > 0)[::7].tolist():
        det._exact(one, np.array([g]))
        for key in ("radius", "mlat", "mlon"):
            assert one[key][g] == w[key][g], key
    th = det.th
    opened = 0
    for k, tk in enumerate(ticks.tolist()):
        b0, b1 = int(w["start"][k]), int(w["start"][k + 1])
        ref = det.turns((det.t <= tk) & (det.t >= tk - th.window_s))
        assert np.array_equal(ref["slots"], w["slots"][b0:b1])
        for key in ("net", "count", "first", "last", "last_any", "landed"):
            assert np.array_equal(ref[key], w[key][b0:b1]), key
        air = ref["count"] > 0
        for key in ("radius", "mlat", "mlon"):
            assert np.array_equal(ref[key][air], w[key][b0:b1][air]), key
        turning = (np.abs(ref["net"]) >= th.min_turn_deg) & (ref["radius"] >= th.min_radius_m)
        assert np.array_equal(turning, w["turning"][b0:b1])
        assert np.array_equal(turning & (ref["radius"] <= th.max_radius_m), w["loiter"][b0:b1])
        want = np.flatnonzero(air).astype(np.int64)
        arc, speed = kern.shapes(w["a0"][b0:b1], w["hi"][b0:b1], want, det.n_ok, det.gturn,
                                 det.t, det.n_step, det.n_dt, th.straight_s, th.straight_dps,
                                 th.sample_s)  # fmt: skip
        ref_arc, ref_speed = det.shape(ref)
        assert np.array_equal(arc, ref_arc[want]) and np.array_equal(speed, ref_speed[want])
        opened += int(w["loiter"][b0:b1].sum())
    assert opened > 20  # some windows loiter, others are too wide or too tight
    assert (~w["loiter"] & (np.abs(w["net"]) >= th.min_turn_deg)).any()


def test_the_compiled_sum_is_numpys_to_the_bit():
    """An open activity's new turns are summed in the kernel as NumPy summed them."""
    from picket.detect.air_loiter_kernels import np_sum

    rng = np.random.default_rng(7)
    for n in [*range(40), 127, 128, 129, 255, 256, 300, 777, 1500]:
        a = rng.normal(0, 30, n) * rng.choice([1.0, 1e-9, 1e9], n)
        lo = int(rng.integers(0, 5))
        b = np.r_[rng.normal(size=lo), a]
        assert np_sum(b, lo, n) == a.sum(), n
