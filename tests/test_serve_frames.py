"""The binary track frame and view deltas on synthetic pictures with known values."""

import json

import numpy as np
import pytest

from picket.model.reports import Domain
from picket.model.subjects import Namespace, key
from picket.serve import frames
from picket.serve.picture import (
    FLAG_ALERT,
    FLAG_EMERGENCY,
    FLAG_NONCOOP,
    FLAG_STALE,
    IDENTITIES,
    Picture,
    identity_of,
)
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
        "id": rng.permutation(np.unique(rng.integers(0, 2**31, 2 * n))[:n]),
        "lat": rng.uniform(-90, 90, n), "lon": rng.uniform(-180, 180, n),
        "alt": rng.uniform(-400, 20000, n),
        "speed": rng.uniform(0, 300, n), "course": rng.uniform(0, 360, n),
    }  # fmt: skip
    flags = rng.integers(0, 64, n).astype(np.uint8)
    removed = np.array([7, 9], np.uint32)
    data = frames.encode(frames.DELTA, 42, 1.7e9, cols, flags, removed)
    assert len(data) == 32 + 4 * n + 15 * n + 4 * 2  # sparse ids: a list, not a bitmap
    f = frames.decode(data)
    assert (f.ftype, f.seq, f.time) == (frames.DELTA, 42, 1.7e9)
    order = np.argsort(cols["id"])  # rows go out in id order
    np.testing.assert_array_equal(f.cols["id"], cols["id"][order])
    assert np.abs(f.cols["lat"] - cols["lat"][order]).max() <= 0.5e-7 + 1e-12
    assert np.abs(f.cols["lon"] - cols["lon"][order]).max() <= 0.5e-7 + 1e-12
    assert np.abs(f.cols["alt"] - cols["alt"][order]).max() <= 2.0  # 4 m steps
    assert np.abs(f.cols["speed"] - cols["speed"][order]).max() <= 1 / 16
    dc = np.abs(f.cols["course"] - cols["course"][order])
    assert np.minimum(dc, 360 - dc).max() <= 360 / 65536
    np.testing.assert_array_equal(f.cols["flags"], flags[order])
    np.testing.assert_array_equal(f.removed, [7, 9])


def test_dense_ids_go_as_a_bitmap_and_a_20k_keyframe_fits_400_kb():
    rng = np.random.default_rng(2)
    n = 20_000
    ids = np.sort(rng.choice(21_000, n, replace=False))
    cols = {"id": ids, "lat": rng.uniform(50, 62, n), "lon": rng.uniform(5, 30, n),
            "alt": np.full(n, 10_000.0), "speed": np.full(n, 200.0),
            "course": rng.uniform(0, 360, n)}  # fmt: skip
    data = frames.encode(frames.KEYFRAME, 1, 1.7e9, cols, np.zeros(n, np.uint8))
    bitmap = ((int(ids[-1]) >> 5) + 1) * 4
    assert len(data) == 32 + bitmap + 15 * n  # 302,656 B
    assert len(data) < 400_000 * 0.8
    f = frames.decode(data)
    np.testing.assert_array_equal(f.cols["id"], ids)
    np.testing.assert_allclose(f.cols["lat"], cols["lat"], atol=0.5e-7 + 1e-12, rtol=0)


