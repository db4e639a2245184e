"""The binary track frame and view deltas on synthetic pictures with known values."""

import numpy as np
import pytest

from picket.model.reports import Domain
from picket.model.subjects import Namespace, key
from picket.serve import frames
from picket.serve.picture import FLAG_ALERT, FLAG_EMERGENCY, FLAG_NONCOOP, FLAG_STALE, Picture
from picket.serve.views import ViewKey, ViewState, in_bbox


def picture(n=5, t=1_700_000_000.0):
    pic = Picture.empty()
    subj = np.array([key(Namespace.MMSI, 211000000 + i) for i in range(n)], np.int64)
    c = {
        "subject": subj, "id": np.arange(n, dtype=np.int64),
        "domain": np.full(n, int(Domain.MARITIME), np.uint8),
        "lat": 54.0 + np.arange(n) * 0.5, "lon": 10.0 + np.arange(n) * 1.25,
        "alt": np.full(n, np.nan), "speed": np.arange(n) * 1.5, "course": np.arange(n) * 70.0,
        "heading": np.full(n, np.nan), "last_time": np.full(n, t), "pos_time": np.full(n, t),
        "first_time": np.full(n, t - 100), "squawk": np.full(n, -1, np.int16),
        "emergency": np.full(n, -1, np.int8), "nav_status": np.full(n, -1, np.int8),
        "n_reports": np.ones(n, np.int64),
    }  # fmt: skip
    pic.cols, pic.time = c, t
    return pic


def test_frame_round_trip_within_quantisation():
    rng = np.random.default_rng(1)
    n = 1000
    cols = {
        "id": rng.integers(0, 2**31, n), "lat": rng.uniform(-90, 90, n),
        "lon": rng.uniform(-180, 180, n), "alt": rng.uniform(-400, 20000, n),
        "speed": rng.uniform(0, 300, n), "course": rng.uniform(0, 360, n),
        "domain": rng.integers(1, 3, n).astype(np.uint8),
    }  # fmt: skip
    flags = rng.integers(0, 16, n).astype(np.uint8)
    removed = np.array([7, 9], np.uint32)
    data = frames.encode(frames.DELTA, 42, 1.7e9, cols, flags, removed)
    assert len(data) == 24 + 20 * n + 4 * 2
    f = frames.decode(data)
    assert (f.ftype, f.seq, f.time) == (frames.DELTA, 42, 1.7e9)
    np.testing.assert_array_equal(f.cols["id"], cols["id"])
    assert np.abs(f.cols["lat"] - cols["lat"]).max() <= 0.5e-7 + 1e-12
    assert np.abs(f.cols["lon"] - cols["lon"]).max() <= 0.5e-7 + 1e-12
    assert np.abs(f.cols["alt"] - cols["alt"]).max() <= 2.0  # 4 m steps
    assert np.abs(f.cols["speed"] - cols["speed"]).max() <= 1 / 16
    dc = np.abs(f.cols["course"] - cols["course"])
    assert np.minimum(dc, 360 - dc).max() <= 360 / 65536
    np.testing.assert_array_equal(f.cols["flags"], flags)
    np.testing.assert_array_equal(f.removed, [7, 9])


def test_missing_values_and_space_altitude_units():
    cols = {"id": np.array([1, 2]), "lat": np.array([1.0, 2.0]), "lon": np.array([3.0, 4.0]),
            "alt": np.array([np.nan, 35_786_000.0]), "speed": np.array([np.nan, 3074.6]),
            "course": np.array([np.nan, 359.999]),
            "domain": np.array([2, int(Domain.SPACE)], np.uint8)}  # fmt: skip
    f = frames.decode(frames.encode(frames.KEYFRAME, 1, 0.0, cols, np.zeros(2, np.uint8)))
    assert np.isnan(f.cols["alt"][0]) and np.isnan(f.cols["speed"][0])
    assert np.isnan(f.cols["course"][0])
    assert f.cols["alt"][1] == pytest.approx(35_786_000.0, abs=1000)  # 2 km steps in space
    assert f.cols["speed"][1] == pytest.approx(3074.6, abs=1 / 16)


