"""Slot recycling for maritime.ais_gap and maritime.encounter: after `forget`, a new vessel
given a forgotten vessel's slot behaves exactly as in a pipeline that never met the old one.

Known truth: each scenario runs twice, once with vessel A forgotten and vessel B taking its
slot, once in a fresh pipeline that sees B (and the same other traffic) but never A; B's
alerts must be the same. A is forgotten right after its state is built (a pipeline forgets
only after days of silence; a short pause keeps A's state live, so a leak would show).
"""

from __future__ import annotations

import numpy as np

from picket.detect.maritime_encounter import Encounter
from picket.detect.maritime_gap import AisGap
from picket.geo.geodesy import destination
from picket.geo.zones import LineSet, ZoneSet
from picket.model.reports import Reports
from picket.model.subjects import Namespace, key
from picket.model.world import World
from picket.pipeline.runtime import Pipeline
from picket.sinks.jsonl import MemorySink
from tests.test_detectors_synthetic import background, feed, ship, straight


def _pipe(det) -> tuple[Pipeline, MemorySink]:
    mem = MemorySink()
    return Pipeline([det], [mem], World(zones=ZoneSet([]), lines=LineSet([]))), mem


def _push(p: Pipeline, reports: list[Reports], step: float = 10.0) -> None:
    """Feed in event-time batches of `step` seconds, without finishing the run."""
    feed(p, reports, step, finish=False)


def _slot(p: Pipeline, mmsi: int) -> int:
    s = p.tracks.slot(key(Namespace.MMSI, mmsi))
    assert s is not None
    return s


def _forget(p: Pipeline, slots: list[int]) -> None:
    p.forget_slots(np.array(slots, np.int64))


def _alerts_of(mem: MemorySink, subject: str, kind: str) -> list[tuple]:
    return sorted((round(a.time), a.status, a.summary) for a in mem.alerts.values()
                  if a.subject == subject and a.kind == kind)  # fmt: skip


def _line(mmsi: int, t: np.ndarray, lat0: float, sog: float = 8.0, lon0: float = 19.3):
    lat, lon = straight(lat0, lon0, 0.0, sog, t)
    return ship(mmsi, t, lat, lon, sog, 0.0)


# ------------------------------------------------------------------ maritime.ais_gap

A_GAP, B_GAP = 276_400_001, 276_400_002


def _gap_run(forget: bool) -> tuple[MemorySink, AisGap, int | None, list]:
    """A goes dark at 1800 s (a live gap opens); at 3000 s it is forgotten; B, heard every
    10 s from 3010 s, takes its slot. Without A (`forget=False`): B alone, fresh. Returns
    the alerts, the detector, A's slot and every signal the detector sent."""
    det = AisGap()
    signals: list = []
    update = det.update

    def spy(ctx):
        out = update(ctx)
        signals.extend(out)
        return out

    det.update = spy  # type: ignore[method-assign]
    p, mem = _pipe(det)
    t = np.arange(0.0, 7200, 10)
    late = t[t >= 3010]
    bg = background(t)
    k = None
    if forget:
        _push(p, [_line(A_GAP, t[t <= 1800], 59.40),
                  *(b.where(b.time < 3000) for b in bg)])  # fmt: skip
        k = _slot(p, A_GAP)
        assert k in det.open  # A's gap is live
        _forget(p, [k])
    else:
        _push(p, [b.where(b.time < 3000) for b in bg])
    _push(p, [_line(B_GAP, late, 59.45), *(b.where(b.time >= 3000) for b in bg)])
    if forget:
        assert _slot(p, B_GAP) == k
    p.finish()
    return mem, det, k, [s for s in signals if s.subject != f"mmsi:{A_GAP}"]


def test_a_vessel_in_a_forgotten_slot_does_not_close_the_old_vessels_gap():
    got, det, k, got_sig = _gap_run(forget=True)
    want, _, _, want_sig = _gap_run(forget=False)
    # nothing but A's own gap: no "B reappeared" with A's start, no "still silent" for the
    # freed slot or for B
    assert [(s.subject, s.time, s.summary, s.ended) for s in got_sig] == [
        (s.subject, s.time, s.summary, s.ended) for s in want_sig] == []  # fmt: skip
    others = {a.subject for a in got.alerts.values()} - {f"mmsi:{A_GAP}"}
    assert others == {a.subject for a in want.alerts.values()} == set()
    assert k not in det.open


def _record_run(forget: bool) -> MemorySink:
    """A, far from B, is heard one report in twenty for 40 min (at 25 kn, owing one every
    2 s): its own record says it is barely heard. It is forgotten; B takes its slot where
    reception is good, is heard at every report for 10 min, goes silent for 15 min and comes
    back: a gap, judged on B's own record (heard at every report), never on A's."""
    det = AisGap()
    p, mem = _pipe(det)
    t = np.arange(0.0, 5400, 10)
    bg = background(t)
    if forget:
        ta = t[(t < 2400) & (np.arange(len(t)) % 4 == 0)]
        _push(p, [_line(A_GAP, ta, 58.5, sog=25.0, lon0=18.0),
                  *(b.where(b.time < 2400) for b in bg)])  # fmt: skip
        k = _slot(p, A_GAP)
        assert det.own_d[k] > 10 * det.own_h[k] > 0
        _forget(p, [k])
    else:
        _push(p, [b.where(b.time < 2400) for b in bg])
    tb = t[(t >= 2410) & ~((t > 3010) & (t < 3010 + 900))]
    _push(p, [_line(B_GAP, tb, 59.42, lon0=19.62), *(b.where(b.time >= 2400) for b in bg)])
    if forget:
        assert _slot(p, B_GAP) == k
    p.finish()
    return mem


