"""The format registry: every wire format is one incremental `Decoder`.

One interface serves files, TCP/UDP listeners and file tails: the source hands
the decoder raw bytes as they come (`feed`), and the decoder keeps whatever
partial line or frame straddles a chunk boundary until the next call. At the
end of input `flush` decodes what is left (and counts anything truncated).

Adding a format = writing a Decoder and calling `register()` in its module,
then naming that module in `BUILT_IN` (loaded on the first look at `FORMATS`).

Time (docs/time.md). A decoder whose messages may carry no time of their own
(AIS NMEA without tag block, Beast, AVR) takes a `clock`: one `Clock` object
gives every such decoder the time of what it cannot time itself, live (the
arrival time of the bytes) or in replay (a start time and a line rate). Every
decoded report then passes `at_the_door`, the one plausibility check of
event times, live and in replay alike.
"""

from __future__ import annotations

import _thread
import importlib
import importlib.util
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Protocol

import numpy as np

from picket.model.decoded import Decoded
from picket.model.rejects import Rejects

if TYPE_CHECKING:
    from pathlib import Path

MIN_TIME = 315532800.0  # 1980-01-01: no feed picket reads predates it
MAX_AHEAD_S = 600.0  # a report further ahead of the receive (or wall) clock is implausible
DOOR_DETAIL = 20  # reports dead-lettered one by one per batch and reason; the rest as one count


class Decoder(Protocol):
    def feed(self, data: bytes) -> Decoded:
        """Decode what is complete in `data` (plus any carried-over remainder)."""
        ...

    def flush(self) -> Decoded:
        """End of input: decode or reject what remains."""
        ...


DecoderFactory = Callable[[Rejects, str], Decoder]  # (rejects, source name) -> Decoder


@dataclass(frozen=True)
class Format:
    name: str
    domain: str  # air | maritime | space | em
    description: str
    sniff: Callable[[bytes, str], bool]  # (first bytes, file name) -> is it mine?
    decoder: DecoderFactory
    priority: int = 0  # higher sniffs first (specific before generic)
    # its messages may carry no time (AIS NMEA without tag block, Beast, AVR): the decoder
    # takes a `clock` keyword (a `Clock`) for what it cannot time itself
    clockless: bool = False


# The modules that register the built-in formats. They are imported on the first look at
# the table (a sniff, a name, `picket formats`), not on `import picket.sources`: a command
# that needs one reader (`picket track` and the plot CSV) does not pay for all of them. A
# module not written yet is a format not offered; an error inside one is never hidden.
BUILT_IN = (
    "picket.sources.ais_nmea", "picket.sources.ais_csv", "picket.sources.beast",
    "picket.sources.modes_text", "picket.sources.air_json", "picket.sources.opensky_parquet",
    "picket.sources.plots_csv", "picket.sources.asterix", "picket.sources.remoteid",
    "picket.sources.space_elements", "picket.sources.cot_in", "picket.sources.aisstream",
)  # fmt: skip
# Which built-in module registers each name: a lookup by name imports that module alone
# (`bench opensky` and `picket replay --format X` need one reader, not twelve).
# tests/test_registry_lazy.py checks it against what the modules register.
MODULE_OF = {
    "ais-nmea": "picket.sources.ais_nmea", "ais-csv": "picket.sources.ais_csv",
    "beast": "picket.sources.beast", "avr": "picket.sources.modes_text",
    "modes-csv": "picket.sources.modes_text", "sbs": "picket.sources.modes_text",
    "opensky": "picket.sources.air_json", "readsb-json": "picket.sources.air_json",
    "opensky-parquet": "picket.sources.opensky_parquet",
    "plots-csv": "picket.sources.plots_csv", "asterix": "picket.sources.asterix",
    "remoteid": "picket.sources.remoteid", "space-elements": "picket.sources.space_elements",
    "cot": "picket.sources.cot_in", "aisstream": "picket.sources.aisstream",
}  # fmt: skip


