"""Outputs from configuration: CoT to real peers on loopback (a TLS listener that requires
and verifies a client certificate, plain TCP, UDP, pytak as the receiver), webhooks to a
real HTTP server, and counters for every event a slow or dead peer could not take.

Certificates are made in each test's tmp dir with `cryptography`: a CA, a server
certificate for 127.0.0.1, a client certificate (PEM pair and a .p12 bundle, as
TAK Server issues them) and a rogue CA the server must refuse.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import ssl
import threading
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
import takproto

from picket.config import ConfigError, from_dict
from picket.model.alerts import Alert
from picket.model.subjects import Namespace, key
from picket.pipeline.assemble import assemble
from picket.serve.picture import Picture
from picket.share import tak
from picket.share.cot import uid_of
from picket.share.outputs import CotSink
from picket.share.outputs_config import check_outputs

x509 = pytest.importorskip("cryptography.x509", reason="certificates need `cryptography`")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.serialization import pkcs12  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

HOSTILE = "EVIL\x00\x07\x1b[31m\ud800<&>\"'\ufffe"  # control characters, a lone surrogate


# certificates --------------------------------------------------------------------------
def _name(cn: str):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(cn, key, issuer_cn, issuer_key, *, ca=False, server=False):
    now = datetime.now(UTC)
    b = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(issuer_cn))
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             issuer_key.public_key()), False))  # fmt: skip
    if ca:
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False,
                                          False), critical=True)  # fmt: skip
    else:
        eku = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        b = b.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
    if server:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)  # fmt: skip
    return b.sign(issuer_key, hashes.SHA256())


def _write(path: Path, *objs) -> Path:
    out = b""
    for o in objs:
        if isinstance(o, x509.Certificate):
            out += o.public_bytes(serialization.Encoding.PEM)
        else:
            out += o.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption())  # fmt: skip
    path.write_bytes(out)
    return path


@pytest.fixture
def pki(tmp_path):
    k = {n: ec.generate_private_key(ec.SECP256R1()) for n in ("ca", "srv", "cli", "rca", "rcli")}
    ca = _cert("picket-test-ca", k["ca"], "picket-test-ca", k["ca"], ca=True)
    srv = _cert("tak-server", k["srv"], "picket-test-ca", k["ca"], server=True)
    cli = _cert("picket-client", k["cli"], "picket-test-ca", k["ca"])
    rca = _cert("rogue-ca", k["rca"], "rogue-ca", k["rca"], ca=True)
    rcli = _cert("rogue-client", k["rcli"], "rogue-ca", k["rca"])
    enc = serialization.BestAvailableEncryption(b"atakatak")
    p = {
        "ca": _write(tmp_path / "ca.pem", ca),
        "server": _write(tmp_path / "server.pem", srv, k["srv"]),
        "cert": _write(tmp_path / "client.pem", cli),
        "key": _write(tmp_path / "client.key", k["cli"]),
        "rogue_ca": _write(tmp_path / "rogue-ca.pem", rca),
        "rogue_cert": _write(tmp_path / "rogue.pem", rcli),
        "rogue_key": _write(tmp_path / "rogue.key", k["rcli"]),
        "p12": tmp_path / "client.p12",
        "truststore": tmp_path / "truststore-root.p12",
    }
    p["p12"].write_bytes(pkcs12.serialize_key_and_certificates(b"picket", k["cli"], cli, [ca],
                                                               enc))  # fmt: skip
    p["truststore"].write_bytes(pkcs12.serialize_key_and_certificates(b"ca", None, ca, None,
                                                                      enc))  # fmt: skip
    return p


# peers ---------------------------------------------------------------------------------
TAKP_OFFER = (b"<?xml version='1.0'?><event version='2.0' uid='protouid-7f3a' type='t-x-takp-v'"
              b" time='2026-01-01T00:00:00Z' start='2026-01-01T00:00:00Z' "
              b"stale='2026-01-01T00:01:00Z' how='m-g'><point lat='0.0' lon='0.0' hae='0.0' "
              b"ce='999999' le='999999'/><detail><TakControl><TakProtocolSupport version='1'/>"
              b"</TakControl></detail></event>")  # fmt: skip


def takp_answer(ok: bool) -> bytes:
    return (b"<event version='2.0' uid='protouid-7f3a' type='t-x-takp-r'"
            b" time='2026-01-01T00:00:00Z' start='2026-01-01T00:00:00Z'"
            b" stale='2026-01-01T00:01:00Z' how='m-g'><point lat='0'"
            b" lon='0' hae='0' ce='999999' le='999999'/><detail><TakControl><TakResponse status='"
            + (b"true" if ok else b"false") + b"'/></TakControl></detail></event>")  # fmt: skip


class StreamPeer:
    """A TCP (or, with `tls`, TLS) server on loopback keeping each connection's bytes.
    TLS: the client must present a certificate our CA signed (as TAK Server's 8089).
    `takp` ("accept" or "refuse"): offer TAK protocol v1 first, as TAK Server does, and
    answer the client's request; the bytes kept are those after the answer."""

    def __init__(self, tls: ssl.SSLContext | None = None, read: bool = True, rcvbuf: int = 0,
                 close_first_after: int = 0, takp: str | None = None):  # fmt: skip
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.tls, self.read, self.close_first_after = tls, read, close_first_after
        self.takp, self.requests = takp, []
        self.conns: list[bytearray] = []
        self.client_cns: list[str] = []
        self.refused: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, conn):
        conn.settimeout(0.2)
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(conn, server_side=True)
            except (ssl.SSLError, OSError) as e:
                self.refused.append(str(e))
                conn.close()
                return
            subject = dict(x[0] for x in conn.getpeercert()["subject"])
            self.client_cns.append(subject["commonName"])
        buf = bytearray()
        if self.takp:
            conn.sendall(TAKP_OFFER)
            while b"</event>" not in buf and not self.stop.is_set():
                try:
                    buf += conn.recv(1 << 16)
                except (TimeoutError, ssl.SSLWantReadError):
                    continue
            req, _, rest = bytes(buf).partition(b"</event>")
            self.requests.append(ET.fromstring(req[req.find(b"<event") :] + b"</event>"))
            conn.sendall(takp_answer(self.takp == "accept"))
            buf = bytearray(rest)
        self.conns.append(buf)
        first = len(self.conns) == 1
        with conn:
            while not self.stop.is_set():
                if not self.read:
                    time.sleep(0.05)
                    continue
                try:
                    chunk = conn.recv(1 << 16)
                except (TimeoutError, ssl.SSLWantReadError):
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
                if first and self.close_first_after and len(buf) >= self.close_first_after:
                    break  # hang up on the client once, mid-stream

    @property
    def data(self) -> bytes:
        return b"".join(bytes(c) for c in self.conns)

    def close(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=5)
        self.sock.close()


