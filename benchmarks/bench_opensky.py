"""OpenSky state-vector CSV end to end (decode, door, fusion, detectors, alerts) in rows/s.

Input: the 25 real tracks of ../shared/data/air/traffic_samples/ (xoolive/traffic
samples as OpenSky state-vector CSV) and the OpenSky plane-states sample, merged
into one CSV sorted by time in a temporary directory. The files come from
different days; each is moved to start at the same instant (whole seconds, so
the rows keep their spacing) so that hundreds of aircraft are in the air at
once, as in a live OpenSky feed. `--copies N` appends N-1 more copies, each a day
later, for a longer run.

Beside picket's rate the benchmark prints pandas `read_csv` of the same file (the
parsing floor: C parsing, no checks, no tracks). What a service loads once at start
(the airports layer, air.loitering's compiled loops, the readers) is loaded before the
timed run and its CPU time printed beside it; the target is met by the rate counting it.
picket's bytecode is compiled before anything is timed, as an installed package has it
(under the temporary directory when PYTHONDONTWRITEBYTECODE is set). Last, the readsb
reader on a 10 MB trace document (the real trace in ../shared/data/air repeated) fed in
4 KiB chunks against the same document in one piece: streaming must cost at most 1.2x. pandas is
only needed here, never by picket: the `bench` extra brings it (`make setup` installs it;
else `pip install -e '.[bench]'`). Everything is timed as process CPU time in the same run.

Run: ``picket bench opensky [--copies 1] [--profile] [--stages]``
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gzip
import hashlib
import io
import json
import pstats
import sys
import tempfile
from pathlib import Path
from typing import Any

from picket.config import Config
from picket.geo.airports import airports_of, load_airports
from picket.pipeline.assemble import assemble
from picket.pipeline.replay import replay_files
from shared_data import SHARED
from stages import print_stages, stage_times, timed

COLUMNS = ["time", "icao24", "lat", "lon", "velocity", "heading", "vertrate", "callsign",
           "onground", "alert", "spi", "squawk", "baroaltitude", "geoaltitude", "lastposupdate",
           "lastcontact"]  # fmt: skip
T0 = 1_600_000_000  # 2020-09-13: every input starts here
TIME_COLS = ("time", "lastposupdate", "lastcontact")
TARGET = 100_000.0  # rows/s, issue #18


def _read(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return list(csv.DictReader(io.StringIO(data.decode())))


def build_input(out: Path, copies: int = 1) -> tuple[int, int]:
    """Write the merged CSV; (rows, distinct aircraft)."""
    files = sorted((SHARED / "air" / "traffic_samples").glob("*.csv.gz"))
    files.append(SHARED / "air" / "opensky_plane_states_sample.csv")
    rows: list[tuple[float, list[str]]] = []
    for f in files:
        recs = _read(f)
        times = [float(r["time"]) for r in recs if r.get("time")]
        if not times:
            continue
        shift = T0 - int(min(times))
        for r in recs:
            if not r.get("time"):
                continue
            vals = [r.get(c) or "" for c in COLUMNS]
            for c in TIME_COLS:
                i = COLUMNS.index(c)
                if vals[i]:
                    vals[i] = repr(float(vals[i]) + shift)
            rows.append((float(vals[0]), vals))
    rows.sort(key=lambda x: x[0])
    aircraft = len({v[1] for _, v in rows})
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for k in range(copies):
            day = 86400.0 * k
            for _, v in rows:
                if day:
                    v = [repr(float(x) + day) if c in TIME_COLS and x else x
                         for c, x in zip(COLUMNS, v, strict=True)]  # fmt: skip
                w.writerow(v)
    return len(rows) * copies, aircraft


def run_pandas(path: Path) -> int:
    import pandas as pd

    return len(pd.read_csv(path, dtype={"icao24": str, "callsign": str, "squawk": str}))


class EventHash:
    """A sink keeping every alert event as JSON (kind, state, event time, evidence): the
    run's alert set, hashed, says whether a speed-up changed any result."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def emit(self, events: list[Any]) -> None:
        for what, a in events:
            self.lines.append(json.dumps([what, a.event_time, a.to_json()], sort_keys=True))

    def tracks(self, ctx: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def digest(self) -> str:
        return hashlib.sha256("\n".join(sorted(self.lines)).encode()).hexdigest()[:16]


def prepare_picket(events: EventHash | None = None) -> Any:
    """The pipeline with every default detector, no store or console, and what it loads at
    the first aircraft (the airports layer, air.loitering's and the reader's compiled
    loops): set up untimed, as a service does once at start (`start_up` times it)."""
    sinks = [events] if events is not None else []
    asm = assemble(Config(store_path=None), console=False, store=False, extra_sinks=sinks)
    airports_of(asm.pipeline.world)
    from picket.detect.air_loiter_kernels import warm_up
    from picket.sources.opensky_kernels import warm_up as reader_warm_up

    warm_up()
    reader_warm_up()
    return asm


def start_up() -> float:
    """CPU seconds of the first load of the airports layer, the compiled loops and the
    readers (the format table imports every built-in reader at its first look)."""
    import time

    c0 = time.process_time()
    load_airports()
    from picket.detect.air_loiter_kernels import warm_up
    from picket.sources.opensky_kernels import warm_up as reader_warm_up

    warm_up()
    reader_warm_up()
    from picket.sources.registry import FORMATS

    FORMATS.load()
    return time.process_time() - c0


def bytecode() -> None:
    """picket's modules compiled once, as `pip install` leaves them: where bytecode is not
    written (PYTHONDONTWRITEBYTECODE), every import in the timed run would compile its
    module again. The cache goes under the temporary directory, not the source tree."""
    import compileall

    import picket

    if sys.dont_write_bytecode:
        sys.pycache_prefix = str(Path(tempfile.gettempdir()) / "picket_pyc")
        sys.dont_write_bytecode = False
    compileall.compile_dir(Path(picket.__file__).parent, quiet=2)


def run_picket(path: Path, asm: Any = None) -> dict:
    asm = asm or prepare_picket()
    s = replay_files(asm.pipeline, [(path, "opensky")], asm.rejects)
    return {"reports": s.reports, "accepted": asm.rejects.accepted,
            "rejected": asm.rejects.rejected, "tracks": len(asm.pipeline.tracks),
            "alerts": asm.pipeline.n_opened}  # fmt: skip


READSB_TRACE = "air/readsb_trace_full_ac671b.json"
READSB_TARGET = 1.2  # chunked / one piece, issue #18


def readsb_document(mb: float = 10.0) -> bytes:
    """The real readsb trace's points repeated (times moved on) into one ~`mb` MB trace."""
    import json

    doc = json.loads((SHARED / READSB_TRACE).read_bytes())
    pts, span = doc["trace"], doc["trace"][-1][0] + 10.0
    one = len(json.dumps(pts))
    reps = max(1, int(mb * 1e6 / one))
    doc["trace"] = [[p[0] + k * span, *p[1:]] for k in range(reps) for p in pts]
    return json.dumps(doc).encode()


def run_readsb(data: bytes, chunk: int) -> int:
    """Decode `data` with the readsb reader fed `chunk` bytes at a time; reports out."""
    from picket.model.rejects import Rejects
    from picket.sources.air_json import ReadsbDecoder

    dec, n = ReadsbDecoder(Rejects(), "bench"), 0
    for p in range(0, len(data), chunk):
        n += len(dec.feed(data[p : p + chunk]).reports)
    return n + len(dec.flush().reports)


def bench_readsb() -> None:
    """readsb JSON streamed in 4 KiB chunks against the same document in one piece."""
    data = readsb_document()
    n1, one, _ = timed(run_readsb, data, len(data) + 1)
    n2, cut, _ = timed(run_readsb, data, 4096)
    ratio = cut / one
    verdict = "PASS" if ratio <= READSB_TARGET and n1 == n2 else "FAIL"
    print(f"readsb JSON, {len(data) / 1e6:.1f} MB trace ({n1:,} reports): one piece {one:.2f} s "
          f"CPU, 4 KiB chunks {cut:.2f} s: {ratio:.2f}x (target <= {READSB_TARGET}x): {verdict}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="picket bench opensky", description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=1, help="copies of the input, a day apart")
    ap.add_argument("--profile", action="store_true", help="also print picket's top functions")
    ap.add_argument("--stages", action="store_true", help="also print CPU time per stage")
    a = ap.parse_args(argv)
    if not (SHARED / "air" / "traffic_samples").is_dir():
        print(f"bench opensky: real data not found at {SHARED}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "opensky_merged.csv"
        n, aircraft = build_input(path, max(1, a.copies))
        mb = path.stat().st_size / 1e6
        print(f"input: {n:,} state vectors of {aircraft} aircraft, {mb:.1f} MB CSV", flush=True)
        try:
            import pandas  # noqa: F401  (its import, ~0.4 s, is no part of parsing)

            n_pd, cpu_pd, wall_pd = timed(run_pandas, path)
            print(f"pandas read_csv (parsing floor): {n_pd:,} rows, {cpu_pd:.2f} s CPU "
                  f"({wall_pd:.2f} s wall): {n_pd / cpu_pd:,.0f} rows/s")  # fmt: skip
        except ImportError:
            print("pandas read_csv: pandas not installed (pip install -e '.[bench]')")
        events = EventHash()
        bytecode()
        first = start_up()
        asm = prepare_picket(events)
        prof = cProfile.Profile() if a.profile else None
        if prof:
            prof.enable()
        res, cpu, wall = timed(run_picket, path, asm)
        if prof:
            prof.disable()
        rate = n / cpu
        print(f"picket end to end (decode, door, tracks, detectors, alerts): {res['reports']:,} "
              f"reports, {res['tracks']:,} tracks, {res['alerts']} alerts, {cpu:.2f} s CPU "
              f"({wall:.2f} s wall): {rate:,.0f} rows/s")  # fmt: skip
        both = n / (cpu + first)
        print(f"alert events: {len(events.lines)}, sha256 {events.digest()}; start-up before "
              f"the timed run (airports layer, compiled loops, readers): {first:.2f} s CPU; "
              f"counting it: {cpu + first:.2f} s, {both:,.0f} rows/s")  # fmt: skip
        verdict = "PASS" if both >= TARGET else "FAIL"
        print(f"target >= {TARGET:,.0f} rows/s counting start-up: {verdict}", flush=True)
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
        if a.stages:
            spent, total = stage_times(lambda asm: run_picket(path, asm), prepare_picket())
            print_stages(spent, total, n, "rows")
    if (SHARED / READSB_TRACE).exists():
        bench_readsb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
