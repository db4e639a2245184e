"""Readers count bad input quietly and say their own faults: a malformed row, archive or
file is a counted reject and no log line; a decoder bug is counted too, and logged (the
first with its traceback at error, the rest at debug); `picket --log-level` sets it up."""

from __future__ import annotations

import io
import logging
import zipfile

import pytest

from picket.model.rejects import Rejects


def _loud(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_malformed_gpsjam_rows_are_counted_not_logged(caplog):
    from picket.em import gpsjam_csv

    text = "\n".join(["hex,count_good_aircraft,count_bad_aircraft",
                      "841f059ffffffff,10,2",  # a real res-4 cell
                      "nothex,1,1", "841f059ffffffff,x,1", "841f059ffffffff",
                      "841f059ffffffff,3,-1"])  # fmt: skip
    rej = Rejects()
    with caplog.at_level(logging.DEBUG, logger="picket"):
        cc = gpsjam_csv.parse(text, rej, "t.csv")
    assert len(cc.cells) == 1
    assert rej.counts["gpsjam.bad_row"] == 4
    assert not _loud(caplog)


def _kmz(patch: str) -> bytes:
    """A KMZ holding doc.kml, made encrypted (flag bit 0) or with an unknown compression."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        z.writestr("doc.kml", "<kml><Document/></kml>")
    data = bytearray(buf.getvalue())
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    if patch == "encrypted":
        data[local + 6] |= 1
        data[central + 8] |= 1
    else:  # compression method 99 (AES in WinZip's scheme): zipfile cannot read it
        data[local + 8:local + 10] = (99).to_bytes(2, "little")
        data[central + 10:central + 12] = (99).to_bytes(2, "little")
    return bytes(data)


@pytest.mark.parametrize("patch", ["encrypted", "compression"])
def test_unreadable_kmz_is_counted_not_logged(caplog, patch):
    from picket.geo.zone_io import parse_kmz

    data = _kmz(patch)
    with zipfile.ZipFile(io.BytesIO(data)) as z, pytest.raises((RuntimeError,
                                                                NotImplementedError)):
        z.read("doc.kml")  # the archive really is unreadable
    rej = Rejects()
    with caplog.at_level(logging.DEBUG, logger="picket"):
        assert parse_kmz(data, "bad.kmz", rej) == []
    assert rej.counts["zones.bad_kmz"] == 1
    assert not _loud(caplog)


def test_a_file_that_is_not_parquet_is_counted_not_logged(caplog):
    pytest.importorskip("pyarrow")
    from picket.sources.opensky_parquet import FMT, OpenSkyParquetDecoder

    rej = Rejects()
    dec = OpenSkyParquetDecoder(rej, "states.parquet")
    with caplog.at_level(logging.DEBUG, logger="picket"):
        dec.feed(b"PAR1 this is not a parquet file at all PAR1")
        out = dec.flush()
    assert len(out.reports) == 0
    assert rej.counts[f"{FMT}.bad_file"] == 1
    assert not _loud(caplog)


def test_a_beast_decoder_bug_is_counted_and_logged_once_with_its_traceback(caplog):
    from picket.sources.beast import BeastDecoder

    class Buggy(BeastDecoder):
        """Stands for a bug in the decoder: every chunk raises inside it."""

        def _feed(self, data: bytes, final: bool):
            raise ZeroDivisionError("a bug")

    rej = Rejects()
    dec = Buggy(rej, "feed1", base_time=0.0)
    with caplog.at_level(logging.DEBUG, logger="picket.sources.beast"):
        for _ in range(3):
            assert len(dec.feed(b"\x1a2" + bytes(13)).reports) == 0
        dec.flush()
    assert rej.counts["beast.internal_error"] == 4
    mine = [r for r in caplog.records if r.name == "picket.sources.beast"]
    assert [r.levelname for r in mine] == ["ERROR", "DEBUG", "DEBUG", "DEBUG"]
    assert mine[0].exc_info and mine[0].exc_info[0] is ZeroDivisionError
    assert "feed1" in mine[0].getMessage()
    assert not any(r.exc_info for r in mine[1:])


@pytest.fixture
def clean_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    root.setLevel(level)
    for name in ("picket", "picket.reader_probe"):
        logging.getLogger(name).setLevel(logging.NOTSET)


def test_the_cli_sets_the_log_level(clean_logging, capsys, monkeypatch):
    from picket.cli.main import main

    monkeypatch.delenv("PICKET_LOG", raising=False)
    assert main(["--log-level", "error,picket.reader_probe=debug", "config"]) == 0
    capsys.readouterr()
    logging.getLogger("picket.reader_probe").debug("probe detail")
    logging.getLogger("picket.other_probe").warning("below error: not shown")
    err = capsys.readouterr().err
    assert "D reader_probe: probe detail" in err
    assert "other_probe" not in err
    assert main(["--log-level", "loud", "config"]) == 0
    assert "the log level: 'loud' is not a log level" in capsys.readouterr().err