def test_a_vessel_in_a_forgotten_slot_is_judged_on_its_own_reception_record():
    subject = f"mmsi:{B_GAP}"
    want = _alerts_of(_record_run(forget=False), subject, AisGap.kind)
    got = _alerts_of(_record_run(forget=True), subject, AisGap.kind)
    assert want and got == want


def test_ais_gap_forget_leaves_the_slot_as_never_used():
    _, det, k, _ = _gap_run(forget=True)
    assert k is not None
    det.forget(np.array([k, 10**6], np.int64))  # past the arrays' end: ignored
    fresh = AisGap()
    for name, fill in (("last_speed", np.nan), ("last_status", -1), ("last_msg", 0),
                       ("own_h", 0.0), ("own_d", 0.0), ("own_t", np.nan)):  # fmt: skip
        a = getattr(det, name)
        assert len(getattr(fresh, name)) == 0
        np.testing.assert_array_equal(a[k], np.array(fill, a.dtype), err_msg=name)
    assert k not in det.open and k not in det._memo
    det.forget(np.empty(0, np.int64))  # nothing to forget: fine


# ------------------------------------------------------------------ maritime.encounter

A_ENC, B_ENC, C_ENC = 230_500_001, 230_500_002, 230_500_009


def _enc_run(forget: bool) -> tuple[MemorySink, Encounter, int | None]:
    """A and C side by side at 1.5 kn from 0 s (a pair followed, 25 of the 30 min to the
    alert); A is forgotten at 1500 s and B takes its slot and its place beside C at 1510 s.
    Without A: C alone until B comes, fresh."""
    det = Encounter()
    p, mem = _pipe(det)
    t = np.arange(0.0, 6000, 10)
    lat_c, lon_c = straight(59.6, 19.5, 45.0, 1.5, t)
    lat_a, lon_a = destination(lat_c, lon_c, 90.0, 250.0)
    c = ship(C_ENC, t, lat_c, lon_c, 1.5, 45)
    bg = background(t, n=2)
    first, rest = t <= 1500, t >= 1510
    k = None
    own = [ship(A_ENC, t[first], lat_a[first], lon_a[first], 1.5, 45)] if forget else []
    _push(p, [*own, *(r.where(r.time <= 1500) for r in (c, *bg))])
    if forget:
        k = _slot(p, A_ENC)
        assert not det._idle()  # the pair A-C is followed
        _forget(p, [k])
    _push(p, [ship(B_ENC, t[rest], lat_a[rest], lon_a[rest], 1.5, 45),
              *(r.where(r.time > 1500) for r in (c, *bg))])  # fmt: skip
    if forget:
        assert _slot(p, B_ENC) == k
    p.finish()
    return mem, det, k


def _encounters(mem: MemorySink) -> list[tuple]:
    return sorted((round(a.time), a.evidence["since"]) for a in mem.alerts.values()
                  if a.kind == Encounter.kind)  # fmt: skip


def test_a_vessel_in_a_forgotten_slot_starts_a_new_pair():
    got, _, _ = _enc_run(forget=True)
    want, _, _ = _enc_run(forget=False)
    assert _encounters(want) and _encounters(got) == _encounters(want)
    assert min(e[0] for e in _encounters(got)) >= 1510 + 1800


def test_encounter_forget_leaves_the_slot_as_never_used():
    det = Encounter()
    p, _ = _pipe(det)
    t = np.arange(0.0, 1500, 10)
    lat_c, lon_c = straight(59.6, 19.5, 45.0, 1.5, t)
    lat_a, lon_a = destination(lat_c, lon_c, 90.0, 250.0)
    lat_d, lon_d = destination(lat_c, lon_c, 180.0, 200.0)
    _push(p, [ship(A_ENC, t, lat_a, lon_a, 1.5, 45), ship(C_ENC, t, lat_c, lon_c, 1.5, 45),
              ship(230_500_005, t, lat_d, lon_d, 1.5, 45)])  # fmt: skip
    k, c = _slot(p, A_ENC), _slot(p, C_ENC)
    pairs = det.state["key"]
    assert len(pairs) == 3  # A-C, A-D, C-D
    det.forget(np.array([k, 10**6], np.int64))
    for name in ("t", "lat", "lon", "speed"):
        assert np.isnan(getattr(det, name)[k]), name
    assert np.isfinite(det.t[c])
    key_ = det.state["key"]
    assert len(key_) == 1 and k not in (key_ // (1 << 31)).tolist() + (key_ % (1 << 31)).tolist()
    assert {n: len(v) for n, v in det.state.items()} == {n: 1 for n in det.state}
    det.forget(np.array([c], np.int64))  # the last pair goes: the empty table, as at start
    assert det._idle() and det.state["speeds"].shape == (1, 60)
    det.forget(np.empty(0, np.int64))