def server_tls(pki, ca_key="ca") -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki["server"])
    ctx.verify_mode = ssl.CERT_REQUIRED  # no client certificate, no connection
    ctx.load_verify_locations(pki[ca_key])
    return ctx


def pic_of(n: int, t: float = 1.7e9) -> Picture:
    p = Picture.empty()
    p.time = t
    p.cols.update(
        subject=np.array([key(Namespace.MMSI, 211000001 + i) for i in range(n)], np.int64),
        id=np.arange(n, dtype=np.int64), domain=np.full(n, 2, np.uint8),
        lat=np.linspace(54, 58, n), lon=np.linspace(10, 20, n), alt=np.full(n, np.nan),
        speed=np.ones(n), course=np.full(n, 90.0), heading=np.full(n, np.nan),
        last_time=np.full(n, t), pos_time=np.full(n, t), first_time=np.full(n, t),
        squawk=np.full(n, -1, np.int16), emergency=np.full(n, -1, np.int8),
        nav_status=np.full(n, -1, np.int8), n_reports=np.ones(n, np.int64),
    )  # fmt: skip
    return p


def cot_from_config(tmp_path, **table) -> tuple[CotSink, object]:
    cfg = from_dict({"outputs": [{"kind": "cot", "min_interval_s": 0, "max_rate": 1e9, **table}]},
                    base=tmp_path)  # fmt: skip
    asm = assemble(cfg, console=False, store=False, dead_letter=tmp_path / "dl.jsonl")
    (sink,) = asm.outputs
    # outputs run at the bus's edge, never as the pipeline's sinks (picket.share.edge)
    assert sink in asm.pipeline.edges[0].outputs and sink not in asm.pipeline.sinks
    return sink, asm


def send(sink: CotSink, n: int, hostile: bool = True) -> Picture:
    pic = pic_of(n)
    if hostile:
        sink.labels[0] = HOSTILE
    assert sink.send_picture(pic) == n
    return pic


