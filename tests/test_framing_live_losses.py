"""Nothing on the live path is lost uncounted: the dead letter's cap, the inbox between
feed threads and the decoder loop (TCP blocks, UDP drops and counts), shutdown.

Real loopback sockets and the real `run_live`; the decoder loop is slowed by a real sink
that takes its time (as a slow output would), so the inbox fills.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time

from picket.config import Config, SourceConfig
from picket.model.rejects import Rejects
from picket.pipeline.assemble import assemble
from picket.pipeline.live import run_live
from tests.test_live import _sbs, _wait_log, free_port


def test_dead_letter_is_capped_and_rotated_and_drops_are_counted(tmp_path):
    dl = tmp_path / "dead-letter.jsonl"
    rej = Rejects(dl, max_bytes=4096, backups=2)
    n = 2000
    for k in range(n):
        rej.reject("sbs.bad_line", f"src:{k}", b"x" * 40)
    rej.close()
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == ["dead-letter.jsonl", "dead-letter.jsonl.1",
                                       "dead-letter.jsonl.2"]  # fmt: skip
    assert all(f.stat().st_size <= 4096 for f in files)
    kept = [json.loads(x) for f in files for x in f.read_text().splitlines()]
    assert rej.counts["sbs.bad_line"] == n  # the count itself is exact
    assert rej.dead_letter_dropped == n - len(kept) > 0
    assert rej.dead_letter_rotations > 2
    # the newest records are the ones kept
    assert max(int(r["where"].split(":")[1]) for r in kept) == n - 1
    assert f"{rej.dead_letter_dropped} dead letters dropped" in rej.summary()
    d = rej.as_dict()
    assert d["dead_letter_dropped"] == rej.dead_letter_dropped and d["rejected"] == n
    assert json.dumps(rej.metrics())  # plain data for /api/metrics


def test_dead_letter_without_rotation_stops_at_the_cap(tmp_path):
    dl = tmp_path / "dl.jsonl"
    dl.write_text('{"reason": "old", "where": "earlier run"}\n' * 50)  # a file left behind
    rej = Rejects(dl, max_bytes=4096, backups=0)
    for k in range(500):
        rej.reject("ais.malformed", f"src:{k}", "!AIVDM,garbage")
    rej.close()
    assert dl.stat().st_size <= 4096 and not (tmp_path / "dl.jsonl.1").exists()
    written = len(dl.read_text().splitlines()) - 50
    assert rej.dead_letter_dropped == 500 - written > 0


class SlowSink:
    """A sink that takes `delay` seconds a batch: the decoder loop falls behind."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def emit(self, events) -> None:
        return None

    def tracks(self, ctx) -> None:
        time.sleep(self.delay)

    def close(self) -> None:
        return None


def _run(tmp_path, sources, inbox_max_bytes: int, delay: float):
    asm = assemble(Config(store_path=None), console=False, store=False,
                   extra_sinks=[SlowSink(delay)])  # fmt: skip
    stop, logs, stats = threading.Event(), [], {}
    th = threading.Thread(target=run_live, args=(asm, sources, tmp_path),
                          kwargs={"batch_s": 0.05, "stop": stop, "log": logs.append,
                                  "max_seconds": 60, "stats": stats,
                                  "inbox_max_bytes": inbox_max_bytes}, daemon=True)  # fmt: skip
    th.start()
    return asm, stop, logs, stats, th


def test_udp_overflow_is_dropped_and_counted_tcp_waits_and_loses_nothing(tmp_path):
    udp, tcp = free_port(socket.SOCK_DGRAM), free_port()
    sources = [SourceConfig(name="udp-in", format="sbs", udp=f"127.0.0.1:{udp}"),
               SourceConfig(name="tcp-in", format="sbs", listen_tcp=f"127.0.0.1:{tcp}")]
    asm, stop, logs, stats, th = _run(tmp_path, sources, inbox_max_bytes=4096, delay=0.3)
    _wait_log(logs, "UDP on")
    _wait_log(logs, "listening on")
    now = time.time() - 100
    lines = [_sbs("4CA7B5", now + k * 0.01, 59.5 + k * 1e-4) for k in range(3000)]
    tcp_bytes = b"".join(lines)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        for ln in lines[:1500]:
            u.sendto(ln, ("127.0.0.1", udp))
    with socket.create_connection(("127.0.0.1", tcp)) as c:
        c.sendall(tcp_bytes)  # blocks while the inbox is full: TCP flow control
    deadline = time.monotonic() + 40
    while stats.get("sources", {}).get("tcp-in", {}).get("bytes_decoded", 0) < len(tcp_bytes) \
            and time.monotonic() < deadline:  # fmt: skip
        time.sleep(0.1)
    stop.set()
    th.join(timeout=20)
    assert not th.is_alive()
    u_, t_ = stats["sources"]["udp-in"], stats["sources"]["tcp-in"]
    assert stats["queue_peak_bytes"] <= 4096 + (1 << 16)
    # TCP: every byte decoded, none dropped; the feed waited for room
    assert t_["bytes_in"] == t_["bytes_decoded"] == len(tcp_bytes), t_
    assert t_["queue_waits"] > 0 and t_["queue_dropped_bytes"] == 0, t_
    # UDP: what found the inbox full is counted; the rest decoded; nothing else missing
    assert u_["queue_dropped_chunks"] > 0, u_
    assert u_["bytes_in"] == u_["bytes_decoded"] + u_["queue_dropped_bytes"] + \
        u_["shutdown_lost_bytes"], u_  # fmt: skip
    # (datagrams the kernel dropped before picket read them never reach `chunks_in`)
    udp_decoded = u_["chunks_in"] - u_["queue_dropped_chunks"] - (u_["shutdown_lost_bytes"] > 0)
    assert asm.rejects.rejected == 0, asm.rejects.summary()
    assert asm.rejects.accepted >= 3000 + udp_decoded - 1, (asm.rejects.summary(), u_)


