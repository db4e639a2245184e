"""`picket replay` on every real capture, and on corrupt input: nothing crashes or is lost."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from picket.cli.main import main
from tests.conftest import SHARED

# gpsjam daily aggregates are a map product, read by `picket jamming`, not a feed.
NOT_FEEDS = ("gpsjam_",)
# formats picket cannot decode yet, rejected with a reason (ASTERIX CAT021/062 now decode)
UNSUPPORTED: set[str] = set()
# Remote ID over Bluetooth 5, recorded indoors: the drone never had a GNSS fix, so its messages
# carry identity only (serial, operator id) and every location message is counted as no_fix.
IDENTITY_ONLY = {"air/remoteid_bt5.pcapng"}


def feed_files() -> list[str]:
    if not SHARED.exists():
        return []
    out = []
    for sub in ("ais", "air"):
        for p in sorted((SHARED / sub).iterdir()):
            if not p.name.startswith(NOT_FEEDS):
                out.append(f"{sub}/{p.name}")
    return out


def replay(args: list[str], capsys) -> tuple[int, str]:
    code = main(["replay", *args, "--no-store", "--quiet", "--no-progress"])
    return code, capsys.readouterr().out


@pytest.mark.realdata
@pytest.mark.parametrize("name", feed_files() or ["(no shared data)"])
def test_every_real_feed_replays(name, shared_data, capsys, tmp_path):
    path = shared_data / name
    args = [str(path), "--alerts-out", str(tmp_path / "a.jsonl")]
    if "beast_capture" in name:
        args += ["--start-time", "2018-04-03T19:02:28Z"]
    elif name.endswith(".beast"):  # no date of its own nor in its name: replay needs a start
        args += ["--start-time", "2019-01-01T00:00:00Z"]
    elif name.endswith(".ast"):  # raw ASTERIX blocks: times of day only
        args += ["--start-time", "2016-05-05T08:00:00Z"]
    code, out = replay(args, capsys)
    assert code == 0, out
    m = re.search(r"(\d+) accepted, (\d+) rejected(.*)", out)
    assert m, out
    if name in UNSUPPORTED:  # read, counted, kept: a category no reader decodes yet
        assert int(m.group(1)) == 0 and "unsupported" in m.group(3), out
        return
    if name in IDENTITY_ONLY:
        assert "remoteid.no_fix" in m.group(3), out
        return
    assert int(m.group(1)) > 0, out
    n_reports = int(re.search(r"(\d+) reports", out.splitlines()[-1]).group(1))
    assert n_reports > 0, out


def nmea(body: str) -> bytes:
    cs = 0
    for ch in body.encode():
        cs ^= ch
    return f"!{body}*{cs:02X}\n".encode()


def test_corrupt_input_is_counted_and_dead_lettered(tmp_path, capsys):
    import numpy as np

    from picket.codec.ais_encode import encode_positions

    good = (
        encode_positions(
            np.array([1.7e9]),
            np.array([230123000]),
            np.array([59.5]),
            np.array([24.5]),
            np.array([10.0]),
            np.array([90.0]),
            np.array([90.0]),
            np.array([0]),
        )[0].rstrip(b"\r\n")
        + b"\n"
    )
    body = good[good.index(b"!") + 1 : good.rindex(b"*")].decode()
    bad_sum = good[: good.rindex(b"*") + 1] + b"00\n"
    fields = body.split(",")
    fields[5] = fields[5][:10]  # a type 1 payload cut to 60 bits, with a valid checksum
    truncated = nmea(",".join(fields))
    garbage = bytes(range(1, 256)).replace(b"\n", b"") + b"\n"
    f = tmp_path / "mixed.nmea"
    f.write_bytes(good * 3 + bad_sum + truncated + garbage + good)
    store = tmp_path / "s" / "picket.sqlite"
    code = main(["replay", str(f), "--format", "ais-nmea", "--store", str(store), "--quiet",
                 "--no-progress"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    m = re.search(r"(\d+) accepted, (\d+) rejected: (.*)", out)
    assert (int(m.group(1)), int(m.group(2))) == (4, 3), out
    assert "ais.bad_checksum (1)" in m.group(3) and "ais.truncated (1)" in m.group(3), out
    dead = [json.loads(x) for x in (store.parent / "dead-letter.jsonl").read_text().splitlines()]
    assert len(dead) == 3
    assert all(d["reason"].startswith("ais.") for d in dead)
    assert all(d["where"].startswith("mixed.nmea:") for d in dead)
    assert sorted(int(d["where"].split(":")[1]) for d in dead) == [4, 5, 6]


def test_unknown_format_is_a_clear_error(tmp_path, capsys):
    f = tmp_path / "x.bin"
    f.write_bytes(b"\x00\x01 not a known format")
    assert main(["replay", str(f), "--no-store", "--quiet"]) == 2
    assert "unknown format" in capsys.readouterr().err


def test_missing_file_is_a_clear_error(capsys):
    assert main(["replay", "/nonexistent/x.nmea", "--no-store", "--quiet"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_tests_package_importable():
    assert Path(__file__).parent.joinpath("conftest.py").exists()