def wait_for(cond, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return cond()


def xml_events(data: bytes) -> list[ET.Element]:
    text = data.decode("utf-8")
    parts = [p + "</event>" for p in text.split("</event>") if p.strip()]
    return [ET.fromstring(p.split("?>", 1)[-1]) for p in parts]


# TLS with client certificates ----------------------------------------------------------
def test_tls_client_pem_pair_tak_protocol_negotiated(pki, tmp_path):
    """As with TAK Server on 8089: client certificate, the server offers TAK protocol v1,
    picket asks for it under the offer's uid, and streams protobuf frames once accepted."""
    peer = StreamPeer(server_tls(pki), takp="accept")
    try:
        sink, asm = cot_from_config(tmp_path, url=f"tls://127.0.0.1:{peer.port}",
                                    protocol="tak", cert=str(pki["cert"]), key="client.key",
                                    ca="ca.pem")  # fmt: skip
        pic = send(sink, 40)
        sink.close()
        assert wait_for(lambda: len(tak.split_stream(bytearray(peer.data))) >= 40)
    finally:
        peer.close()
    assert peer.client_cns == ["picket-client"] and not peer.refused
    (req,) = peer.requests
    assert req.get("type") == "t-x-takp-q" and req.get("uid") == "protouid-7f3a"
    assert req.find("detail/TakControl/TakRequest").get("version") == "1"
    msgs = tak.split_stream(bytearray(peer.data))
    events = [takproto.parse_proto(bytearray(m)).cotEvent for m in msgs]
    assert [e.uid for e in events] == [uid_of(int(s)) for s in pic["subject"]]
    assert {e.type for e in events} == {"a-n-S"}
    assert all(e.lat == pytest.approx(la) for e, la in zip(events, pic["lat"], strict=True))
    hostile = events[0].detail.contact.callsign
    assert hostile.startswith("EVIL") and "<&>" in hostile and "\x00" not in hostile
    st = sink.stats()
    assert (st["sent"], st["dropped_queue_full"], st["dropped_send_failed"]) == (40, 0, 0)
    assert st["connects"] == 1 and st["destinations"][0]["url"].startswith("tls://")
    assert st["destinations"][0]["wire"] == "tak-stream"
    asm.close()


@pytest.mark.parametrize("server", ["no offer", "refuses", "negotiate = false"])
def test_tak_protocol_falls_back_to_xml_or_streams_at_once(tmp_path, server):
    peer = StreamPeer(takp={"refuses": "refuse"}.get(server))
    try:
        extra = {"negotiate": False} if server == "negotiate = false" else {}
        sink, asm = cot_from_config(tmp_path, url=f"tcp://127.0.0.1:{peer.port}",
                                    protocol="tak", **extra)  # fmt: skip
        sink.outputs[0].offer_wait_s = 0.3
        send(sink, 12)
        sink.close()
        if server == "negotiate = false":
            assert wait_for(lambda: len(tak.split_stream(bytearray(peer.data))) == 12)
        else:
            assert wait_for(lambda: peer.data.count(b"</event>") == 12)
    finally:
        peer.close()
    if server == "negotiate = false":
        msgs = tak.split_stream(bytearray(peer.data))
        assert takproto.parse_proto(bytearray(msgs[0])).cotEvent.uid == "picket.mmsi-211000001"
        assert sink.stats()["destinations"][0]["wire"] == "tak-stream"
    else:
        assert len(xml_events(peer.data)) == 12  # a streaming peer always takes XML
        assert sink.stats()["destinations"][0]["wire"] == "xml"
        assert len(peer.requests) == (1 if server == "refuses" else 0)
    asm.close()


def test_tls_client_p12_bundle_and_truststore_xml(pki, tmp_path, monkeypatch):
    monkeypatch.setenv("PICKET_TEST_P12", "atakatak")
    peer = StreamPeer(server_tls(pki))
    try:
        sink, asm = cot_from_config(tmp_path, url=f"tls://localhost:{peer.port}", protocol="xml",
                                    p12="client.p12", p12_password_env="PICKET_TEST_P12",
                                    ca="truststore-root.p12", ca_password="atakatak",
                                    stale_s=120.0, name="tak")  # fmt: skip
        send(sink, 25)
        sink.close()
        assert wait_for(lambda: peer.data.count(b"</event>") >= 25)
    finally:
        peer.close()
    assert peer.client_cns == ["picket-client"]
    events = xml_events(peer.data)  # well-formed, hostile callsign and all
    assert len(events) == 25
    ev = events[0]
    assert ev.get("type") == "a-n-S" and ev.get("uid") == "picket.mmsi-211000001"
    callsign = ev.find("detail/contact").get("callsign")
    assert callsign.startswith("EVIL") and "\ufffd" in callsign and "<&>\"'" in callsign
    t = datetime.fromisoformat(ev.get("time").replace("Z", "+00:00"))
    stale = datetime.fromisoformat(ev.get("stale").replace("Z", "+00:00"))
    assert (stale - t).total_seconds() == pytest.approx(120.0)
    assert sink.stats()["name"] == "tak" and sink.stats()["sent"] == 25
    asm.close()


@pytest.mark.parametrize("who", ["rogue client", "no client certificate", "rogue server"])
def test_tls_refusals_are_counted_not_sent(pki, tmp_path, who):
    peer = StreamPeer(server_tls(pki))
    table = {"url": f"tls://127.0.0.1:{peer.port}", "ca": str(pki["ca"])}
    if who == "rogue client":
        table.update(cert=str(pki["rogue_cert"]), key=str(pki["rogue_key"]))
    elif who == "rogue server":  # we trust another CA: the server must not be believed
        table.update(cert=str(pki["cert"]), key=str(pki["key"]), ca=str(pki["rogue_ca"]))
    try:
        sink, asm = cot_from_config(tmp_path, **table)
        send(sink, 10, hostile=False)
        (out,) = sink.outputs
        assert wait_for(lambda: out.connect_failures >= 1)
        sink.close()
    finally:
        peer.close()
    st = sink.stats()
    assert st["sent"] == 0 and peer.data == b"" and peer.client_cns == []
    assert st["dropped_send_failed"] + st["dropped_at_close"] == 10
    assert st["last_error"]
    asm.close()


# plain TCP and UDP, pytak as the receiver ----------------------------------------------
def test_plain_tcp_xml_and_udp_tak_mesh_received_by_pytak(tmp_path):
    pytak = pytest.importorskip("pytak", reason="pytak (Apache-2.0) is the reference peer")
    from pytak import asyncio_dgram

    got: dict[str, list] = {"tcp": [], "udp": []}
    ready = threading.Event()
    ports: dict[str, int] = {}
    loop = asyncio.new_event_loop()

    class Collect(pytak.RXWorker):
        def __init__(self, name, cfg, reader):
            super().__init__(asyncio.Queue(), cfg, reader)
            self.name = name

        async def run_once(self):
            data = await self.readcot()
            if data:
                got[self.name].append(data)
            else:
                await asyncio.sleep(0.01)

    stop: list[asyncio.Event] = []

    async def main():
        tasks = []

        async def on_conn(reader, writer):
            tasks.append(asyncio.current_task())
            await Collect("tcp", {"TAK_PROTO": "0"}, reader).run()

        srv = await asyncio.start_server(on_conn, "127.0.0.1", 0)
        ports["tcp"] = srv.sockets[0].getsockname()[1]
        dgram = await asyncio_dgram.bind(("127.0.0.1", 0))
        ports["udp"] = dgram.sockname[1]
        stop.append(asyncio.Event())
        tasks.append(asyncio.create_task(Collect("udp", {"TAK_PROTO": "1"}, dgram).run()))
        ready.set()
        await stop[0].wait()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        dgram.close()
        srv.close()
        await srv.wait_closed()

    th = threading.Thread(target=lambda: loop.run_until_complete(main()), daemon=True)
    th.start()
    assert ready.wait(10)
    cfg = from_dict({"outputs": [
        {"kind": "cot", "url": f"tcp://127.0.0.1:{ports['tcp']}", "min_interval_s": 0},
        {"kind": "cot", "url": f"udp://127.0.0.1:{ports['udp']}", "protocol": "tak",
         "min_interval_s": 0, "domains": ["maritime"], "bbox": [9, 53, 21, 59]},
    ]}, base=tmp_path)  # fmt: skip
    asm = assemble(cfg, console=False, store=False, dead_letter=tmp_path / "dl.jsonl")
    try:
        for sink in asm.outputs:
            send(sink, 30)
            sink.close()
        assert wait_for(lambda: len(got["tcp"]) >= 30 and len(got["udp"]) >= 30)
    finally:
        if stop:
            loop.call_soon_threadsafe(stop[0].set)
        th.join(timeout=10)
        loop.close()
    tcp = [ET.fromstring(x.split(b"?>", 1)[-1]) for x in got["tcp"]]
    assert [e.get("uid") for e in tcp][:3] == ["picket.mmsi-211000001", "picket.mmsi-211000002",
                                               "picket.mmsi-211000003"]  # fmt: skip
    assert tcp[0].find("detail/contact").get("callsign").startswith("EVIL")
    udp = [m.cotEvent for m in got["udp"]]  # pytak parsed each mesh datagram with takproto
    assert len({e.uid for e in udp}) == 30 and {e.type for e in udp} == {"a-n-S"}
    assert [s["sent"] for s in (o.stats() for o in asm.outputs)] == [30, 30]
    asm.close()


# drops are counted ---------------------------------------------------------------------
def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_dead_peer_counts_failed_sends(tmp_path):
    sink, asm = cot_from_config(tmp_path, url=f"tcp://127.0.0.1:{free_port()}")
    send(sink, 20, hostile=False)
    (out,) = sink.outputs
    assert wait_for(lambda: out.dropped_send_failed > 0)
    sink.close()
    st = sink.stats()
    assert st["sent"] == 0 and st["connect_failures"] >= 1
    assert st["dropped_send_failed"] + st["dropped_at_close"] == 20
    assert "ConnectionRefused" in st["last_error"]
    asm.close()


def test_peer_that_hangs_up_is_reconnected(tmp_path):
    peer = StreamPeer(close_first_after=1)
    try:
        sink, asm = cot_from_config(tmp_path, url=f"tcp://127.0.0.1:{peer.port}")
        (out,) = sink.outputs
        send(sink, 5, hostile=False)
        assert wait_for(lambda: out.sent == 5 and len(peer.conns) == 1)
        assert wait_for(lambda: not peer.threads[1].is_alive())  # the peer hung up
        pic = pic_of(5)
        pic.cols["pos_time"] = pic.cols["pos_time"] + 60.0
        sink.send_picture(pic)
        sink.close()
        assert wait_for(lambda: len(peer.conns) == 2 and peer.conns[1].count(b"</event>") == 5)
    finally:
        peer.close()
    st = sink.stats()
    assert st["reconnects"] == 1 and st["sent"] == 10 and st["dropped_send_failed"] == 0
    asm.close()


def test_slow_peer_fills_the_queue_and_drops_are_counted(tmp_path):
    peer = StreamPeer(read=False, rcvbuf=4096)
    try:
        sink, asm = cot_from_config(tmp_path, url=f"tcp://127.0.0.1:{peer.port}",
                                    queue_events=50)  # fmt: skip
        (out,) = sink.outputs
        pic = pic_of(500)
        offered = 0
        for _ in range(40):  # ~10 MB of XML offered; the peer takes a few hundred kB at most
            pic.cols["pos_time"] = pic.cols["pos_time"] + 10.0
            offered += sink.send_picture(pic)
            if out.dropped_queue_full:
                break
        st = sink.stats()
        assert st["dropped_queue_full"] > 0 and st["sent"] < offered
        assert st["queued"] <= 50
    finally:
        peer.close()  # unblocks the sender
    sink.close()
    asm.close()


# hostile text --------------------------------------------------------------------------
def test_hostile_callsigns_make_well_formed_xml_and_protobuf():
    from picket.share.cot import CotEvent

    for bad in (HOSTILE, "\udfff" * 3, "".join(map(chr, range(32))), "a\ud83d b"):
        ev = CotEvent(uid="picket.x\x01", type="a-u-A", how="m-g", time=1.7e9, stale=1.7e9 + 60,
                      lat=55.0, lon=14.0, hae=100.0, ce=30.0, le=30.0, callsign=bad,
                      course=None, speed=None, remarks=f"[info] x: {bad}")  # fmt: skip
        root = ET.fromstring(ev.xml())
        assert root.find("detail/contact").get("callsign")
        assert root.find("detail/remarks").text.startswith("[info] x:")
        msg = takproto.parse_proto(bytearray(tak.stream(ev.proto().SerializeToString())))
        assert msg.cotEvent.detail.contact.callsign
        ET.fromstring(f"<x>{msg.cotEvent.detail.xmlDetail}</x>")


# configuration errors ------------------------------------------------------------------
@pytest.mark.parametrize(
    "table, where",
    [
        ({"kind": "cot", "url": "tcp://h:1", "colour": "red"}, "'colour'"),
        ({"kind": "cot", "url": "http://h:1"}, "outputs[0].url"),
        ({"kind": "cot", "url": "tcp://h"}, "outputs[0].url"),
        ({"kind": "cot", "url": "tcp://h:1", "protocol": "json"}, "outputs[0].protocol"),
        ({"kind": "cot", "url": "udp://h:1", "protocol": "tak", "negotiate": True},
         "outputs[0].negotiate"),
        ({"kind": "cot", "url": "tcp://h:1", "cert": "c.pem"}, "outputs[0].cert"),
        ({"kind": "cot", "url": "tls://h:1", "cert": "missing.pem"}, "outputs[0].cert"),
        ({"kind": "cot", "url": "tls://h:1", "key": "k.pem"}, "outputs[0].key"),
        ({"kind": "cot", "url": "tcp://h:1", "bbox": "1,2,3"}, "outputs[0].bbox"),
        ({"kind": "cot", "url": "tcp://h:1", "domains": ["sea"]}, "outputs[0].domains"),
        ({"kind": "cot", "url": "tcp://h:1", "max_rate": 0}, "outputs[0].max_rate"),
        ({"kind": "cot", "url": "tcp://h:1", "min_interval_s": True}, "outputs[0].min_interval_s"),
        ({"kind": "cot", "protocol": "xml"}, "'url' is required"),
        ({"kind": "tak"}, "outputs[0]: kind"),
        ({"kind": "webhook", "url": "ftp://h/x"}, "outputs[0].url"),
        ({"kind": "webhook", "url": "https://h/x", "min_severity": "high"},
         "outputs[0].min_severity"),
        ({"kind": "webhook", "url": "https://h/x", "kinds": ["sea.gap"]}, "outputs[0].kinds"),
        ({"kind": "webhook", "url": "https://h/x", "headers": {"A": "b\r\nX: y"}},
         "outputs[0].headers"),
        ({"kind": "webhook", "url": "https://h/x", "timeout": 3}, "'timeout'"),
        ({"kind": "webhook", "url": "https://h/x", "headers_env": {"A": "PICKET_NOT_SET_X"}},
         "outputs[0].headers_env: $PICKET_NOT_SET_X"),
        ({"kind": "alerts_jsonl"}, "'path' is required"),
    ],
)
def test_bad_tables_name_the_output_and_key(tmp_path, table, where):
    ok = {"kind": "alerts_jsonl", "path": "a.jsonl"}
    for tables, i in (([table], 0), ([ok, table], 1)):
        with pytest.raises(ConfigError) as e:
            check_outputs(tables, tmp_path)
        assert where.replace("outputs[0]", f"outputs[{i}]") in str(e.value), str(e.value)
        assert f"outputs[{i}]" in str(e.value)


def test_wrong_p12_password_and_unset_env_are_config_errors(pki, tmp_path):
    base = {"kind": "cot", "url": "tls://h:1", "p12": str(pki["p12"])}
    with pytest.raises(ConfigError, match=r"outputs\[0\]: TLS: .*password"):
        check_outputs([{**base, "p12_password": "wrong"}], tmp_path)
    with pytest.raises(ConfigError, match=r"outputs\[0\]\.p12_password_env: \$NOPE_X"):
        check_outputs([{**base, "p12_password_env": "NOPE_X"}], tmp_path)
    # and assemble() refuses before opening anything
    cfg = from_dict({"outputs": [{**base, "p12_password": "wrong"}]}, base=tmp_path)
    with pytest.raises(ConfigError):
        assemble(cfg, console=False, store=False, dead_letter=tmp_path / "dl.jsonl")


# webhooks ------------------------------------------------------------------------------
class Hook(BaseHTTPRequestHandler):
    bodies: ClassVar[list] = []
    auth: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).auth.append(self.headers.get("authorization"))
        type(self).bodies.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *a):
        pass


