"""The throwaway servers the tests and `picket cluster up` start (`picket.bus.local`): a
free port another process binds first (tests on two workers start servers at once) costs
another try, never a server that talks to the wrong peer."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest

from picket.bus import local


@contextlib.contextmanager
def port_taken_first(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A port something else listens on, silently; `free_port` hands it out once, then
    free ones."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        real = local.free_port
        first = [taken]
        monkeypatch.setattr(local, "free_port", lambda: first.pop() if first else real())
        yield taken


@pytest.mark.skipif(bool(local.why_no_nats()), reason=local.why_no_nats() or "")
def test_nats_takes_another_port_when_a_silent_listener_holds_its_own(monkeypatch):
    with port_taken_first(monkeypatch) as taken:
        n = local.LocalNats()
        try:
            assert n.port != taken
            with socket.create_connection(("127.0.0.1", n.port), 5) as c:
                assert n.name.encode() in c.recv(4096)  # our server answers there
        finally:
            n.close()


@pytest.mark.skipif(bool(local.why_no_nats()), reason=local.why_no_nats() or "")
def test_nats_on_a_port_another_nats_holds_is_refused_when_the_port_was_given():
    a = local.LocalNats()
    try:
        with pytest.raises(local.PortTaken):
            local.LocalNats(port=a.port)  # a restart test's port: no silent move
    finally:
        a.close()


@pytest.mark.skipif(bool(local.why_no_postgres()), reason=local.why_no_postgres() or "")
def test_postgres_takes_another_port_when_its_own_was_taken(monkeypatch):
    with port_taken_first(monkeypatch) as taken:
        pg = local.LocalPostgres()
        try:
            assert pg.port != taken
            import psycopg

            with psycopg.connect(pg.url(), autocommit=True) as c:
                assert c.execute("SELECT 1").fetchone() == (1,)
        finally:
            pg.close()


@pytest.mark.skipif(bool(local.why_no_nats()), reason=local.why_no_nats() or "")
def test_streams_are_made_on_a_server_whose_file_store_cannot_reserve_them():
    """picket's streams reserve 4 GB each; a server with a small file store (a small disk:
    75 % of its free space by default) takes them with their age limit only, and the bus
    works, instead of refusing to connect."""
    from picket.bus.jetstream import JetStreamBus

    n = local.LocalNats(max_file_store=1 << 30)
    bus = None
    try:
        bus = JetStreamBus(n.url, retry_s=10.0)
        sub = bus.subscribe("picket.alerts", "small-store")
        assert bus.publish("picket.alerts", b"{}") >= 1
        assert [m.data for m in sub.fetch(10, 5.0)] == [b"{}"]
    finally:
        if bus is not None:
            bus.close()
        n.close()
