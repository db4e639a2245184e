"""`picket run` path: a radar's ASTERIX over a real UDP socket, its site from picket.toml."""

from __future__ import annotations

import socket
import threading
import time

from picket.config import from_dict
from picket.pipeline.assemble import assemble
from picket.pipeline.live import run_live
from tests.test_asterix import _cat034_site, _cat048_plot
from tests.test_live import free_port


def test_udp_radar_feed_placed_by_the_configured_site(tmp_path):
    """Each datagram holds whole ASTERIX data blocks (nothing may be added between them);
    radar 7/9 stands where [asterix] sites says, radar 3/4 nowhere: its plot is counted."""
    port = free_port(socket.SOCK_DGRAM)
    cfg = from_dict({
        "store": {"path": str(tmp_path / "p.sqlite")},
        "sources": [{"name": "radar", "format": "asterix", "udp": f"127.0.0.1:{port}"}],
        "asterix": {"sites": [{"sac": 7, "sic": 9, "lat": 45.0, "lon": 15.0, "height_m": 500}]},
    }, base=tmp_path)  # fmt: skip
    asm = assemble(cfg, console=False)
    stop = threading.Event()
    logs: list[str] = []
    th = threading.Thread(target=run_live, args=(asm, cfg.sources, tmp_path),
                          kwargs={"batch_s": 0.2, "stop": stop, "log": logs.append,
                                  "max_seconds": 20.0, "decoder_args": cfg.decoder_args()},
                          daemon=True)  # fmt: skip
    th.start()
    deadline = time.monotonic() + 10
    while not any("UDP on" in x for x in logs) and time.monotonic() < deadline:
        time.sleep(0.05)
    tod = time.time() % 86400 - 1.0  # a second ago: the clock dates the raw blocks
    datagrams = [
        _cat048_plot(7, 9, tod, 40.0, 90.0, 1200, 350, addr=0x4CA7B5),
        _cat048_plot(7, 9, tod + 0.5, 20.0, 180.0, 7000, 100),
        _cat048_plot(3, 4, tod, 10.0, 0.0, 1200, 50),
        _cat034_site(8, 8, 46.0, 16.0, 10),  # another radar's service message
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, ("127.0.0.1", port))
            time.sleep(0.05)
    while asm.rejects.accepted < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    stop.set()
    th.join(timeout=15)
    assert not th.is_alive()
    assert asm.rejects.accepted == 2, asm.rejects.summary()
    assert asm.rejects.counts == {"asterix.unknown_site": 1}, asm.rejects.summary()
    tracks = asm.pipeline.tracks
    subjects = tracks["subject"][: len(tracks)].tolist()
    assert 0x2 << 48 | 0x4CA7B5 in subjects  # the identified plot became an icao: track
    asm.close()