def alert(i, kind="maritime.ais_gap", sev="warning"):
    return Alert(id=f"w{i}", kind=kind, severity=sev, time=1.7e9 + i, domain="maritime",
                 subject="mmsi:211000001", lat=55.0, lon=14.0, summary=f"s{i}", evidence={},
                 last_time=1.7e9 + i)  # fmt: skip


def test_webhook_and_alert_file_from_config(tmp_path, monkeypatch):
    monkeypatch.setenv("PICKET_TEST_HOOK_AUTH", "Bearer t0ken")
    Hook.bodies, Hook.auth = [], []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    cfg = from_dict({"outputs": [
        {"kind": "webhook", "url": f"http://127.0.0.1:{srv.server_port}/hook?token=s3cret",
         "kinds": ["maritime"], "min_severity": "warning", "timeout_s": 2.0,
         "headers_env": {"Authorization": "PICKET_TEST_HOOK_AUTH"}, "headers": {"X-A": "1"}},
        {"kind": "alerts_jsonl", "path": "out/alerts.jsonl", "name": "file"},
    ]}, base=tmp_path)  # fmt: skip
    asm = assemble(cfg, console=False, store=False, dead_letter=tmp_path / "dl.jsonl")
    try:
        hook, jsonl = asm.outputs
        events = [("open", alert(1)), ("open", alert(2, "air.emergency", "critical")),
                  ("open", alert(3, sev="info")), ("close", alert(1))]  # fmt: skip
        for s in asm.pipeline.sinks:
            s.emit(events)
        asm.pipeline.finish()  # closes every sink: the hook drains, the file is written
    finally:
        srv.shutdown()
    assert [(b["event"], b["alert"]["id"]) for b in Hook.bodies] == [("open", "w1"),
                                                                     ("close", "w1")]  # fmt: skip
    assert Hook.auth == ["Bearer t0ken", "Bearer t0ken"]
    st = hook.stats()
    assert (st["kind"], st["sent"], st["dropped_send_failed"], st["dropped_queue_full"]) == (
        "webhook", 2, 0, 0)  # fmt: skip
    assert "s3cret" not in json.dumps(st) and "t0ken" not in json.dumps(st)
    lines = (tmp_path / "out" / "alerts.jsonl").read_text().splitlines()
    assert sorted(json.loads(x)["id"] for x in lines) == ["w1", "w2", "w3"]
    assert jsonl.stats()["alerts"] == 3 and jsonl.stats()["name"] == "file"
    asm.close()


