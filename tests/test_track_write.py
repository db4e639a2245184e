"""`picket track`'s table writer: digits made as arrays give %-formatting's text exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from picket.cli import track_cmd
from picket.cli.track_cmd import write_tracks


def _printf(t: np.ndarray, ids: np.ndarray, a: np.ndarray, b: np.ndarray, places: int) -> str:
    row = f"%.3f,%d,%.{places}f,%.{places}f\n"
    rows = zip(t.tolist(), ids.tolist(), a.tolist(), b.tolist(), strict=True)
    return "".join(row % v for v in rows)


def _values(rng: np.random.Generator, n: int, scale: float, places: int) -> np.ndarray:
    """Plain values, decimals as files hold them, zeros of both signs and tiny negatives
    that print as -0."""
    x = rng.uniform(-scale, scale, n)
    q = 10.0**-places
    x[::7] = np.round(x[::7], places)
    x[1::7] = np.round(x[1::7], places - 1) + 0.4 * q
    x[3::50], x[4::50], x[5::50] = 0.0, -0.0, -0.3 * q
    return x


def _texts(x: np.ndarray, places: int) -> list[str] | None:
    got = track_cmd._fixed(x, places)
    if got is None:
        return None
    chars, shown = got
    return [bytes(c[m]).decode() for c, m in zip(chars, shown, strict=True)]


@pytest.mark.parametrize("places", [3, 7])
def test_near_ties_are_printed_as_printf_or_left_to_it(places: int) -> None:
    """A value a hair off a tie (or on one) either gets %-formatting's digits or none."""
    rng = np.random.default_rng(places + 10)
    q = 10.0**-places
    ties = (rng.integers(-(10**7), 10**7, 3000) + 0.5) * q
    left = 0
    for v in np.concatenate([ties, np.nextafter(ties, np.inf), np.nextafter(ties, -np.inf)]):
        got = _texts(np.array([v]), places)
        left += got is None
        assert got is None or got == [f"%.{places}f" % v], v
    assert left > 1000  # the ties themselves are left to %-formatting


@pytest.mark.parametrize("places", [3, 7])
def test_array_digits_match_printf(places: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(places)
    n = 20_000
    t = np.round(rng.uniform(0, 1e6, n), 3)
    ids = rng.integers(1, 10**9, n)
    a = _values(rng, n, 9e5 if places == 3 else 180.0, places)
    b = rng.uniform(-90, 90, n) if places == 7 else rng.uniform(-1.0, 1.0, n)
    assert _texts(a, places) is not None and _texts(b, places) is not None  # no fallback
    path = tmp_path / "tracks.csv"
    write_tracks(path, "time,track_id,x,y", t, ids, a, b, places)
    assert path.read_text() == "time,track_id,x,y\n" + _printf(t, ids, a, b, places)


def test_the_array_path_is_taken_and_falls_back(tmp_path: Path, monkeypatch) -> None:
    rng = np.random.default_rng(1)
    t, ids = np.arange(50.0), np.arange(1, 51)
    a, b = rng.uniform(-1e3, 1e3, 50), rng.uniform(-1e3, 1e3, 50)
    calls = []
    real = track_cmd._fixed

    def fixed(x: np.ndarray, places: int) -> tuple | None:
        calls.append(real(x, places))
        return calls[-1]

    monkeypatch.setattr(track_cmd, "_fixed", fixed)
    path = tmp_path / "tracks.csv"
    write_tracks(path, "h", t, ids, a, b, 3)
    assert all(c is not None for c in calls) and len(calls) == 3
    b[7] = np.nan  # no digits for NaN: the whole table by %-formatting
    write_tracks(path, "h", t, ids, a, b, 3)
    assert calls[-1] is None
    assert path.read_text() == "h\n" + _printf(t, ids, a, b, 3)
    write_tracks(path, "h", t[:0], ids[:0], a[:0], b[:0], 3)
    assert path.read_text() == "h\n"


@pytest.mark.parametrize("places", [3, 7])
def test_scan_times_and_small_ids_match_printf(places: int, tmp_path: Path) -> None:
    """A table as `picket track` writes it: each scan's time on all its rows (made once
    per run), few small track ids (made once per id); -0.0 next to 0.0 is its own run."""
    rng = np.random.default_rng(places + 3)
    sizes = rng.integers(1, 60, 400)
    times = np.round(np.cumsum(rng.uniform(0.1, 12.0, 400)), 3) - 30.0
    times[5], times[6], times[7] = 0.0, -0.0, 0.0004  # the last prints as 0.000
    t = times.repeat(sizes)
    ids = rng.integers(0, 300, len(t))
    a = _values(rng, len(t), 9e5 if places == 3 else 180.0, places)
    b = rng.uniform(-90, 90, len(t))
    path = tmp_path / "tracks.csv"
    write_tracks(path, "time,track_id,x,y", t, ids, a, b, places)
    assert path.read_text() == "time,track_id,x,y\n" + _printf(t, ids, a, b, places)
    assert track_cmd._runs(t, 3) is not None and len(track_cmd._runs(t, 3)[0]) == len(t)
    t[len(t) // 2 :] = 12.0005  # a tie: the whole table by %-formatting, still the same
    write_tracks(path, "time,track_id,x,y", t, ids, a, b, places)
    assert path.read_text() == "time,track_id,x,y\n" + _printf(t, ids, a, b, places)