def test_deltas_send_steps_from_the_held_position_and_never_drift():
    """A moving picture through one view for 120 ticks: the client's positions stay within
    half a relative step of the truth, deltas are 11 bytes a track, and a client joining
    from the view's keyframe resolves the same steps."""
    rng = np.random.default_rng(3)
    n = 500
    pic = picture(n)
    pic.cols["domain"][: n // 2] = int(Domain.AIR)
    lat0, lon0 = rng.uniform(54, 60, n), rng.uniform(-179.9, 179.9, n)
    v = np.where(pic.cols["domain"] == int(Domain.AIR), 250.0, 8.0)
    crs = rng.uniform(0, 360, n)
    view = ViewState(ViewKey(None, None))
    first, late = frames.ClientPicture(), frames.ClientPicture()
    worst, sizes = 0.0, []
    for k in range(120):
        t = pic.time + 1
        d = v * k / 111_195.0
        lat = lat0 + d * np.cos(np.radians(crs))
        lon = (lon0 + d * np.sin(np.radians(crs)) / np.cos(np.radians(lat0)) + 180) % 360 - 180
        pic = picture(n, t)
        pic.cols["domain"][: n // 2] = int(Domain.AIR)
        pic.cols["lat"], pic.cols["lon"] = lat, lon
        _, data = view.delta(pic, pic.flags(np.zeros(0, np.int64)), k + 1)
        f = first.apply(data)
        if k:
            sizes.append(len(data))
            assert f.ftype == frames.DELTA and f.rel.sum() >= n - 10  # a few cross 180 deg
        if k == 60:
            late.apply(view.keyframe()[1])
        elif k > 60:
            late.apply(data)
        got = np.array([first.position(i) for i in range(n)])
        err = np.abs(got - np.c_[lat, lon])
        worst = max(worst, float(np.minimum(err, 360 - err).max()))
    assert worst <= 0.55e-6 + 1e-12  # half a step + half a 1e-7 unit, after 120 steps
    assert first.gaps == 0 and late.pos == first.pos
    assert max(sizes) <= 32 + 4 * ((n >> 5) + 1) + 11 * n + 4 * 10


def test_altitude_is_fine_low_and_reaches_geostationary():
    alt = np.array([-1000.0, 0.0, 10_001.0, 79_999.0, 80_001.0, 420_000.0, 35_786_000.0, 7e7])
    back = frames.alt_metres(frames.alt_code(alt))
    np.testing.assert_allclose(back[:5], [-1000, 0, 10_000, 80_000, 80_000], atol=2.0)
    np.testing.assert_allclose(back[5:7], alt[5:7], atol=2500.0)
    assert back[7] == 80_000 + (32767 - 20_000) * 5000.0  # clipped at the top code


def test_missing_values():
    cols = {"id": np.array([1, 2]), "lat": np.array([1.0, 2.0]), "lon": np.array([3.0, 4.0]),
            "alt": np.array([np.nan, 35_786_000.0]), "speed": np.array([np.nan, 3074.6]),
            "course": np.array([np.nan, 359.9999])}  # fmt: skip
    f = frames.decode(frames.encode(frames.KEYFRAME, 1, 0.0, cols, np.zeros(2, np.uint8)))
    assert np.isnan(f.cols["alt"][0]) and np.isnan(f.cols["speed"][0])
    assert np.isnan(f.cols["course"][0]) and f.cols["course"][1] == 0.0  # wraps to north
    assert f.cols["alt"][1] == pytest.approx(35_786_000.0, abs=2500)
    assert f.cols["speed"][1] == pytest.approx(3074.6, abs=1 / 16)


def test_column_offsets_match_the_documented_layout():
    cols = {
        "id": np.array([0x01020304]),
        "lat": np.array([12.3456789]),
        "lon": np.array([-1.5]),
        "alt": np.array([400.0]),
        "speed": np.array([2.0]),
        "course": np.array([90.0]),
    }
    d = frames.encode(frames.KEYFRAME, 3, 5.0, cols, np.array([0x19], np.uint8))
    assert d[0] == 2 and d[1] == 1 and len(d) == 32 + 4 + 15 + 1  # padded to 4 bytes
    assert int.from_bytes(d[24:28], "little") == 1  # absolute rows
    assert int.from_bytes(d[28:32], "little") == 0  # explicit ids
    assert int.from_bytes(d[32:36], "little") == 0x01020304
    assert int.from_bytes(d[36:40], "little", signed=True) == 123456789
    assert int.from_bytes(d[40:44], "little", signed=True) == -15000000
    assert int.from_bytes(d[44:46], "little", signed=True) == 100  # 400 m / 4
    assert int.from_bytes(d[46:48], "little") == 16  # 2 m/s * 8
    assert int.from_bytes(d[48:50], "little") == 16384  # 90 deg
    assert d[50] == 0x19  # alert, emergency, identity neutral
    # a relative row: steps of 1e-6 degree, flag bit 7
    p = frames.place(np.array([12.3456789 + 1e-4]), np.array([-1.5 - 2e-6]),
                     np.array([123456789]), np.array([-15000000]))  # fmt: skip
    d = frames.encode(frames.DELTA, 4, 6.0, cols, np.array([0], np.uint8), placement=p)
    assert int.from_bytes(d[24:28], "little") == 0 and len(d) == 32 + 4 + 11 + 1
    assert int.from_bytes(d[36:38], "little", signed=True) == 100
    assert int.from_bytes(d[38:40], "little", signed=True) == -2
    assert d[46] == frames.FLAG_REL


def test_malformed_frames_are_refused():
    cols = {
        "id": np.array([5, 6]),
        "lat": np.array([1.0, 2.0]),
        "lon": np.array([3.0, 4.0]),
        "alt": np.full(2, np.nan),
        "speed": np.full(2, np.nan),
        "course": np.full(2, np.nan),
    }
    d = bytearray(frames.encode(frames.KEYFRAME, 1, 0.0, cols, np.zeros(2, np.uint8)))
    for bad in (d[:20], d[:-1], bytes([1]) + d[1:], d[:16] + (3).to_bytes(4, "little") + d[20:]):
        with pytest.raises(ValueError):
            frames.decode(bytes(bad))
    with pytest.raises(ValueError):  # a step for an id the client never held
        p = frames.place(cols["lat"], cols["lon"], np.zeros(2, np.int64), np.zeros(2, np.int64))
        p.rel[:] = True
        frames.ClientPicture().apply(
            frames.encode(frames.DELTA, 1, 0.0, cols, np.zeros(2, np.uint8), placement=p)
        )


def test_view_delta_sends_only_changes_and_removals():
    pic = picture()
    v = ViewState(ViewKey(None, None))
    flags = pic.flags(np.zeros(0, np.int64))
    meta, data = v.delta(pic, flags, 1)
    f = frames.decode(data)
    assert sorted(f.cols["id"].tolist()) == [0, 1, 2, 3, 4]
    assert [json.loads(m)[1] for m in meta][:1] == ["mmsi:211000000"]
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
    assert sorted(f.cols["id"].tolist()) == [0, 1, 2, 3] and f.rel.all()  # steps of 0
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


def test_flags_and_identity():
    pic = picture(4)
    pic.cols["subject"][1] = key(Namespace.TRACK, 5)
    pic.cols["domain"][1] = int(Domain.AIR)
    pic.cols["squawk"][2] = 7700
    pic.cols["pos_time"][3] -= 601  # maritime stale after 600 s
    f = pic.flags(np.array([pic.cols["subject"][0]]))
    status = f & 0x0F
    assert status.tolist() == [FLAG_ALERT, FLAG_NONCOOP, FLAG_EMERGENCY, FLAG_STALE]
    names = [IDENTITIES[i] for i in identity_of(f)]
    assert names == ["neutral", "unknown", "neutral", "neutral"]  # AIS ships, plot track
    f = pic.flags(np.zeros(0, np.int64), suspects=pic.cols["subject"][[0, 1]],
                  friends=pic.cols["subject"][[1, 2]])  # fmt: skip
    assert [IDENTITIES[i] for i in identity_of(f)] == ["suspect", "suspect", "friend", "neutral"]


def test_bad_views_are_refused():
    with pytest.raises(ValueError):
        ViewKey.parse("submarine", None)
    with pytest.raises(ValueError):
        ViewKey.parse(None, "1,2,3")
    with pytest.raises(ValueError):
        ViewKey.parse(None, "0,91,1,92")