# the commands --------------------------------------------------------------------------
@pytest.mark.realdata
def test_replay_config_outputs_share_the_drift(shared_data, tmp_path):
    """`picket replay --config`: the Bornholm drift goes out as CoT (TLS, client certificate)
    and as a webhook, and into the alert file."""
    from picket.cli.main import main

    Hook.bodies, Hook.auth = [], []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    peer = StreamPeer()
    toml = tmp_path / "picket.toml"
    toml.write_text(f"""
[[outputs]]
kind = "cot"
url = "tcp://127.0.0.1:{peer.port}"
min_interval_s = 0

[[outputs]]
kind = "webhook"
url = "http://127.0.0.1:{srv.server_port}/hook"
kinds = ["maritime.drift"]

[[outputs]]
kind = "alerts_jsonl"
path = "alerts.jsonl"
""")
    nmea = shared_data / "ais" / "dma_212123000_drift_bornholm_20141002.nmea"
    try:
        rc = main(["replay", str(nmea), "--config", str(toml), "--no-store", "--quiet",
                   "--no-progress"])  # fmt: skip
        assert rc == 0
        assert wait_for(lambda: b"picket.mmsi-212123000" in peer.data)
    finally:
        peer.close()
        srv.shutdown()
    events = xml_events(peer.data)
    assert {e.get("uid") for e in events} == {"picket.mmsi-212123000"}
    assert any("maritime.drift" in (e.findtext("detail/remarks") or "") for e in events)
    assert {b["alert"]["kind"] for b in Hook.bodies} == {"maritime.drift"}
    kinds = {json.loads(x)["kind"] for x in (tmp_path / "alerts.jsonl").read_text().splitlines()}
    assert "maritime.drift" in kinds


