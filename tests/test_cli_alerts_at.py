"""`picket alerts --at T`: each alert as it was at T, from the store's alert events."""

from __future__ import annotations

import json

import pytest

from picket.cli.main import main
from picket.model.alerts import iso, parse_time


@pytest.mark.realdata
def test_alerts_at_shows_the_past_as_it_was(shared_data, tmp_path, capsys):
    store = tmp_path / "s.sqlite"
    cables = shared_data / "geo" / "submarine_cables_telegeography_2021.geojson"
    assert main([
        "replay", str(shared_data / "ais" / "dma_212123000_drift_bornholm_20141002.nmea"),
        "--infrastructure", str(cables), "--store", str(store), "--quiet", "--no-progress",
    ]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["alerts", "--store", str(store), "--json"]) == 0
    final = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    closed = [a for a in final if a["status"] == "closed" and a["closed_time"]]
    assert closed, final
    a = closed[0]
    t_open, t_close = parse_time(a["time"]), parse_time(a["closed_time"])
    assert t_close > t_open

    def at(t: float) -> dict[str, dict]:
        assert main(["alerts", "--store", str(store), "--json", "--at", iso(t)]) == 0
        return {d["id"]: d for d in map(json.loads, capsys.readouterr().out.splitlines())}

    assert a["id"] not in at(t_open - 60)  # not yet opened
    mid = at((t_open + t_close) / 2)
    assert mid[a["id"]]["status"] == "open" and not mid[a["id"]].get("closed_time")
    assert at(t_close + 60)[a["id"]]["status"] == "closed"
