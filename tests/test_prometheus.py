"""Prometheus exposition: the numbers of /api/metrics, renamed, parsed back with
prometheus-client's own parser."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from picket.serve.prometheus import render

BODY = {
    "reports": 12345, "reports_per_s": 812.5, "accepted": 12000, "rejected": 7,
    "rejects": {"ais.bad_checksum": 5, "time.ahead_of_clock": 2}, "unused": {"beast.mode_ac": 40},
    "lag_s": 1.25, "outputs": {"tak": {"kind": "cot", "sent": 900, "dropped_queue_full": 3,
                                       "dropped_send_failed": 1, "dropped_at_close": 0}},
    "ws_clients": 2, "sse_clients": 1, "ws_dropped_slow": 4, "refused": {"ws_cap": 6},
    "encode_ms": 4.5, "encode_cpu_ms": 4.0, "frame_bytes": 302532, "mode": "live",
}  # fmt: skip


def samples() -> dict[tuple[str, tuple], float]:
    text = render(BODY, {"air": 300, "maritime": 1400}, {"maritime.ais_gap": 2}).decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_every_number_is_exposed_under_its_name():
    s = samples()
    assert s[("picket_reports_total", ())] == 12345
    assert s[("picket_input_accepted_total", ())] == 12000
    assert s[("picket_input_rejected_total", (("reason", "ais.bad_checksum"),))] == 5
    assert s[("picket_input_rejected_total", (("reason", "time.ahead_of_clock"),))] == 2
    assert s[("picket_input_unused_total", (("what", "beast.mode_ac"),))] == 40
    assert s[("picket_event_lag_seconds", ())] == 1.25
    assert s[("picket_tracks", (("domain", "maritime"),))] == 1400
    assert s[("picket_alerts_open", (("kind", "maritime.ais_gap"),))] == 2
    assert s[("picket_output_sent_total", (("kind", "cot"), ("output", "tak")))] == 900
    assert s[("picket_output_dropped_total",
              (("kind", "cot"), ("output", "tak"), ("why", "queue_full")))] == 3  # fmt: skip
    assert s[("picket_ws_dropped_slow_total", ())] == 4
    assert s[("picket_refused_total", (("what", "ws_cap"),))] == 6
    assert s[("picket_frame_encode_seconds", ())] == pytest.approx(0.0045)
    assert s[("picket_frame_bytes", ())] == 302532


def test_missing_numbers_are_left_out_not_zeroed():
    text = render({"reports": 1, "lag_s": None}, {}, {}).decode()
    names = {s.name for f in text_string_to_metric_families(text) for s in f.samples}
    assert "picket_reports_total" in names and "picket_event_lag_seconds" not in names


def test_a_real_server_scraped_agrees_with_api_metrics(shared_data, tmp_path):
    """A real AIS capture replayed with the server attached; `/metrics` scraped over HTTP and
    parsed by prometheus-client says what `/api/metrics` says."""
    import httpx

    from picket.config import Config
    from picket.pipeline.assemble import assemble
    from picket.pipeline.replay import replay_files
    from picket.serve.server import serve_assembly

    capture = shared_data / "ais/aislib_stream_example_20100611.nmea"
    asm = assemble(Config(store_path=str(tmp_path / "p.sqlite"), base=tmp_path), console=False)
    srv = serve_assembly(asm, port=0)
    try:
        replay_files(asm.pipeline, [(capture, "ais-nmea")], asm.rejects)
        asm.rejects.flush()
        r = httpx.get(srv.url + "/metrics", timeout=10)
        m = httpx.get(srv.url + "/api/metrics", timeout=10).json()
    finally:
        srv.stop()
        asm.close()
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    s = {}
    for fam in text_string_to_metric_families(r.text):
        for x in fam.samples:
            s[(x.name, tuple(sorted(x.labels.items())))] = x.value
    assert s[("picket_input_accepted_total", ())] == m["accepted"] > 0
    got = {dict(k[1])["reason"]: v for k, v in s.items() if k[0] == "picket_input_rejected_total"}
    assert got == m["rejects"] and got
    tracks = sum(v for k, v in s.items() if k[0] == "picket_tracks")
    assert tracks == m["tracks"] > 0