def test_column_offsets_match_the_documented_layout():
    cols = {"id": np.array([0x01020304]), "lat": np.array([12.3456789]), "lon": np.array([-1.5]),
            "alt": np.array([400.0]), "speed": np.array([2.0]), "course": np.array([90.0]),
            "domain": np.array([1], np.uint8)}  # fmt: skip
    d = frames.encode(frames.KEYFRAME, 3, 5.0, cols, np.array([9], np.uint8))
    assert d[0] == 1 and d[1] == 1
    assert int.from_bytes(d[24:28], "little") == 0x01020304
    assert int.from_bytes(d[28:32], "little", signed=True) == 123456789
    assert int.from_bytes(d[32:36], "little", signed=True) == -15000000
    assert int.from_bytes(d[36:38], "little", signed=True) == 100  # 400 m / 4
    assert int.from_bytes(d[38:40], "little") == 16  # 2 m/s * 8
    assert int.from_bytes(d[40:42], "little") == 16384  # 90 deg
    assert d[42] == 1 and d[43] == 9


def test_view_delta_sends_only_changes_and_removals():
    pic = picture()
    v = ViewState(ViewKey(None, None))
    flags = pic.flags(np.zeros(0, np.int64))
    meta, data = v.delta(pic, flags, 1)
    f = frames.decode(data)
    assert sorted(f.cols["id"].tolist()) == [0, 1, 2, 3, 4]
    assert [m[1] for m in meta][:1] == ["mmsi:211000000"]
    # same picture again: nothing changed, nothing sent
    meta, data = v.delta(pic, flags, 2)
    assert frames.decode(data).cols["id"].size == 0 and meta == []
    # track 2 moves, track 4 goes quiet past the maritime drop time
    pic2 = picture()
    pic2.time = pic.time + 4000
    pic2.cols["last_time"][:4] = pic2.cols["pos_time"][:4] = pic.time + 4000
    pic2.cols["last_time"][2] = pic2.cols["pos_time"][2] = pic.time + 4001
    pic2.time = pic.time + 4001
    _, data = v.delta(pic2, pic2.flags(np.zeros(0, np.int64)), 3)
    f = frames.decode(data)
    assert sorted(f.cols["id"].tolist()) == [0, 1, 2, 3]
    assert f.removed.tolist() == [4]
    _, kf = v.keyframe()
    k = frames.decode(kf)
    assert k.ftype == frames.KEYFRAME and sorted(k.cols["id"].tolist()) == [0, 1, 2, 3]


def test_bbox_view_moves_tracks_in_and_out():
    pic = picture()
    v = ViewState(ViewKey.parse("maritime", "9.5,53.5,12.0,55.2"))  # ids 0 and 1
    _, data = v.delta(pic, pic.flags(np.zeros(0, np.int64)), 1)
    assert sorted(frames.decode(data).cols["id"].tolist()) == [0, 1]
    pic.cols["lon"] = pic.cols["lon"].copy()
    pic.cols["lon"][1] = 20.0
    pic.cols["last_time"] = pic.cols["last_time"] + 1
    _, data = v.delta(pic, pic.flags(np.zeros(0, np.int64)), 2)
    f = frames.decode(data)
    assert f.cols["id"].tolist() == [0] and f.removed.tolist() == [1]
    air = ViewState(ViewKey.parse("air", None))
    _, data = air.delta(pic, pic.flags(np.zeros(0, np.int64)), 1)
    assert frames.decode(data).cols["id"].size == 0


def test_antimeridian_bbox():
    lat = np.array([0.0, 0.0, 0.0])
    lon = np.array([179.5, -179.5, 0.0])
    np.testing.assert_array_equal(in_bbox(lat, lon, (179.0, -1.0, -179.0, 1.0)), [1, 1, 0])


def test_flags():
    pic = picture(4)
    pic.cols["subject"][1] = key(Namespace.TRACK, 5)
    pic.cols["squawk"][2] = 7700
    pic.cols["pos_time"][3] -= 601  # maritime stale after 600 s
    f = pic.flags(np.array([pic.cols["subject"][0]]))
    assert f.tolist() == [FLAG_ALERT, FLAG_NONCOOP, FLAG_EMERGENCY, FLAG_STALE]


def test_bad_views_are_refused():
    with pytest.raises(ValueError):
        ViewKey.parse("submarine", None)
    with pytest.raises(ValueError):
        ViewKey.parse(None, "1,2,3")
    with pytest.raises(ValueError):
        ViewKey.parse(None, "0,91,1,92")
