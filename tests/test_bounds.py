"""Impossible values are stopped at the pipeline's door, counted and dead-lettered."""

from __future__ import annotations

import json

import numpy as np

from picket.model.bounds import check_values
from picket.model.decoded import Decoded
from picket.model.rejects import Rejects
from picket.model.reports import Domain, Kind, Reports
from picket.pipeline.runtime import Pipeline
from picket.sources.registry import get_format

T = 1_700_000_000.0


def sbs(icao: str, lat: str, lon: str, alt: str = "35000", sec: int = 0) -> bytes:
    return (f"MSG,3,1,1,{icao},1,2023/11/14,22:13:{sec:02d}.000,2023/11/14,22:13:{sec:02d}.000,"
            f",{alt},,,{lat},{lon},,,0,0,0,0\n").encode()  # fmt: skip


def test_sbs_positions_out_of_range_never_reach_tracks(tmp_path):
    rej = Rejects(tmp_path / "dl.jsonl")
    dec = get_format("sbs").decoder(rej, "probe")
    data = b"".join([
        sbs("4CA7B5", "53.1", "14.2", sec=1),
        sbs("4CA7B6", "91.5", "14.2", sec=2),
        sbs("4CA7B7", "53.1", "181.0", sec=3),
        sbs("4CA7B8", "inf", "14.2", sec=4),
        sbs("4CA7B9", "1e308", "1e308", sec=5),
        sbs("4CA7BA", "53.2", "14.3", alt="1e308", sec=6),
    ])  # fmt: skip
    out = dec.feed(data)
    out = Decoded(out.reports, out.statics + dec.flush().statics)
    pipe = Pipeline(detectors=[], rejects=rej)
    pipe.process(out)
    rej.close()
    c = pipe.tracks.cols
    n = pipe.tracks.n
    lat, lon = c["lat"][:n], c["lon"][:n]
    ok = ~np.isnan(lat)
    assert ok.sum() == 2  # the good one and the one with an impossible altitude
    assert np.all(np.abs(lat[ok]) <= 90) and np.all(np.abs(lon[ok]) <= 180)
    assert np.all(np.isfinite(c["alt"][:n][ok]) | np.isnan(c["alt"][:n][ok]))
    assert rej.counts["value.position_out_of_range"] == 4
    assert rej.counts["value.alt_out_of_range"] == 1
    lines = [json.loads(x) for x in (tmp_path / "dl.jsonl").read_text().splitlines()]
    dl = [x for x in lines if x["reason"].startswith("value.")]
    assert {x["reason"] for x in dl} == {"value.position_out_of_range", "value.alt_out_of_range"}
    assert all(x["where"].startswith("probe:") for x in dl)


def test_fields_out_of_range_lose_the_field_not_the_report():
    r = Reports.build(
        time=np.full(6, T), domain=np.array([1, 1, 2, 2, 3, 1], np.uint8),
        kind=np.full(6, int(Kind.POSITION), np.uint8), subject=np.arange(6),
        lat=np.full(6, 55.0), lon=np.full(6, 12.0),
        speed=np.array([250.0, 5000.0, 10.0, 80.0, 7600.0, np.inf], np.float32),
        course=np.array([10.0, 400.0, -5.0, 359.9, np.nan, 0.0], np.float32),
        alt=np.array([10_000.0, -5_000.0, np.nan, np.nan, 400_000.0, 1e6], np.float32),
    )  # fmt: skip
    rej = Rejects()
    out = check_values(r, rej)
    assert len(out) == 6
    assert np.isnan(out.speed[[1, 3, 5]]).all() and np.isfinite(out.speed[[0, 2, 4]]).all()
    assert np.isnan(out.course[[1, 2]]).all() and out.course[3] == np.float32(359.9)
    assert np.isnan(out.alt[[1, 5]]).all() and out.alt[4] == 400_000.0
    assert rej.counts == {"value.speed_out_of_range": 3, "value.course_out_of_range": 2,
                          "value.alt_out_of_range": 2}  # fmt: skip
    assert np.isfinite(r.speed[1])  # the caller's batch is not changed behind its back
    assert int(Domain.SPACE) == 3
