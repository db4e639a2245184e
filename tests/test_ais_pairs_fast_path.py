"""Two-part AIS messages joined on the fast path must decode exactly as the reassembler would.

The decoder joins a clean pair of adjacent fragments directly when no other group is
open. Here the same real NMEA, intact and damaged (fragments dropped, repeated, swapped,
lines cut short), is decoded with the fast path and with it switched off; reports,
statics, counts and the dead letter (reason, where, raw, in order) must all agree.
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pytest

from picket.model.rejects import Rejects
from picket.sources.ais_nmea import AisNmeaDecoder

FILES = ("dma_danish_waters_20131112_5min.nmea.gz", "aislib_stream_example_20100611.nmea",
         "aisdb_global_20211101_1min.nm4")  # fmt: skip


def _lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return data.splitlines(keepends=True)


def _damage(lines: list[bytes], seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = list(lines)
    for _ in range(len(out) // 50):
        i = rng.randrange(len(out) - 1)
        what = rng.randrange(4)
        if what == 0:
            del out[i]
        elif what == 1:
            out.insert(i, out[i])
        elif what == 2:
            out[i], out[i + 1] = out[i + 1], out[i]
        else:
            out[i] = out[i][: max(1, len(out[i]) // 2)] + b"\n"
    return out


def _decode(data: bytes, fast: bool, tmp: Path, chunk: int) -> tuple:
    dl = tmp / f"dl-{fast}.jsonl"
    dl.unlink(missing_ok=True)
    rej = Rejects(dl)
    dec = AisNmeaDecoder(rej, "t", clock=lambda: 1.7e9)
    if not fast:
        dec._clean_pairs = lambda ln, multi, *a: np.zeros(len(multi), bool)  # type: ignore[method-assign]
    cols, statics = [], []
    for k in range(0, len(data), chunk):
        for d in (dec.feed(data[k : k + chunk]),):
            cols.append(d.reports.cols)
            statics += [(s.time, s.subject, s.fields) for s in d.statics]
    d = dec.flush()
    cols.append(d.reports.cols)
    statics += [(s.time, s.subject, s.fields) for s in d.statics]
    rej.flush()
    merged = {c: np.concatenate([x[c] for x in cols]) for c in cols[0]}
    letters = [json.loads(x) for x in dl.read_text().splitlines()] if dl.exists() else []
    for x in letters:
        x.pop("at", None)  # wall-clock time of writing, if recorded
    return merged, statics, dict(rej.counts), rej.accepted, letters


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("seed", [None, 1, 2])
def test_fast_pairs_equal_reassembler(shared_data: Path, tmp_path: Path, name: str,
                                      seed: int | None) -> None:  # fmt: skip
    lines = _lines(shared_data / "ais" / name)
    if seed is not None:
        lines = _damage(lines, seed)
    data = b"".join(lines)
    chunk = 1 << 16 if seed is None else 4093 * (seed + 1)
    fast = _decode(data, True, tmp_path, chunk)
    slow = _decode(data, False, tmp_path, chunk)
    for c in fast[0]:
        assert np.array_equal(fast[0][c], slow[0][c], equal_nan=fast[0][c].dtype.kind == "f"), c
    assert fast[1:] == slow[1:]
    assert len(fast[0]["time"]) > 0 and fast[1]  # reports and statics were produced
