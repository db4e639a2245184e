"""The plot CSV's all-numeric fast path (`plots_csv.decimals`) against the per-cell cast.

`decimals` must give the string cast's doubles bit for bit on every plain decimal, and
hand anything else (empty cells, signs or dots out of place, exponents, spaces) back to
the per-cell path, whose results and rejects the decoder must then keep unchanged.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from picket.model.rejects import Rejects
from picket.model.reports import Reports
from picket.sources import plots_csv
from picket.sources.plots_csv import PlotsCsvDecoder, decimals


def _cells(body: bytes) -> np.ndarray:
    return np.array(body.replace(b"\n", b",").split(b",")[:-1], dtype=bytes)


def _plain(rng: random.Random) -> str:
    """A decimal as files write them, and the odd corners: -0, 5., .5, long digits."""
    kind = rng.randrange(6)
    if kind == 0:
        return f"{rng.uniform(-1e6, 1e6):.{rng.randrange(0, 7)}f}"
    if kind == 1:
        return repr(rng.uniform(-1e3, 1e3))  # up to 17 significant digits
    if kind == 2:
        return rng.choice(["-0", "0", "-0.000", "5.", "-5.", ".5", "-.5", "007.250"])
    if kind == 3:
        return str(rng.randrange(-(10**18), 10**18))
    if kind == 4:
        return "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 25)))
    return f"{rng.randrange(10**6)}.{rng.randrange(10**9):09d}"


def test_decimals_match_the_string_cast_bit_for_bit() -> None:
    rng = random.Random(7)
    rows = [",".join(_plain(rng) for _ in range(4)) for _ in range(5000)]
    body = ("\n".join(rows) + "\n").encode()
    got = decimals(body, np.frombuffer(body, np.uint8), 4 * len(rows))
    assert got is not None
    want = _cells(body).astype(np.float64)
    np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))


@pytest.mark.parametrize(
    "row",
    ["1,,2", ",1,2", "1,2,", "1.2.3,4,5", "1-2,3,4", "-,3,4", ".,3,4", "-.,3,4", "--1,2,3",
     "1e5,2,3", "1,+2,3", "1, 2,3", "nan,2,3", "inf,2,3", "1,2,3\r", "0x1,2,3"],
)  # fmt: skip
def test_decimals_leave_anything_else_to_the_cast(row: str) -> None:
    body = f"0,1,2\n{row}\n".encode()
    assert decimals(body, np.frombuffer(body, np.uint8), 6) is None


def _decode(data: bytes, chunk: int) -> tuple[Reports, dict]:
    rejects = Rejects()
    dec = PlotsCsvDecoder(rejects, "radar")
    parts = [dec.feed(data[i : i + chunk]).reports for i in range(0, len(data), chunk)]
    parts.append(dec.flush().reports)
    return Reports.concat(parts), rejects.as_dict()


@pytest.mark.parametrize("chunk", [1 << 20, 997])
def test_decoder_gives_the_same_plots_with_and_without_the_fast_parse(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(11)
    rows = [f"{0.5 * (i // 50):.3f},{rng.uniform(-9e4, 9e4):.3f},{rng.uniform(-9e4, 9e4):.3f}"
            for i in range(4000)]  # fmt: skip
    rows[1234] = "61.500,1e309,5"  # not finite: rejected on either path
    rows[2345] = "62.000,,5"  # empty: rejected row by row
    head = "# origin: 59.9, 24.9\ntime,x,y\n"
    data = (head + "\n".join(rows[:1000]) + "\n").encode() if chunk > 4096 else b""
    data = data or (head + "\n".join(rows) + "\n").encode()
    parsed = []

    def counted(*a: object) -> np.ndarray | None:
        parsed.append(decimals(*a))  # type: ignore[arg-type]
        return parsed[-1]

    monkeypatch.setattr(plots_csv, "decimals", counted)
    fast, rf = _decode(data, chunk)
    assert sum(p is not None for p in parsed) >= (1 if chunk > len(data) // 2 else 50)
    monkeypatch.setattr(plots_csv, "decimals", lambda *a: None)
    slow, rs = _decode(data, chunk)
    assert len(slow) == (1000 if chunk > 4096 else len(rows) - 2)
    assert rf == rs
    for c, v in slow.cols.items():
        np.testing.assert_array_equal(fast.cols[c], v, err_msg=c)


@pytest.mark.parametrize("origin", [(0.0, 0.0), (59.9, 24.9)])
def test_plane_plots_reach_the_tracker_as_written(origin: tuple, tmp_path: Path) -> None:
    """`picket track` on x/y plots without z: the plots' own x/y go to the tracker (no
    trip to the ground and back); the tracks equal the trip's to well under a mm, a
    `# site:` line still takes the ground path, and a bad row is still rejected."""
    from picket.cli.track_cmd import main

    rng = np.random.default_rng(5)
    n, scans = 30, 25
    p0, v = rng.uniform(-5000, 5000, (n, 2)), rng.normal(0, 20, (n, 2))
    rows = [f"{4.0 * k:.3f},{x:.3f},{y:.3f}" for k in range(scans)
            for x, y in p0 + v * 4.0 * k + rng.normal(0, 10, (n, 2))]  # fmt: skip
    rows[77] = "8.000,nan,12.5"
    head = f"# origin: {origin[0]}, {origin[1]}\ntime,x,y\n"
    plots = tmp_path / "plots.csv"
    plots.write_text(head + "\n".join(rows) + "\n")
    out = tmp_path / "tracks.csv"
    args = ["track", str(plots), "--out", str(out), "--measurement-sigma", "10",
            "--initial-velocity-sigma", "60"]  # fmt: skip
    assert main(args) == 0
    fast = np.loadtxt(out, delimiter=",", skiprows=1)

    real = PlotsCsvDecoder.plane_only
    try:
        PlotsCsvDecoder.plane_only = lambda self: False  # type: ignore[method-assign]
        assert main(args) == 0
    finally:
        PlotsCsvDecoder.plane_only = real  # type: ignore[method-assign]
    slow = np.loadtxt(out, delimiter=",", skiprows=1)
    assert len(slow) > n * (scans - 5)
    np.testing.assert_array_equal(fast[:, :2], slow[:, :2])
    np.testing.assert_allclose(fast[:, 2:], slow[:, 2:], atol=1.5e-3)  # printed to 1 mm

    dec = PlotsCsvDecoder(Rejects(), "plots.csv")
    dec.keep_plane = True
    got = dec.feed((head + "\n".join(rows) + "\n").encode()).reports
    assert dec.plane_only() and np.isnan(got.lat).all()
    assert sum(len(a) for a in dec.plane_xy) == len(got) == len(rows) - 1
    sited = PlotsCsvDecoder(Rejects(), "plots.csv")
    sited.keep_plane = True
    sited.feed(f"# site: {origin[0]}, {origin[1]}\n{head}{rows[0]}\n".encode())
    assert not sited.plane_only() and not sited.plane_xy