class _Formats(dict[str, "Format"]):
    """Name -> Format; every read loads the built-in formats first (once)."""

    loaded = False
    loading = False
    # live sources start in threads: none reads a half-full table (the C lock: `threading`
    # costs an import)
    lock = _thread.RLock()

    def load(self) -> None:
        if _Formats.loaded:
            return
        with _Formats.lock:
            if _Formats.loaded or _Formats.loading:
                return  # done meanwhile, or a module reading the table while it loads
            _Formats.loading = True
            try:
                for mod in BUILT_IN:
                    if importlib.util.find_spec(mod) is not None:
                        importlib.import_module(mod)
            finally:
                _Formats.loading = False
            self._order()
            _Formats.loaded = True

    def _order(self) -> None:
        """Sniffing goes by priority, then by this order: the order of `BUILT_IN` whatever
        reader was imported first (the plot CSV also reads a `time,lat,lon` OpenSky file)."""
        rank = {m: k for k, m in enumerate(BUILT_IN)}
        fmts = sorted(super().values(), key=lambda f: rank.get(f.decoder.__module__, len(rank)))
        self.clear()
        for f in fmts:
            dict.__setitem__(self, f.name, f)

    def load_name(self, k: object) -> None:
        """Make `k` readable: its own module when `MODULE_OF` names one, else everything."""
        if _Formats.loaded or super().__contains__(k):
            return
        mod = MODULE_OF.get(k) if isinstance(k, str) else None
        if mod is None or importlib.util.find_spec(mod) is None:
            self.load()
            return
        with _Formats.lock:  # the module registers itself; another thread may be loading
            importlib.import_module(mod)
        if not super().__contains__(k):  # the module no longer offers it: the whole table
            self.load()

    def __getitem__(self, k: str) -> Format:
        self.load_name(k)
        return super().__getitem__(k)

    def __contains__(self, k: object) -> bool:
        self.load_name(k)
        return super().__contains__(k)

    def __iter__(self) -> Iterator[str]:
        self.load()
        return super().__iter__()

    def __len__(self) -> int:
        self.load()
        return super().__len__()

    def get(self, k: str, default: Any = None) -> Any:
        self.load_name(k)
        return super().get(k, default)

    def keys(self) -> Any:
        self.load()
        return super().keys()

    def values(self) -> Any:
        self.load()
        return super().values()

    def items(self) -> Any:
        self.load()
        return super().items()


FORMATS: dict[str, Format] = _Formats()


def register(fmt: Format) -> Format:
    dict.__setitem__(FORMATS, fmt.name, fmt)  # no load: registering is what loading does
    return fmt


@dataclass
class Clock:
    """Time for messages that carry none: the receive clock live, start and rate in replay.

    Live, the driver sets `now` to the arrival time (`time.time()` in the feed
    thread) of the chunk it is about to decode. In replay, item k of a stream
    (line k, or frame k for Beast; 1-based) is at `start + (k - 1) / rate`, or
    at `start` when no rate is given. A decoder with a counter (Beast, AVR `@`)
    uses the clock only to anchor that counter.
    """

    live: bool = False
    now: float = math.nan  # live: arrival time of the bytes being decoded
    start: float = math.nan  # replay: time of the first item
    rate: float | None = None  # replay: items per second, in stream order

    def __call__(self) -> float:
        return self.now if self.live else self.start

    def times(self, ordinals: np.ndarray) -> np.ndarray:
        """Times of items numbered `ordinals` (1-based, stream order)."""
        k = np.asarray(ordinals, dtype=np.float64)
        if self.live or not self.rate:
            return np.full(len(k), self())
        return self.start + (k - 1.0) / self.rate


def clock_times(clock: Clock | Callable[[], float], ordinals: np.ndarray) -> np.ndarray:
    """`clock.times(ordinals)`, or a plain callable's one time for every item."""
    if isinstance(clock, Clock):
        return clock.times(ordinals)
    return np.full(len(ordinals), float(clock()))


