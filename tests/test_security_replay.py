"""A viewer's wide replay costs a page of memory, not the window: `picket serve` over a store
of 1,000,000 track points replays all of it while its peak RSS grows less than 100 MB (the
probe saw +590 MB for 2M points when the window was loaded whole)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
from websockets.sync.client import connect

from picket.model.reports import Domain
from picket.model.subjects import Namespace, key
from picket.store.sqlite import Store

T0 = 1_736_935_200.0
N_SUBJECTS, N_TIMES, STEP_S = 2_000, 500, 10.0  # 1,000,000 points over 5,000 s
GROWTH_MB = 100  # the documented bound (docs/api.md, "Caps")
_SCRIPT = Path(sys.executable).parent / "picket"
PICKET = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "picket.cli.main"]


def _fill(path: Path) -> None:
    store = Store(path)
    subj = np.array([key(Namespace.MMSI, 211_000_000 + i) for i in range(N_SUBJECTS)], np.int64)
    rng = np.random.default_rng(3)
    for k in range(0, N_TIMES, 50):  # 100,000 points a call
        n = 50 * N_SUBJECTS
        times = T0 + STEP_S * np.repeat(np.arange(k, k + 50), N_SUBJECTS)
        store.add_track_points({
            "subject": np.tile(subj, 50), "time": times,
            "domain": np.full(n, int(Domain.MARITIME), np.int64),
            "lat": rng.uniform(54, 60, n), "lon": rng.uniform(10, 25, n),
            "alt": np.full(n, np.nan), "speed": rng.uniform(0, 10, n),
            "course": rng.uniform(0, 360, n),
        })  # fmt: skip
    store.close()


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def _replay(url: str, since: float, until: float, speed: float) -> int:
    """Replay [since, until] on the track channel; the number of keyframes it sent."""
    frames = 0
    with connect(url, max_size=None, open_timeout=10) as ws:
        ws.send(json.dumps({"type": "replay", "since": since, "until": until, "speed": speed}))
        while True:
            m = ws.recv(timeout=120)
            if isinstance(m, bytes):
                frames += (m[2] & 1) == 1  # replay frames only
                continue
            msg = json.loads(m)
            assert msg["type"] != "error", msg
            if msg["type"] == "replay" and msg["state"] == "end":
                return frames


def test_a_wide_replay_keeps_the_server_within_its_memory_bound(tmp_path):
    path = tmp_path / "picket.sqlite"
    _fill(path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen([*PICKET, "serve", "--store", str(path), "--port", str(port),
                          "--static", str(tmp_path)], cwd=tmp_path, stderr=subprocess.PIPE,
                         stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                httpx.get(f"{base}/api/health", timeout=5)
                break
            except httpx.TransportError:
                assert p.poll() is None and time.monotonic() < deadline, p.stderr.read()
                time.sleep(0.3)
        ws_url = f"ws://127.0.0.1:{port}/api/ws/tracks"
        _replay(ws_url, T0, T0 + 60, 60.0)  # warm: every module and page buffer in place
        before = _peak_mb(p.pid)
        until = T0 + STEP_S * (N_TIMES - 1)
        n = _replay(ws_url, T0, until, 1000.0)  # the whole window: 1M points, 6 steps
        after = _peak_mb(p.pid)
        assert n == int(np.ceil((until - T0) / 1000.0)) + 1
        assert after - before < GROWTH_MB, (before, after)
    finally:
        p.terminate()
        p.wait(timeout=30)
