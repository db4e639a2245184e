"""Issue #3's real-data proof: the Bornholm drift file against TeleGeography's cables."""

import json

import pytest

from picket.cli.main import main


@pytest.mark.realdata
def test_drifting_vessel_raises_drift_with_c_lion1_evidence(shared_data, tmp_path, capsys):
    out = tmp_path / "a.jsonl"
    cables = shared_data / "geo" / "submarine_cables_telegeography_2021.geojson"
    code = main([
        "replay", str(shared_data / "ais" / "dma_212123000_drift_bornholm_20141002.nmea"),
        "--infrastructure", str(cables),
        "--alerts-out", str(out), "--no-store", "--quiet", "--no-progress",
    ])  # fmt: skip
    assert code == 0
    alerts = [json.loads(x) for x in out.read_text().splitlines()]
    drift = [a for a in alerts if a["kind"] == "maritime.drift"]
    assert drift and all(a["subject"] == "mmsi:212123000" for a in drift)
    near = [
        a for a in alerts if (a["evidence"].get("infrastructure") or {}).get("name") == "c-lion1"
    ]
    assert near, alerts
    infra = near[0]["evidence"]["infrastructure"]
    assert infra["distance_m"] < 500 and near[0]["severity"] == "critical"
    assert "STOC MARCIA" in near[0]["summary"]  # identity from the type 5 statics