def test_run_flags_attach_outputs(pki, tmp_path, capsys):
    """`picket run --cot tls://... --cot-cert ... --webhook ... --alerts-out`: a live run on
    a TCP feed of AIS sentences sends to every flagged output and reports the counters."""
    from picket.cli.main import main
    from picket.sim import scenario
    from picket.sim.emit import wire_chunks

    Hook.bodies, Hook.auth = [], []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    peer = StreamPeer(server_tls(pki), takp="accept")
    feed = socket.create_server(("127.0.0.1", 0))
    scn = scenario.build(seed=7, duration_s=3600)
    ais = b"".join(c["ais-nmea"] for _, c in wire_chunks(scn))[:400_000]
    ais = ais[: ais.rindex(b"\n") + 1]

    def serve_feed():
        conn, _ = feed.accept()
        with conn:
            conn.sendall(ais)
            time.sleep(6)

    threading.Thread(target=serve_feed, daemon=True).start()
    toml = tmp_path / "live.toml"
    toml.write_text(f"""
[store]
path = "live.sqlite"
[sinks]
console = false
[[sources]]
name = "ais"
format = "ais-nmea"
tcp = "127.0.0.1:{feed.getsockname()[1]}"
clock = "receive"
""")
    try:
        rc = main(["run", str(toml), "--no-serve", "--seconds", "4", "--batch-s", "0.5",
                   "--cot", f"tls://127.0.0.1:{peer.port}", "--cot-protocol", "tak",
                   "--cot-cert", str(pki["cert"]), "--cot-key", str(pki["key"]),
                   "--cot-ca", str(pki["ca"]),
                   "--webhook", f"http://127.0.0.1:{srv.server_port}/h",
                   "--webhook-header", "Authorization: Bearer f1ag",
                   "--alerts-out", str(tmp_path / "a.jsonl")])  # fmt: skip
        assert rc == 0
        assert wait_for(lambda: len(tak.split_stream(bytearray(peer.data))) > 10)
    finally:
        peer.close()
        srv.shutdown()
        feed.close()
    out = capsys.readouterr().out
    assert peer.client_cns == ["picket-client"]
    msgs = [takproto.parse_proto(bytearray(m)).cotEvent
            for m in tak.split_stream(bytearray(peer.data))]  # fmt: skip
    assert {e.type for e in msgs} <= {"a-n-S", "a-s-S"}
    assert f"cot tls://127.0.0.1:{peer.port}: {len(msgs)} sent, 0 dropped" in out
    assert f"webhook http://127.0.0.1:{srv.server_port}/h: " in out
    assert (tmp_path / "a.jsonl").exists()



