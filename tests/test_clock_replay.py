"""Clockless files in `picket replay`: a clock from --start-time / --rate / the file, or a clear
stop; implausible times rejected at the door; directories; .gz progress (docs/time.md)."""

from __future__ import annotations

import csv
import gzip
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from picket.cli.main import main
from picket.codec.ais_encode import encode_positions
from picket.model.alerts import parse_time
from picket.model.rejects import Rejects
from picket.model.reports import Reports
from picket.sources.registry import Clock, read_file

CAPTURE = "air/beast_capture_gulf_of_finland_20180403_61s.bin"
T0 = "2018-04-03T19:02:28Z"


def replay(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(["replay", *args, "--no-store", "--quiet", "--no-progress"])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def track_times(path: Path) -> np.ndarray:
    with open(path, newline="") as fh:
        return np.array([parse_time(r["time"]) for r in csv.DictReader(fh)])


def ais_lines(n: int, t0: float = 1.7e9, step: float = 10.0) -> list[bytes]:
    """One vessel steaming east, one tag-blocked sentence per `step` seconds."""
    t = t0 + np.arange(n) * step
    return encode_positions(t, np.full(n, 230123000), np.full(n, 59.5),
                            24.0 + np.arange(n) * 1e-3, np.full(n, 10.0), np.full(n, 90.0),
                            np.full(n, 90.0), np.zeros(n, int))  # fmt: skip


def bare(line: bytes) -> bytes:
    """The sentence without its tag block: what an AIS receiver prints."""
    return line[line.rindex(b"\\") + 1 :]


@pytest.mark.realdata
def test_beast_file_without_a_time_stops_before_processing(shared_data, tmp_path, capsys):
    out = tmp_path / "a.jsonl"
    code, so, err = replay([str(shared_data / CAPTURE), "--alerts-out", str(out)], capsys)
    assert code == 2 and so == "" and not out.exists(), (so, err)
    assert CAPTURE.split("/")[1] in err
    assert "8,928 of the first 8,928 frames carry no time" in err
    assert "--start-time" in err and "--rate" in err
    assert err.count("picket replay:") == 1  # one message


@pytest.mark.realdata
def test_beast_file_with_a_start_time_is_timed_from_it(shared_data, tmp_path, capsys):
    tr = tmp_path / "t.csv"
    code, so, _ = replay([str(shared_data / CAPTURE), "--start-time", T0, "--tracks-out",
                          str(tr)], capsys)  # fmt: skip
    assert code == 0, so
    t = track_times(tr)
    assert t.min() >= parse_time(T0) and t.max() <= parse_time(T0) + 62
    assert ("8922 accepted, 6 rejected: modes.unknown_address (6); "
            "5026 Mode A/C replies (not used)") in so


@pytest.mark.realdata
def test_beast_rate_alone_ends_the_recording_at_its_modification_time(
    shared_data, tmp_path, capsys
):
    f = tmp_path / "capture.bin"  # a scratch copy, only to set its modification time
    shutil.copyfile(shared_data / CAPTURE, f)
    end = parse_time("2024-05-01T12:00:00Z")
    os.utime(f, (end, end))
    tr = tmp_path / "t.csv"
    code, so, _ = replay([str(f), "--rate", "200", "--tracks-out", str(tr)], capsys)
    assert code == 0, so
    t = track_times(tr)
    # 13,954 frames at 200/s start 69.8 s before the end; the sane counter spans 61 s from there
    assert t.min() >= end - 70 and t.max() <= end - 8, (t.min() - end, t.max() - end)


def test_ais_without_tag_blocks_stops_and_replays_with_start_and_rate(tmp_path, capsys):
    f = tmp_path / "receiver.nmea"
    f.write_bytes(b"\n".join(bare(x) for x in ais_lines(60)) + b"\n")
    code, so, err = replay([str(f)], capsys)
    assert code == 2 and so == ""
    assert "receiver.nmea: 60 of the first 60 lines carry no time" in err, err
    tr = tmp_path / "t.csv"
    code, so, _ = replay([str(f), "--start-time", "2024-01-01T00:00:00Z", "--rate", "0.1",
                          "--tracks-out", str(tr)], capsys)  # fmt: skip
    assert code == 0 and "60 accepted, 0 rejected" in so, so
    t = track_times(tr)
    t0 = parse_time("2024-01-01T00:00:00Z")
    assert t.min() == t0 and t.max() == pytest.approx(t0 + 590)  # line 60 at 59 / 0.1 s


def test_ais_with_a_few_stray_lines_replays_them_counted(tmp_path, capsys):
    lines = ais_lines(40)
    f = tmp_path / "mostly_tagged.nmea"
    f.write_bytes(b"\n".join([bare(lines[0]), bare(lines[1]), *lines[2:]]) + b"\n")
    code, so, _ = replay([str(f)], capsys)
    assert code == 0, so
    assert "38 accepted, 2 rejected: ais.no_time (2)" in so


def test_far_future_line_in_a_recording_is_rejected_at_the_door(tmp_path, capsys):
    lines = ais_lines(20)
    future = ais_lines(1, t0=datetime(2300, 1, 1, tzinfo=UTC).timestamp())
    f = tmp_path / "forged.nmea"
    f.write_bytes(b"\n".join([*lines[:10], *future, *lines[10:]]) + b"\n")
    tr = tmp_path / "t.csv"
    code, so, _ = replay([str(f), "--tracks-out", str(tr)], capsys)
    assert code == 0, so
    assert "20 accepted, 1 rejected: time.ahead_of_clock (1)" in so
    assert track_times(tr).max() < 1.8e9


def test_directory_replays_every_file_sorted(tmp_path, capsys):
    d = tmp_path / "feeds"
    d.mkdir()
    lines = ais_lines(30)
    (d / "b.nmea").write_bytes(b"\n".join(lines[15:]) + b"\n")
    with gzip.open(d / "a.nmea.gz", "wb") as fh:
        fh.write(b"\n".join(lines[:15]) + b"\n")
    code, so, _ = replay([str(d)], capsys)
    assert code == 0, so
    assert so.startswith("a.nmea.gz (ais-nmea), b.nmea (ais-nmea): 30 accepted, 0 rejected")


def test_gz_progress_counts_compressed_bytes(tmp_path):
    f = tmp_path / "x.nmea.gz"
    with gzip.open(f, "wb") as fh:
        fh.write(b"\n".join(ais_lines(3000)) + b"\n")
    seen: list[int] = []
    n = sum(len(d.reports) for d in read_file(f, Rejects(), progress=seen.append,
                                               chunk_size=1 << 14))  # fmt: skip
    assert n == 3000 and len(seen) > 1
    assert sum(seen) == f.stat().st_size


def test_avr_mode_ac_is_unused_and_lines_follow_the_rate():
    from picket.codec import modes_encode

    frames = modes_encode.airborne_position(np.full(4, 0x4CA7B5), 59.5, 24.5, 1000.0,
                                            np.arange(4) & 1)  # fmt: skip
    text = b"".join(b"*" + bytes(f).hex().upper().encode() + b";\n*7700;\n" for f in frames)
    rej = Rejects()
    dec = _avr(rej, Clock(start=1.7e9, rate=2.0))
    r = Reports.concat([dec.feed(text).reports, dec.flush().reports])
    assert rej.unused["Mode A/C replies"] == 4 and rej.rejected == 0, rej.summary()
    assert r.time.tolist() == [1.7e9 + (k - 1) / 2.0 for k in (1, 3, 5, 7)]  # by line
    rej = Rejects()
    _avr(rej, None).feed(text)
    assert rej.counts["avr.no_time"] == 4  # no clock, no start: rejected, never 1970


def _avr(rej: Rejects, clock: Clock | None):
    from picket.sources.modes_text import AvrDecoder

    return AvrDecoder(rej, "rx.avr", clock=clock)


def test_rate_must_be_positive(tmp_path, capsys):
    f = tmp_path / "x.nmea"
    f.write_bytes(b"\n".join(ais_lines(2)) + b"\n")
    code, _, err = replay([str(f), "--rate", "0"], capsys)
    assert code == 2 and "--rate" in err


def test_summary_names_unused_input_apart_from_rejects():
    rej = Rejects()
    rej.accept(3)
    rej.reject("x.bad", "f:1")
    rej.note_unused("Mode A/C replies", 7)
    assert rej.summary() == "3 accepted, 1 rejected: x.bad (1); 7 Mode A/C replies (not used)"
    assert rej.rejected == 1
    assert re.search(r"(\d+) accepted, (\d+) rejected(.*)", rej.summary())
