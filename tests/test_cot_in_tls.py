"""Cursor on Target in over TLS, as TAK Server's port 8089: pytak (the TAK ecosystem's
client) connects with its client certificate and sends XML events and TAK protocol
stream frames; a client without a certificate, or with one a foreign CA signed, is
refused at the handshake and counted, and nothing it sends reaches the picture."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
import warnings
import xml.etree.ElementTree as ET
from configparser import ConfigParser

import pytest

from picket.config import Config, SourceConfig
from picket.pipeline.assemble import assemble
from picket.pipeline.live import run_live
from picket.share import tak
from picket.sources.cot_in import cot_key
from tests.test_cot_in import MARKERS
from tests.test_live import free_port
from tests.test_outputs import pki  # noqa: F401  (the fixture: a CA, server and clients)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pytak warns that aiohttp is missing: not used here
    import pytak
import takproto

from tests import aio


class Live:
    """`run_live` on one source in a thread, with its log and counters."""

    def __init__(self, tmp_path, src: SourceConfig, word: str = "listening") -> None:
        self.asm = assemble(Config(store_path=None), console=False, store=False)
        self.name = src.name
        self.stop = threading.Event()
        self.logs: list[str] = []
        self.stats: dict = {}
        self.th = threading.Thread(target=run_live, args=(self.asm, [src], tmp_path),
                                   kwargs={"batch_s": 0.2, "stop": self.stop,
                                           "log": self.logs.append, "max_seconds": 60,
                                           "stats": self.stats}, daemon=True)  # fmt: skip
        self.th.start()
        deadline = time.monotonic() + 10
        while not any(word in x for x in self.logs) and time.monotonic() < deadline:
            time.sleep(0.05)

    def subjects(self) -> set[int]:
        t = self.asm.pipeline.tracks
        return {int(s) for s in t.cols["subject"][: len(t)]}

    def wait(self, cond, timeout: float = 15.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return True
            time.sleep(0.1)
        return cond()

    def close(self) -> dict:
        self.stop.set()
        self.th.join(timeout=15)
        return self.stats["sources"][self.name]


def tls_source(pki, port: int, ca: bool = True) -> SourceConfig:  # noqa: F811
    return SourceConfig(name="tak", format="cot", listen_tcp=f"127.0.0.1:{port}",
                        tls_cert=str(pki["server"]), tls_ca=str(pki["ca"]) if ca else None)


def events() -> list[bytes]:
    """The markers as pytak writes them: the first as XML, the others as TAK frames."""
    xml = [ET.tostring(pytak.gen_cot_xml(lat=la, lon=lo, uid=uid, cot_type=ty, stale=120,
                                         callsign=cs))
           for uid, ty, la, lo, cs, _ in MARKERS]  # fmt: skip
    return [xml[0]] + [tak.stream(bytes(takproto.xml2proto(x))) for x in xml[1:]]


async def _pytak_send(port: int, cfg: dict[str, str], data: list[bytes]) -> None:
    conf = ConfigParser()
    conf["x"] = {"COT_URL": f"tls://localhost:{port}", **cfg}
    _, writer = await pytak.protocol_factory(conf["x"])
    for d in data:
        writer.write(d)
        await writer.drain()
    await asyncio.sleep(0.3)
    writer.close()
    await writer.wait_closed()


def test_pytak_client_over_tls_xml_and_tak_frames(pki, tmp_path):  # noqa: F811
    port = free_port()
    live = Live(tmp_path, tls_source(pki, port))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            aio.run(_pytak_send(port, {"PYTAK_TLS_CLIENT_CERT": str(pki["cert"]),
                                           "PYTAK_TLS_CLIENT_KEY": str(pki["key"]),
                                           "PYTAK_TLS_CLIENT_CAFILE": str(pki["ca"])},
                                    events()))  # fmt: skip
        keys = {cot_key(m[0]) for m in MARKERS}
        assert live.wait(lambda: keys <= live.subjects())
        calls = {live.asm.pipeline.tracks.statics[k]["callsign"] for k in keys}
        assert calls == {m[4] for m in MARKERS}
    finally:
        s = live.close()
    assert s["connections"] == 1 and s["tls_refused"] == 0, s


def _raw_tls(port: int, cert=None, key=None, ca=None, refused: bool = True) -> None:
    """An `ssl` client that tries to send one event; the server may refuse it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert), str(key))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname="localhost") as c:
                c.sendall(events()[0])
                if refused:
                    c.recv(10)  # TLS 1.3: the refusal of the certificate arrives here
        except (ssl.SSLError, OSError):
            pass


@pytest.mark.parametrize("who", ["no_certificate", "foreign_ca", "plain_tcp"])
def test_clients_the_ca_did_not_sign_are_refused_and_counted(pki, tmp_path, who):  # noqa: F811
    port = free_port()
    live = Live(tmp_path, tls_source(pki, port))
    try:
        if who == "no_certificate":
            _raw_tls(port, ca=pki["ca"])
        elif who == "foreign_ca":
            _raw_tls(port, pki["rogue_cert"], pki["rogue_key"], pki["ca"])
        else:  # an XML event in the clear on the TLS port
            with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
                c.sendall(events()[0])
                c.settimeout(5)
                with pytest.raises(OSError):
                    while c.recv(100):
                        pass
                    raise ConnectionResetError  # closed cleanly: also a refusal
        assert live.wait(lambda: live.stats.get("sources", {}).get("tak", {})
                         .get("tls_refused", 0) >= 1)  # fmt: skip
        # the same listener still serves a client with a certificate the CA signed
        _raw_tls(port, pki["cert"], pki["key"], pki["ca"], refused=False)
        assert live.wait(lambda: cot_key(MARKERS[0][0]) in live.subjects())
    finally:
        s = live.close()
    assert s["tls_refused"] == 1 and len(live.subjects()) == 1, s


def test_tls_without_client_ca_accepts_any_client(pki, tmp_path):  # noqa: F811
    port = free_port()
    live = Live(tmp_path, tls_source(pki, port, ca=False))
    try:
        _raw_tls(port, ca=pki["ca"], refused=False)  # no certificate: fine without tls_ca
        assert live.wait(lambda: cot_key(MARKERS[0][0]) in live.subjects())
    finally:
        s = live.close()
    assert s["tls_refused"] == 0


def test_tls_settings_without_a_listener_stop_the_start(pki, tmp_path):  # noqa: F811
    src = SourceConfig(name="tak", format="cot", tcp="127.0.0.1:9", tls_cert=str(pki["server"]))
    asm = assemble(Config(store_path=None), console=False, store=False)
    with pytest.raises(ValueError, match="listen_tcp"):
        run_live(asm, [src], tmp_path, max_seconds=1)