@pytest.mark.slow
def test_demo_flags_attach_outputs(tmp_path, capsys):
    """`picket demo --headless --cot udp://... --webhook ...`: the demo's outputs go through
    its `on_assembly` hook; the incidents reach the webhook, the tracks the UDP peer."""
    from picket.cli.main import main

    Hook.bodies, Hook.auth = [], []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.2)
    grams: list[bytes] = []
    done = threading.Event()

    def receive():
        while not done.is_set():
            try:
                grams.append(udp.recv(1 << 16))
            except OSError:
                continue

    th = threading.Thread(target=receive, daemon=True)
    th.start()
    try:
        rc = main(["demo", "--headless", "--quiet", "--workdir", str(tmp_path / "demo"),
                   "--cot", f"udp://127.0.0.1:{udp.getsockname()[1]}", "--cot-protocol", "tak",
                   "--cot-domains", "maritime",
                   "--webhook", f"http://127.0.0.1:{srv.server_port}/demo",
                   "--webhook-min-severity", "critical"])  # fmt: skip
        assert rc == 0
        time.sleep(0.5)
    finally:
        done.set()
        th.join(timeout=5)
        udp.close()
        srv.shutdown()
    out = capsys.readouterr().out
    events = [takproto.parse_proto(bytearray(g)).cotEvent for g in grams]
    assert len({e.uid for e in events}) > 100 and {e.type for e in events} <= {"a-n-S", "a-s-S"}
    kinds = {b["alert"]["kind"] for b in Hook.bodies}
    assert {"maritime.anchor_drag", "air.emergency"} <= kinds
    assert {b["alert"]["severity"] for b in Hook.bodies} == {"critical"}
    assert "cot udp://127.0.0.1:" in out and f"webhook http://127.0.0.1:{srv.server_port}" in out


