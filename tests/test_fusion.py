"""Fusion by identity: receivers merged, fields forward-filled, outliers kept out of state."""

import numpy as np

from picket.model.decoded import Decoded
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.pipeline.runtime import Pipeline


def adsb(t, lat, lon, source, **cols):
    return Reports.build(len(t), time=t, domain=Domain.AIR, kind=Kind.POSITION,
                         subject=key(Namespace.ICAO, 0x4CA7B5), lat=lat, lon=lon,
                         source=SOURCES.code(source), msg=11, alt=11000.0, **cols)  # fmt: skip


def test_the_same_message_from_two_receivers_counts_once():
    t = np.arange(0.0, 60, 2)
    lat, lon = 59.0 + t * 1e-4, 24.0 + t * 1e-4
    a = adsb(t, lat, lon, "rx-helsinki")
    b = adsb(t + 0.003, lat, lon, "rx-tallinn")  # same frames, 3 ms later, other receiver
    c = adsb(t + 1.0, lat + 1e-3, lon, "rx-tallinn")  # different content: kept
    p = Pipeline([])
    p.process(Decoded(Reports.concat([a, b, c]).sorted_by_time()))
    assert p.n_duplicates == len(t)
    sl = p.tracks.slot(key(Namespace.ICAO, 0x4CA7B5))
    assert p.tracks.cols["n_reports"][sl] == 2 * len(t)


def test_fields_forward_fill_across_message_types():
    p = Pipeline([])
    subj = key(Namespace.ICAO, 0x4CA7B5)
    pos = Reports.build(1, time=0.0, domain=Domain.AIR, kind=Kind.POSITION, subject=subj,
                        lat=59.0, lon=24.0, alt=10000.0, nic=8)  # fmt: skip
    vel = Reports.build(1, time=1.0, domain=Domain.AIR, kind=Kind.VELOCITY, subject=subj,
                        speed=230.0, course=90.0)  # fmt: skip
    st = Reports.build(1, time=2.0, domain=Domain.AIR, kind=Kind.STATUS, subject=subj, nacp=9)
    p.process(Decoded(Reports.concat([pos, vel, st])))
    sl = p.tracks.slot(subj)
    c = p.tracks.cols
    assert (c["lat"][sl], c["speed"][sl], c["nacp"][sl], c["nic"][sl]) == (59.0, 230.0, 9, 8)
    assert c["pos_time"][sl] == 0.0 and c["last_time"][sl] == 2.0


def test_a_single_impossible_fix_stays_out_of_the_track():
    t = np.arange(0.0, 100, 10)
    lat = np.full(len(t), 59.0)
    lat[5] = 61.0  # 220 km away for one report
    r = Reports.build(len(t), time=t, domain=Domain.MARITIME, kind=Kind.POSITION,
                      subject=key(Namespace.MMSI, 230123000), lat=lat, lon=24.0)  # fmt: skip
    p = Pipeline([])
    p.process(Decoded(r))
    sl = p.tracks.slot(key(Namespace.MMSI, 230123000))
    assert p.tracks.cols["n_outliers"][sl] == 1 and p.tracks.cols["lat"][sl] == 59.0
    ht, hlat, _ = p.tracks.history(sl)
    assert len(ht) == 9 and (hlat == 59.0).all()


def test_reports_naming_no_one_are_counted_not_dropped_silently():
    from picket.model.rejects import Rejects

    rj = Rejects()
    p = Pipeline([], rejects=rj)
    r = Reports.build(3, time=[0.0, 1.0, 2.0], domain=Domain.AIR, kind=Kind.POSITION,
                      subject=[key(Namespace.ICAO, 1), -1, -1], lat=59.0, lon=24.0)  # fmt: skip
    p.process(Decoded(r))
    assert rj.counts["pipeline.no_subject"] == 2 and len(p.tracks) == 1


def test_an_aircraft_position_repeated_between_updates_is_no_new_fix():
    """OpenSky-style forward fill: rows every second, the position new every 5 s. The track
    keeps the fix's own time, history holds fixes only, and no jump speed is inflated."""
    t = np.arange(0.0, 60.0, 1.0)
    fix_t = np.floor(t / 5) * 5
    lat, lon = 59.0 + fix_t * 2e-3, np.full(len(t), 24.0)  # ~222 m/s northward
    p = Pipeline([])
    p.process(Decoded(adsb(t[:33], lat[:33], lon[:33], "rx", speed=222.0, course=0.0)))
    p.process(Decoded(adsb(t[33:], lat[33:], lon[33:], "rx", speed=222.0, course=0.0)))
    sl = p.tracks.slot(key(Namespace.ICAO, 0x4CA7B5))
    c = p.tracks.cols
    assert c["pos_time"][sl] == 55.0 and c["lat"][sl] == lat[-1]  # own time, not row time 59
    assert c["n_repeats"][sl] == 48 and c["n_outliers"][sl] == 0
    ht, _, _ = p.tracks.history(sl)
    assert list(ht) == list(np.arange(0.0, 60.0, 5.0))


def test_an_out_and_back_aircraft_fix_is_a_counted_glitch_kept_out_of_the_track():
    t = np.arange(0.0, 120.0, 2.0)
    lat, lon = 59.0 + t * 2e-3, np.full(len(t), 24.0)
    lon[30] = 24.15  # one fix ~8.6 km east, then back
    p = Pipeline([])
    for a in range(0, len(t), 7):  # batching does not matter
        s = slice(a, a + 7)
        p.process(Decoded(adsb(t[s], lat[s], lon[s], "rx", speed=222.0, course=0.0)))
    sl = p.tracks.slot(key(Namespace.ICAO, 0x4CA7B5))
    c = p.tracks.cols
    assert c["n_glitches"][sl] == 1 and c["n_outliers"][sl] == 1 and c["n_spoofed"][sl] == 0
    assert c["spoof_mode"][sl] == 0
    _, _, hlon = p.tracks.history(sl)
    assert (hlon == 24.0).all()
