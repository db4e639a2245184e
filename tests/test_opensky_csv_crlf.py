"""OpenSky CSV written with CRLF line ends (Python's csv writer, Windows tools) decodes to
the same reports as the LF file, through the whole-buffer path; a line with a CR left after
its line end's goes to the line-by-line path and is judged there, as before."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from picket.model.decoded import Decoded
from picket.model.rejects import Rejects
from picket.model.reports import Reports
from picket.sources.air_json import OpenSkyCsv


def _decode(data: bytes, chunk: int) -> tuple[Decoded, dict]:
    rejects = Rejects()
    dec = OpenSkyCsv(rejects, "sample")
    outs = [dec.feed(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    outs.append(dec.flush())
    reps = Reports.concat([o.reports for o in outs])
    return Decoded(reps, [s for o in outs for s in o.statics]), rejects.as_dict()


def _equal(a: Decoded, b: Decoded) -> None:
    assert len(a.reports) == len(b.reports) > 0
    for c, v in a.reports.cols.items():
        np.testing.assert_array_equal(b.reports.cols[c], v, err_msg=c)
    assert [(s.time, s.subject, s.fields) for s in a.statics] == [
        (s.time, s.subject, s.fields) for s in b.statics
    ]


def test_crlf_file_decodes_as_lf(shared_data: Path) -> None:
    f = min((shared_data / "air" / "traffic_samples").glob("*.csv.gz"),
            key=lambda p: p.stat().st_size)  # fmt: skip
    lines = gzip.decompress(f.read_bytes()).splitlines()[:4000]
    lf = b"\n".join(lines) + b"\n"
    crlf = b"\r\n".join(lines) + b"\r\n"
    want, rej = _decode(lf, 1 << 20)
    for chunk in (1 << 20, 4096, 333):
        got, rej2 = _decode(crlf, chunk)
        _equal(want, got)
        assert rej2 == rej
    # a stray CR before one line's CRLF: that line keeps one CR, the others decode as before
    odd = crlf.replace(lines[10] + b"\r\n", lines[10] + b"\r\r\n", 1)
    got, _ = _decode(odd, 1 << 20)
    assert len(got.reports) >= len(want.reports) - 1
    assert np.array_equal(got.reports.raw[:5], want.reports.raw[:5])
    # no CR at all on the last line of a CRLF file
    got, _ = _decode(crlf[:-2], 1 << 20)
    _equal(want, got)