def test_counters_reach_api_metrics(tmp_path):
    """/api/metrics lists each output's stats() under its name: a dead CoT peer's failed
    sends and a delivered-nothing webhook show there as they do on the sinks."""
    import httpx

    from picket.serve import serve_assembly

    cfg = from_dict({"store": {"path": "m.sqlite"}, "outputs": [
        {"kind": "cot", "url": f"tcp://127.0.0.1:{free_port()}", "name": "tak-east",
         "min_interval_s": 0},
        {"kind": "webhook", "url": f"http://127.0.0.1:{free_port()}/x", "name": "ops",
         "retries": 0},
    ]}, base=tmp_path)  # fmt: skip
    asm = assemble(cfg, console=False)
    srv = serve_assembly(asm, port=0)
    try:
        cot, hook = asm.outputs
        send(cot, 7, hostile=False)
        hook.emit([("open", alert(1))])
        assert wait_for(lambda: cot.stats()["dropped_send_failed"] > 0 and hook.failed == 1)
        from picket.model.decoded import Decoded

        asm.pipeline.process(Decoded.empty())  # counters reach the server with a batch (bus)
        m = httpx.get(srv.url + "/api/metrics", timeout=10).json()["outputs"]
    finally:
        srv.stop()
        asm.pipeline.finish()
        asm.close()
    assert m["tak-east"]["kind"] == "cot" and m["tak-east"]["sent"] == 0
    assert m["tak-east"]["dropped_send_failed"] == cot.stats()["dropped_send_failed"] > 0
    assert m["tak-east"]["destinations"][0]["connect_failures"] >= 1
    assert (m["ops"]["kind"], m["ops"]["sent"], m["ops"]["dropped_send_failed"]) == (
        "webhook", 0, 1)  # fmt: skip
    edge = m["outputs' bus edge"]  # what reached the outputs from the bus
    assert edge["kind"] == "edge" and {"snapshots", "alert_messages"} <= set(edge)
    assert edge["unreadable"] == edge["output_errors"] == edge["skipped"] == 0
