"""A raw feed on the bus: `picket feed --raw` publishes a real DMA AIS capture's bytes,
`picket decode` (one decoder for the feed) cuts and publishes its reports, `picket worker
--role all` stores alerts in PostgreSQL: the same alerts one pipeline makes of the file
(nats-server and PostgreSQL real, on loopback), when the file is cut the same way: an open
alert's `last_time` is its last update, and updates are paced per batch."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from picket.bus.local import LocalNats, LocalPostgres, why_no_nats, why_no_postgres

RUN = "import sys; from picket.cli.main import main; sys.exit(main())"
FILE = "ais/dma_212123000_drift_bornholm_20141002.nmea"


def _key(a):
    return (a.id, a.kind, a.subject, round(a.time, 6), round(a.last_time or a.time, 6),
            a.status, None if a.closed_time is None else round(a.closed_time, 6))  # fmt: skip


def test_raw_feed_decoded_on_the_bus_gives_the_replay_alerts(shared_data, tmp_path):
    why = why_no_nats() or why_no_postgres()
    if why:
        pytest.skip(why)
    from picket.config import Config
    from picket.model.decoded import Decoded
    from picket.model.rejects import Rejects
    from picket.pipeline.assemble import assemble
    from picket.pipeline.replay import run_stream
    from picket.sinks.jsonl import MemorySink
    from picket.sources.registry import at_the_door, get_format
    from picket.store import open_store

    path = shared_data / FILE
    cables = shared_data / "geo/submarine_cables_telegeography_2021.geojson"
    mem = MemorySink()
    asm = assemble(Config(store_path=None), store=False, console=False, line_files=[cables],
                   extra_sinks=[mem])  # fmt: skip
    rej = Rejects(None)
    dec = get_format("ais-nmea").decoder(rej, "bornholm")

    def chunks():  # the file as the raw feed sends it: 20,000 bytes at a time
        data = path.read_bytes()
        for k in range(0, len(data), 20_000):
            out = at_the_door(dec.feed(data[k : k + 20_000]), rej, "bornholm", time.time())
            yield Decoded(out.reports.sorted_by_time(), out.statics)
        yield at_the_door(dec.flush(), rej, "bornholm", time.time())

    run_stream(asm.pipeline, chunks(), 10.0)  # cut in 10 s windows, as the decoder does
    want = sorted(_key(a) for a in mem.alerts.values())
    assert {k[1] for k in want} >= {"maritime.drift"}

    nats, pg = LocalNats(), LocalPostgres()
    try:
        db = pg.new_database()

        def picket(*args: str) -> subprocess.Popen:
            return subprocess.Popen([sys.executable, "-c", RUN, *args, "--nats", nats.url],
                                    cwd=tmp_path, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True)  # fmt: skip

        w = picket("worker", "--role", "all", "--store", db, "--infrastructure", str(cables),
                   "--until-eof")  # fmt: skip
        d = picket("decode", "--source", "bornholm", "--format", "ais-nmea")
        f = picket("feed", "--raw", "--source", "bornholm", "--chunk-bytes", "20000", str(path))
        outs = {name: p.communicate(timeout=120)[0] for name, p in (("feed", f), ("decode", d),
                                                                    ("worker", w))}  # fmt: skip
        assert f.returncode == d.returncode == w.returncode == 0, outs
        assert "chunks to picket.feed.bornholm" in outs["feed"], outs
        st = open_store(db)
        got = sorted(_key(a) for a in st.alert_objects())
        st.close()
    finally:
        nats.close()
        pg.close()
    assert got == want
