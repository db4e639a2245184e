"""/api/metrics (and /metrics) carry the live path's counters and the dead-letter cap's."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from picket.config import Config, SourceConfig
from picket.pipeline.assemble import assemble
from picket.pipeline.live import run_live
from picket.serve.server import serve_assembly


@pytest.mark.realdata
def test_live_counters_reach_the_metrics(shared_data, tmp_path):
    src = SourceConfig(name="ais-file", format="ais-nmea", follow=True,
                       file=str(shared_data / "ais/dma_212123000_drift_bornholm_20141002.nmea"))
    asm = assemble(Config(store_path=str(tmp_path / "p.sqlite"), base=tmp_path), console=False)
    srv = serve_assembly(asm, port=0)
    stop = threading.Event()
    th = threading.Thread(target=run_live, args=(asm, [src], tmp_path),
                          kwargs={"batch_s": 0.2, "stop": stop, "log": lambda s: None},
                          daemon=True)  # fmt: skip
    th.start()
    try:
        deadline = time.monotonic() + 20
        m: dict = {}
        while time.monotonic() < deadline:
            m = httpx.get(srv.url + "/api/metrics", timeout=5).json()
            live = (m.get("live") or {}).get("sources", {}).get("ais-file", {})
            if live.get("bytes_decoded", 0) > 0:
                break
            time.sleep(0.2)
        size = (shared_data / "ais/dma_212123000_drift_bornholm_20141002.nmea").stat().st_size
        assert m["live"]["sources"]["ais-file"]["bytes_in"] == size
        assert m["dead_letter_dropped"] == 0
        text = httpx.get(srv.url + "/metrics", timeout=5).text
        assert "picket_input_accepted_total" in text
        assert f'picket_live_bytes_in_total{{source="ais-file"}} {float(size)}' in text
    finally:
        stop.set()
        th.join(timeout=10)
        srv.stop()
        asm.close()
