"""OpenSky state-vector history in Parquet (the Impala/Trino `state_vectors_data4` columns).

Columns used: time, icao24, lat, lon, velocity, heading, vertrate, callsign, squawk,
baroaltitude, lastposupdate (SI units, like OpenSky's CSV) and onground (the `on_ground`
column: air detectors skip aircraft on the ground); alert, spi, geoaltitude, lastcontact,
hour and serials are read past. Reports match the `opensky` CSV
reader row for row: event time is `lastposupdate` when the row has a latitude, else `time`;
`raw` is the row number in the file (0-based).

Parquet keeps its index at the end of the file, so the bytes are buffered until `flush` and
then decoded row group by row group with `iter_batches`; each batch becomes columns through
Arrow compute and NumPy (hex addresses are decoded from the string buffers directly), with
Python only for callsign changes. A row group that fails to decode is counted with its rows
and the rest of the file still read. pyarrow is an optional extra: `pip install
'picket[parquet]'`; without it the decoder refuses to start with a message that says so.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from picket.model.decoded import Decoded, Static
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.model.subjects import Namespace, key
from picket.model.text import clean_text
from picket.sources.registry import Format, register

log = logging.getLogger(__name__)

FMT = "opensky_parquet"
MAX_FILE = 4 << 30  # bytes buffered before the file is refused
BATCH_ROWS = 65_536
MAX_CALLSIGN = 16  # as the CSV reader: cleaned, stripped, capped (`clean_text`)
NEEDED = ("time", "icao24", "lat", "lon")
USED = (*NEEDED, "velocity", "heading", "vertrate", "callsign", "squawk", "baroaltitude",
        "lastposupdate", "onground")  # fmt: skip
_NUMBER = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
_HEX = np.full(256, 0, dtype=np.int64)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
for _i, _c in enumerate(b"ABCDEF"):
    _HEX[_c] = 10 + _i


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names the extra."""


