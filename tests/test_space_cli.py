"""`picket space ...` end to end on small inputs built in a temporary directory."""

from __future__ import annotations

import argparse
import csv
import json

import numpy as np
import pytest

from picket.cli.space_cmd import add_parser


def _run(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    add_parser(p.add_subparsers(dest="cmd"))
    a = p.parse_args(["space", *argv])
    return a.func(a)


@pytest.mark.realdata
def test_screen_writes_csv_cdms_and_alerts(shared_data, tmp_path, capsys):
    # a small catalogue: the 150 objects nearest 550 km altitude from the 2024 file
    lines = (shared_data / "space/celestrak_omm_catalog_20241101.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    mm = np.array([float(r.split(",")[-14]) for r in rows])
    near = np.argsort(np.abs(mm - 15.05))[:150]
    cat = tmp_path / "cat.csv"
    cat.write_text("\n".join([header, *(rows[i] for i in sorted(near))]) + "\n")
    out, alerts, cdm = tmp_path / "c.csv", tmp_path / "a.jsonl", tmp_path / "cdm"
    rc = _run(["screen", str(cat), "--days", "1", "--out", str(out), "--alerts-out", str(alerts),
               "--alert-km", "5", "--cdm-dir", str(cdm), "--workers", "1"])  # fmt: skip
    assert rc == 0
    rows_out = list(csv.DictReader(out.open()))
    assert rows_out and all(float(r["TCA_RANGE"]) <= 5 for r in rows_out)
    assert len(list(cdm.glob("*.cdm"))) == len(rows_out)
    al = [json.loads(x) for x in alerts.read_text().splitlines()]
    assert {a["kind"] for a in al} == {"space.conjunction"}
    assert {a["subject"] for a in al} == {f"norad:{r['NORAD_CAT_ID_1']}" for r in rows_out}
    assert "pairs:" in capsys.readouterr().out


@pytest.mark.realdata
def test_manoeuvres_command(shared_data, tmp_path):
    out, alerts = tmp_path / "m.csv", tmp_path / "m.jsonl"
    rc = _run(["manoeuvres", str(shared_data / "space/iss_tle_history_2021_2022.txt"),
               "--out", str(out), "--alerts-out", str(alerts)])  # fmt: skip
    assert rc == 0
    rows = list(csv.DictReader(out.open()))
    al = [json.loads(x) for x in alerts.read_text().splitlines()]
    assert len(rows) == len(al) >= 9
    assert any(r["AFTER"].startswith("2021-11-11") for r in rows)


def test_screen_missing_file(tmp_path):
    assert _run(["screen", str(tmp_path / "none.tle")]) == 2