def test_what_is_queued_at_shutdown_is_decoded_or_counted(tmp_path):
    """Stop while a feeder is still sending into a full inbox: every byte read is either
    decoded or counted as lost at shutdown; decoders are flushed (a cut line is judged)."""
    tcp = free_port()
    sources = [SourceConfig(name="tcp-in", format="sbs", listen_tcp=f"127.0.0.1:{tcp}")]
    asm, stop, logs, stats, th = _run(tmp_path, sources, inbox_max_bytes=2048, delay=0.5)
    _wait_log(logs, "listening on")
    now = time.time() - 100
    data = b"".join(_sbs("4CA7B5", now + k * 0.01, 59.5) for k in range(100_000))

    def feeder() -> None:
        try:
            with socket.create_connection(("127.0.0.1", tcp)) as c:
                c.sendall(data)
        except OSError:
            pass  # the run stopped under it: expected

    threading.Thread(target=feeder, daemon=True).start()
    time.sleep(1.5)
    stop.set()
    th.join(timeout=30)
    assert not th.is_alive()
    s = stats["sources"]["tcp-in"]
    assert 0 < s["bytes_in"] < len(data), s
    assert s["bytes_in"] == s["bytes_decoded"] + s["shutdown_lost_bytes"], s
    assert s["decoders_open"] == 0, s
    # every complete line decoded was accepted; the one cut by the stop is a counted reject
    assert asm.rejects.rejected <= 1, asm.rejects.summary()


def test_dead_letter_cap_comes_from_the_config(tmp_path):
    from picket.config import from_dict

    cfg = from_dict({"store": {"path": str(tmp_path / "p.sqlite"), "dead_letter_max_mb": 1,
                               "dead_letter_files": 0}}, base=tmp_path)  # fmt: skip
    asm = assemble(cfg, console=False)
    try:
        assert asm.rejects.max_bytes == 1 << 20 and asm.rejects.backups == 0
        assert asm.rejects.as_dict()["dead_letter_max_bytes"] == 1 << 20
    finally:
        asm.close()
    default = assemble(Config(store_path=None), console=False, store=False)
    assert default.rejects.max_bytes == 64 << 20 and default.rejects.backups == 4


def test_connections_past_the_listener_cap_are_refused_and_counted(tmp_path, monkeypatch):
    import picket.pipeline.live as live

    monkeypatch.setattr(live, "MAX_CONNECTIONS", 2)
    port = free_port()
    src = SourceConfig(name="sbs-in", format="sbs", listen_tcp=f"127.0.0.1:{port}")
    asm, stop, logs, stats, th = _run(tmp_path, [src], inbox_max_bytes=1 << 20, delay=0.0)
    _wait_log(logs, "listening on")
    conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    deadline = time.monotonic() + 10
    while stats.get("sources", {}).get("sbs-in", {}).get("refused", 0) < 1 and \
            time.monotonic() < deadline:  # fmt: skip
        time.sleep(0.05)
    for c in conns:
        with contextlib.suppress(OSError):  # the refused one may be reset already
            c.sendall(_sbs("4CA7B5", time.time() - 5, 59.5))
        c.close()
    deadline = time.monotonic() + 10
    while asm.rejects.accepted < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    stop.set()
    th.join(timeout=15)
    s = stats["sources"]["sbs-in"]
    assert s["connections"] == 2 and s["refused"] == 1, s
    assert asm.rejects.accepted == 2, asm.rejects.summary()  # the refused one sent nothing in
