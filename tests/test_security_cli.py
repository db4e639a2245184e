"""`picket run`, `demo` and `serve` as processes: `--tokens` on all three, and a busy port
is one line on stderr and exit 2 (the probe saw a raw traceback)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from picket.store.sqlite import Store

TOKEN = "run-operator-token-0123456789"
_SCRIPT = Path(sys.executable).parent / "picket"
PICKET = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "picket.cli.main"]


def _busy_port() -> tuple[socket.socket, int]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s, s.getsockname()[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(tmp: Path, feed_port: int) -> Path:
    cfg = tmp / "picket.toml"
    cfg.write_text(f"""
[store]
path = "picket.sqlite"
[sinks]
console = false
[[sources]]
name = "ais"
format = "ais-nmea"
tcp = "127.0.0.1:{feed_port}"
""")
    return cfg


def picket(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*PICKET, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)  # fmt: skip


def _one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_a_busy_port_is_one_line_and_exit_2(tmp_path):
    busy, port = _busy_port()
    feed, feed_port = _busy_port()  # a feed that accepts and says nothing
    try:
        Store(tmp_path / "s.sqlite").close()
        r = picket("serve", "--store", str(tmp_path / "s.sqlite"), "--port", str(port),
                   cwd=tmp_path)  # fmt: skip
        assert r.returncode == 2
        assert "in use" in _one_line(r.stderr) and str(port) in r.stderr
        r = picket("run", str(_config(tmp_path, feed_port)), "--port", str(port), cwd=tmp_path)
        assert r.returncode == 2
        assert _one_line(r.stderr).startswith("picket run: cannot listen on")
        r = picket("demo", "--port", str(port), "--workdir", str(tmp_path / "demo"), "--quiet",
                   cwd=tmp_path)  # fmt: skip
        assert r.returncode == 2
        assert _one_line(r.stderr).startswith("picket demo: cannot listen on")
        # a port out of range, and an address this host does not have: one line too
        r = picket("serve", "--store", str(tmp_path / "s.sqlite"), "--port", "99999",
                   cwd=tmp_path, timeout=30)  # fmt: skip
        assert r.returncode == 2 and "0 to 65535" in _one_line(r.stderr)
        r = picket("serve", "--store", str(tmp_path / "s.sqlite"), "--host", "127.0.0.1",
                   "--port", str(port), cwd=tmp_path, timeout=30)  # fmt: skip
        assert r.returncode == 2 and _one_line(r.stderr).startswith("picket serve: cannot")
    finally:
        busy.close()
        feed.close()


def test_run_and_demo_take_tokens(tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"# who may\n{TOKEN} operator olga\n")
    feed, feed_port = _busy_port()
    cfg = _config(tmp_path, feed_port)
    for args in (["run", str(cfg), "--seconds", "60"],
                 ["demo", "--workdir", str(tmp_path / "demo"), "--quiet", "--speed", "1"]):
        port = _free_port()
        p = subprocess.Popen([*PICKET, *args, "--tokens", str(tokens),
                              "--port", str(port)], cwd=tmp_path, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}/api/health"
            deadline = time.monotonic() + 60
            while True:
                try:
                    r = httpx.get(url, timeout=2)
                    break
                except httpx.TransportError:
                    assert p.poll() is None, p.stderr.read() if p.stderr else ""
                    assert time.monotonic() < deadline, "the server did not come up"
                    time.sleep(0.2)
            assert r.status_code == 401
            ok = httpx.get(url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=5)
            assert ok.status_code == 200 and ok.json()["who"] == "olga"
        finally:
            p.terminate()
            p.wait(timeout=30)
    feed.close()
    bad = tmp_path / "bad.txt"
    bad.write_text("short operator x\n")
    r = picket("run", str(cfg), "--tokens", str(bad), cwd=tmp_path)
    assert r.returncode == 2 and _one_line(r.stderr).startswith("picket run: ")
    r = picket("demo", "--tokens", str(bad), "--workdir", str(tmp_path / "d2"), cwd=tmp_path)
    assert r.returncode == 2 and _one_line(r.stderr).startswith("picket demo: ")