def _arrow() -> tuple[Any, Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError as e:
        raise MissingExtra(
            "reading OpenSky Parquet needs pyarrow: pip install 'picket[parquet]'"
        ) from e
    return pa, pc, pq


class BadColumn(ValueError):
    pass


class OpenSkyParquetDecoder:
    """Buffers a Parquet file and decodes it batch by batch at `flush`."""

    def __init__(
        self, rejects: Rejects, source: str, batch_rows: int = BATCH_ROWS, **_: object
    ) -> None:
        self.pa, self.pc, self.pq = _arrow()
        self.rejects, self.source = rejects, source
        self.source_code = SOURCES.code(source)
        self.batch_rows = batch_rows
        self.buf = bytearray()
        self.refused = False
        self.callsigns: dict[int, str] = {}
        self.bad_columns: set[str] = set()

    # -- Decoder interface --------------------------------------------------------------
    def feed(self, data: bytes) -> Decoded:
        if self.refused:
            return Decoded.empty()
        self.buf += data
        if len(self.buf) > MAX_FILE:
            self.rejects.reject(f"{FMT}.too_large", f"{self.source}:0", bytes(self.buf[:256]))
            self.buf, self.refused = bytearray(), True
        return Decoded.empty()

    def flush(self) -> Decoded:
        data, self.buf = bytes(self.buf), bytearray()
        if not data:
            return Decoded.empty()
        try:
            return self._file(data)
        except Exception as exc:  # defensive: no input may take the replay down
            self.rejects.reject(f"{FMT}.bad_file", f"{self.source}:0", repr(exc)[:512])
            log.error("%s: reader bug, the file is counted as %s.bad_file", self.source, FMT,
                      exc_info=True)  # fmt: skip
            return Decoded.empty()

    # -- file and row groups ------------------------------------------------------------
    def _file(self, data: bytes) -> Decoded:
        try:
            pf = self.pq.ParquetFile(self.pa.BufferReader(data))
            names = pf.schema_arrow.names
            n_groups, meta = pf.num_row_groups, pf.metadata
        except (self.pa.ArrowException, OSError, ValueError) as exc:
            # not Parquet, truncated footer, unreadable schema: bad input, counted
            self.rejects.reject(f"{FMT}.bad_file", f"{self.source}:0", repr(exc)[:512])
            return Decoded.empty()
        missing = [c for c in NEEDED if c not in names]
        if missing:
            why = f"missing columns {missing}; file has {names[:40]}"
            self.rejects.reject(f"{FMT}.bad_schema", f"{self.source}:0", why,
                                n=max(1, int(meta.num_rows)))  # fmt: skip
            return Decoded.empty()
        cols = [c for c in USED if c in names]
        parts: list[Reports] = []
        statics: list[Static] = []
        row0 = 0
        for g in range(n_groups):
            n_rows = int(meta.row_group(g).num_rows)
            done = 0
            try:
                for batch in pf.iter_batches(self.batch_rows, row_groups=[g], columns=cols):
                    rep, st = self._batch(batch, row0 + done)
                    parts.append(rep)
                    statics.extend(st)
                    done += batch.num_rows
            except (self.pa.ArrowException, OSError, ValueError) as exc:
                # a corrupt page: count what this row group still held
                self.rejects.reject(f"{FMT}.bad_row_group", f"{self.source}:row {row0 + done}",
                                    repr(exc)[:512], n=max(1, n_rows - done))  # fmt: skip
            row0 += n_rows
        out = Reports.concat(parts)
        self.rejects.accept(len(out))
        return Decoded(out, statics)

    # -- one batch ----------------------------------------------------------------------
    def _batch(self, batch: Any, first: int) -> tuple[Reports, list[Static]]:
        n = batch.num_rows
        col = {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
        icao = self._hex24(col["icao24"])
        lat, lon = self._floats(col, "lat", n), self._floats(col, "lon", n)
        t_state = self._floats(col, "time", n)
        t_pos = self._floats(col, "lastposupdate", n)
        # as the CSV reader: a row with a latitude is timed by its position update
        t = np.where(np.isfinite(lat) & np.isfinite(t_pos), t_pos, t_state)
        speed = self._floats(col, "velocity", n)
        has_pos = np.isfinite(lat) & np.isfinite(lon)
        kind = np.where(has_pos, Kind.POSITION,
                        np.where(np.isfinite(speed), Kind.VELOCITY, Kind.IDENTITY))  # fmt: skip
        rep = Reports.build(
            n, time=t, domain=Domain.AIR, kind=kind, source=self.source_code,
            subject=key(Namespace.ICAO, np.maximum(icao, 0)), lat=lat, lon=lon,
            alt=self._floats(col, "baroaltitude", n), speed=speed,
            course=self._floats(col, "heading", n), vrate=self._floats(col, "vertrate", n),
            squawk=self._squawk(col.get("squawk"), n), msg=0, raw=first + np.arange(n),
            on_ground=self._flag(col.get("onground"), n),
        )  # fmt: skip
        bad = (icao < 0) | ~np.isfinite(t)
        if bad.any():
            self._reject_rows(batch, np.flatnonzero(bad), first, icao)
        keep = np.flatnonzero(~bad)
        statics = self._statics(col.get("callsign"), keep, icao, t, n)
        return (rep if keep.size == n else rep.take(keep)), statics

    def _reject_rows(self, batch: Any, rows: np.ndarray, first: int, icao: np.ndarray) -> None:
        """Dead-letter each bad row (aggregated beyond the first 100 of a batch)."""
        for i in rows[:100]:
            i = int(i)
            reason = "bad_icao24" if icao[i] < 0 else "no_time"
            raw = repr(batch.slice(i, 1).to_pylist()[0])[:512]
            self.rejects.reject(f"{FMT}.{reason}", f"{self.source}:row {first + i}", raw)
        if len(rows) > 100:
            i = int(rows[100])
            self.rejects.reject(f"{FMT}.bad_row", f"{self.source}:row {first + i}+", None,
                                n=len(rows) - 100)  # fmt: skip

    # -- columns ------------------------------------------------------------------------
    def _floats(self, col: dict[str, Any], name: str, n: int) -> np.ndarray:
        """A column as float64 (seconds for timestamps), NaN where null or unusable."""
        arr = col.get(name)
        if arr is None:
            return np.full(n, np.nan)
        pa, pc = self.pa, self.pc
        t = arr.type
        try:
            if pa.types.is_timestamp(t):
                scale = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}[t.unit]
                arr = pc.multiply(pc.cast(pc.cast(arr, pa.int64()), pa.float64()), scale)
            elif pa.types.is_string(t) or pa.types.is_large_string(t):
                try:  # all numbers (the usual case): one cast
                    arr = pc.cast(arr, pa.float64())
                except pa.ArrowInvalid:  # some are not: those become null
                    arr = pc.utf8_trim_whitespace(arr)
                    ok = pc.fill_null(pc.match_substring_regex(arr, _NUMBER), False)
                    arr = pc.cast(pc.if_else(ok, arr, pa.scalar(None, t)), pa.float64())
            elif any(f(t) for f in (pa.types.is_integer, pa.types.is_floating,
                                    pa.types.is_boolean, pa.types.is_decimal)):  # fmt: skip
                arr = pc.cast(arr, pa.float64())
            else:
                raise BadColumn(str(t))
        except (BadColumn, pa.ArrowException, ValueError, TypeError, KeyError):  # once per file
            self._bad_column(name, t)
            return np.full(n, np.nan)
        out = np.asarray(pc.fill_null(arr, np.nan).to_numpy(zero_copy_only=False), np.float64)
        return np.where(np.isfinite(out), out, np.nan)

    def _bad_column(self, name: str, typ: Any) -> None:
        if name not in self.bad_columns:  # once per file: the column is read as missing
            self.bad_columns.add(name)
            self.rejects.reject(f"{FMT}.bad_column", f"{self.source}:column {name}", str(typ))

    def _strings(self, arr: Any) -> Any:
        """A trimmed large_string array (int64 offsets), or None if the column is not text."""
        pa, pc = self.pa, self.pc
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            return None
        return pc.utf8_trim_whitespace(pc.cast(arr, pa.large_string()))

    def _hex24(self, arr: Any) -> np.ndarray:
        """ICAO 24-bit addresses from hex text, decoded from Arrow's buffers; -1 if invalid."""
        n = len(arr)
        if self.pa.types.is_integer(arr.type):  # some exports keep the address as a number
            v = np.asarray(self.pc.fill_null(arr, -1).to_numpy(zero_copy_only=False), np.int64)
            return np.where((v >= 0) & (v < 1 << 24), v, -1)
        s = self._strings(arr)
        if s is None:
            self._bad_column("icao24", arr.type)
            return np.full(n, -1, np.int64)
        ok = self.pc.fill_null(self.pc.match_substring_regex(s, r"^[0-9a-fA-F]{1,6}$"), False)
        valid = np.asarray(ok.to_numpy(zero_copy_only=False), bool)
        bufs = s.buffers()
        offsets = np.frombuffer(bufs[1], np.int64)[s.offset : s.offset + n + 1]
        data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None else np.zeros(1, np.uint8)
        if data.size == 0:
            data = np.zeros(1, np.uint8)
        lens = np.diff(offsets)
        out = np.zeros(n, np.int64)
        for k in range(6):  # k-th hex digit from the right
            has = valid & (lens > k)
            idx = np.where(has, offsets[1:] - 1 - k, 0)
            out |= np.where(has, _HEX[data[idx]], 0) << (4 * k)
        return np.where(valid, out, -1)

    def _flag(self, arr: Any, n: int) -> np.ndarray:
        """A boolean column (true/false, 1/0) as 1/0, -1 where null or not a flag."""
        if arr is None:
            return np.full(n, -1, np.int64)
        if self.pa.types.is_string(arr.type) or self.pa.types.is_large_string(arr.type):
            pc = self.pc
            low = pc.utf8_lower(pc.utf8_trim_whitespace(arr))
            arr = pc.if_else(pc.equal(low, "true"), "1",
                             pc.if_else(pc.equal(low, "false"), "0", low))  # fmt: skip
        v = self._floats({"onground": arr}, "onground", n)
        return np.where((v == 0) | (v == 1), np.nan_to_num(v), -1).astype(np.int64)

    def _squawk(self, arr: Any, n: int) -> np.ndarray:
        """Mode A code as its four digits (7700); OpenSky keeps it as text, some exports as
        numbers ("1174.0" after a pandas round trip)."""
        if arr is None:
            return np.full(n, -1, np.int64)
        v = self._floats({"squawk": arr}, "squawk", n)  # text that is not a number: NaN
        good = np.isfinite(v) & (v >= 0) & (v <= 9999) & (v == np.floor(v))
        return np.where(good, np.where(good, v, 0).astype(np.int64), -1)

    def _statics(
        self, arr: Any, keep: np.ndarray, icao: np.ndarray, t: np.ndarray, n: int
    ) -> list[Static]:
        """Callsign statics where an aircraft's callsign changes (empty ones don't count)."""
        if arr is None or keep.size == 0:
            return []
        s = self._strings(arr)
        if s is None:
            self._bad_column("callsign", arr.type)
            return []
        pc = self.pc
        enc = pc.dictionary_encode(s)
        codes = np.asarray(pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False), np.int64)
        names = [clean_text(x, MAX_CALLSIGN) for x in enc.dictionary.to_pylist()]  # once each
        empty = np.array([not x for x in names] + [True], bool)  # code -1: null
        rows = keep[~empty[codes[keep]]]
        if rows.size == 0:
            return []
        order = np.argsort(icao[rows], kind="stable")  # by aircraft, rows still in order
        rows = rows[order]
        ic, co = icao[rows], codes[rows]
        change = np.ones(rows.size, bool)
        change[1:] = (ic[1:] != ic[:-1]) | (co[1:] != co[:-1])
        out = []
        for r in np.sort(rows[change]):  # a few per aircraft: Python is fine here
            a, name = int(icao[r]), names[int(codes[r])]
            if self.callsigns.get(a) != name:
                self.callsigns[a] = name
                out.append(Static(float(t[r]), int(key(Namespace.ICAO, a)), {"callsign": name}))
        return out


def _sniff(head: bytes, name: str) -> bool:
    return head[:4] == b"PAR1" or name.endswith(".parquet")


register(Format("opensky-parquet", "air",
                "OpenSky state vectors in Parquet (Impala state_vectors_data4 columns)",
                _sniff, OpenSkyParquetDecoder, priority=20))  # fmt: skip