def at_the_door(
    d: Decoded,
    rejects: Rejects,
    source: str,
    now: float,
    min_time: float = MIN_TIME,
    max_ahead_s: float = MAX_AHEAD_S,
) -> Decoded:
    """Keep reports (and statics) whose time is plausible; reject the rest, counted.

    `now` is the receive clock live and the wall clock in replay: nothing is
    received before it was sent (a recording cannot be from the future), so a
    time more than `max_ahead_s` ahead is a wrong clock or a forged line, and
    one before `min_time` is a missing date (a counter read as unix time).
    Both would stretch every event-time ticker between them and the true time.
    A report turned away here was counted accepted by its decoder: it moves
    to the rejected counts, so accepted + rejected still adds up.
    """
    r = d.reports
    t = r.time
    hi = now + max_ahead_s
    missing = ~np.isfinite(t)
    early = t < min_time
    late = t > hi
    bad = missing | early | late
    statics = d.statics
    bad_st = [s for s in statics if not (min_time <= s.time <= hi)]
    if not bad.any() and not bad_st:
        return d
    for mask, reason in ((missing, "time.missing"), (early, "time.before_min"),
                         (late, "time.ahead_of_clock")):  # fmt: skip
        idx = np.flatnonzero(mask)
        for i in idx[:DOOR_DETAIL].tolist():
            rejects.reject(reason, f"{source}:{int(r.raw[i])}", f"time {t[i]!r}")
        if len(idx) > DOOR_DETAIL:
            i = int(idx[DOOR_DETAIL])
            rejects.reject(reason, f"{source}:{int(r.raw[i])}+", None, n=len(idx) - DOOR_DETAIL)
    if bad_st:
        rejects.reject("time.static_out_of_window", source, f"time {bad_st[0].time!r}",
                       n=len(bad_st))  # fmt: skip
        statics = [s for s in statics if min_time <= s.time <= hi]
    rejects.accepted = max(rejects.accepted - int(bad.sum()), 0)
    return Decoded(r.where(~bad) if bad.any() else r, statics)


class UnknownFormat(ValueError):
    pass


def _head(path: Path, n: int = 4096) -> bytes:
    with open_binary(path) as fh:
        return fh.read(n)


def open_binary(path: Path) -> IO[bytes]:
    """Open a file for reading bytes, decompressing .gz transparently."""
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        import gzip  # here: a plain file does not pay its import

        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def detect(path: Path) -> Format:
    """Pick the format of a file by content (and name as a hint)."""
    head = _head(path)
    name = path.name.lower().removesuffix(".gz")
    for fmt in sorted(FORMATS.values(), key=lambda f: -f.priority):
        try:
            if fmt.sniff(head, name):
                return fmt
        except Exception:  # a sniffer must never take the replay down
            continue
    raise UnknownFormat(
        f"{path}: unknown format (first bytes {head[:40]!r}); "
        f"pass --format, one of: {', '.join(sorted(FORMATS))}"
    )


def get_format(name: str) -> Format:
    try:
        return FORMATS[name]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise UnknownFormat(f"unknown format {name!r}; known: {known}") from None


def read_file(
    path: str | Path,
    rejects: Rejects,
    fmt: str = "auto",
    chunk_size: int = 1 << 20,
    progress: Callable[[int], None] | None = None,
    **decoder_args: object,
) -> Iterator[Decoded]:
    """Decode a whole file in chunks through its format's decoder.

    `progress` is called after each chunk with the number of bytes read from
    the file on disk: compressed bytes for a .gz, so a bar's total is the
    file's size.
    """
    from pathlib import Path

    p = Path(path)
    spec = detect(p) if fmt == "auto" else get_format(fmt)
    dec = spec.decoder(rejects, p.name, **decoder_args)  # type: ignore[call-arg]
    with open(p, "rb") as disk:
        gz = disk.read(2) == b"\x1f\x8b"
        disk.seek(0)
        if gz:
            import gzip
        fh: IO[bytes] = gzip.GzipFile(fileobj=disk, mode="rb") if gz else disk  # type: ignore[assignment]
        done = 0
        while True:
            data = fh.read(chunk_size)
            if not data:
                break
            if progress is not None:
                pos = disk.tell()
                progress(pos - done)
                done = pos
            out = dec.feed(data)
            if len(out.reports) or out.statics:
                yield out
        if gz:
            fh.close()
    out = dec.flush()
    if len(out.reports) or out.statics:
        yield out
