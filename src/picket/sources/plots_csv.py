"""Plot CSV: anonymous sensor detections, one per row, for the plot tracker.

Format (documented in the CLI help too)::

    # origin: 59.9, 24.9, 0        <- optional, for x/y files: lat, lon[, alt] of the plane
    # site: radar1, 60.1, 24.8      <- optional, a rotating sensor's lat, lon (name optional)
    time,x,y[,z][,sensor][,sigma]  <- header line is required; column order is free
    0.0,120.5,-33.0,,radar1,25

or ``time,lat,lon[,alt][,sensor][,sigma]``. ``time`` is seconds since the Unix epoch
(or any seconds scale for synthetic data); x/y/z are metres east/north/up of the origin
(default 0°N 0°E) and are turned into WGS84 through that tangent plane (without z: the
ground point under x/y, as 2-D tracking uses), so the tracker
gets them back exactly. ``sensor`` is any name (it becomes the report's source; without
the column the file name is the sensor); ``sigma`` is the plot's 1-sigma position error
in metres. Blank lines and ``#`` comments are skipped; every other bad row is rejected,
and a line over `MAX_LINE` bytes is counted (``plots-csv.line_too_long``) without being
held. Blocks of well-formed rows are parsed as bytes in a few array operations.
A ``# site:`` line before the header gives a rotating sensor's position (without a name:
the file's own sensor): the tracker then cuts its scans at antenna revolutions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np

from picket.geo.geodesy import enu_to_geodetic
from picket.model.decoded import Decoded
from picket.model.rejects import Rejects
from picket.model.reports import SOURCES, Domain, Kind, Reports
from picket.sources.registry import Format, register

NAME = "plots-csv"
MAX_LINE = 4096  # bytes: a plot row is a few dozen; longer lines are counted, never held
FAST_LINE = 256  # rows up to this long take the array path (cells are fixed-width there)
_NUMERIC = ("time", "x", "y", "z", "lat", "lon", "alt", "sigma")


class PlotsCsvDecoder:
    def __init__(self, rejects: Rejects, source: str):
        self.rejects = rejects
        self.source = source
        self.rest = b""
        self.line_no = 0
        self.header: list[str] | None = None
        self.origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
        self.cartesian = False
        self.sites: dict[str, tuple[float, float]] = {}  # sensor name: lat, lon
        self.skipping = False  # dropping the rest of an over-long line
        # x/y files without z: leave lat/lon NaN and keep each accepted plot's x/y here
        # in `plane_xy` (one (n, 2) array a decoded block), for a tracker working in the
        # file's plane (`picket track`); set before the first feed
        self.keep_plane = False
        self.plane_xy: list[np.ndarray] = []

    def plane_only(self) -> bool:
        """Plots kept in the file's plane (see `keep_plane`): asked for, an x/y file
        without z, and no `# site:` (revolutions need the plots' bearings)."""
        cols = self.header or ()
        return self.keep_plane and self.cartesian and "z" not in cols and not self.sites

    def feed(self, data: bytes) -> Decoded:
        if self.skipping:  # inside an over-long line: drop it up to its end
            end = data.find(b"\n")
            if end < 0:
                return Decoded.empty()
            self.skipping, data = False, data[end + 1 :]
        buf = self.rest + data
        cut = buf.rfind(b"\n")
        if cut < 0:
            if len(buf) > MAX_LINE:
                self._too_long(buf)
                self.skipping, buf = True, b""
            self.rest = buf
            return Decoded.empty()
        self.rest = buf[cut + 1 :]
        out = self._lines(buf[: cut + 1])
        if len(self.rest) > MAX_LINE:
            self._too_long(self.rest)
            self.skipping, self.rest = True, b""
        return out

    def _too_long(self, head: bytes) -> None:
        self.line_no += 1
        where = f"{self.source}:{self.line_no}"
        self.rejects.reject(f"{NAME}.line_too_long", where, head[:200].decode("utf-8", "replace"))

    def flush(self) -> Decoded:
        rest, self.rest = self.rest, b""
        return self._lines(rest) if rest.strip() else Decoded.empty()

    # parsing -------------------------------------------------------------------------
    def _lines(self, chunk: bytes) -> Decoded:
        while self.header is None and chunk:  # the preamble, line by line
            line, _, chunk = chunk.partition(b"\n")
            self.line_no += 1
            self._preamble(line.decode("utf-8", errors="replace").strip(), self.line_no)
        if not chunk:
            return Decoded.empty()
        fast = self._fast(chunk)
        if fast is not None:
            return fast
        text = chunk.decode("utf-8", errors="replace")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if any(len(x) > MAX_LINE for x in lines):  # counted, not held: a row is short
            for i, x in enumerate(lines):
                if len(x) > MAX_LINE:
                    where = f"{self.source}:{self.line_no + 1 + i}"
                    self.rejects.reject(f"{NAME}.line_too_long", where, x[:200])
                    lines[i] = "#"
        first = self.line_no + 1
        self.line_no += len(lines)
        start = 0
        while self.header is None and start < len(lines):
            self._preamble(lines[start].strip(), first + start)
            start += 1
        if start >= len(lines):
            return Decoded.empty()
        arr = np.char.strip(np.array(lines[start:], dtype=str))
        nums = np.arange(first + start, first + len(lines))
        skip = (np.char.str_len(arr) == 0) | np.char.startswith(arr, "#")
        arr, nums = arr[~skip], nums[~skip]
        return Decoded(self._rows(arr, nums)) if len(arr) else Decoded.empty()

    def _preamble(self, line: str, line_no: int) -> None:
        if not line:
            return
        if line.startswith("#"):
            body = line.lstrip("#").strip()
            if body.lower().startswith("origin:"):
                try:
                    vals = [float(v) for v in body[7:].replace(",", " ").split()]
                    self.origin = (vals[0], vals[1], vals[2] if len(vals) > 2 else 0.0)
                except (ValueError, IndexError):
                    self.rejects.reject(f"{NAME}.bad_origin", f"{self.source}:{line_no}", line)
            elif body.lower().startswith("site:"):
                parts = [p.strip() for p in body[5:].split(",")]
                name = parts.pop(0) if len(parts) == 3 else self.source
                try:
                    lat, lon = float(parts[0]), float(parts[1])
                    if not (abs(lat) <= 90 and abs(lon) <= 180) or len(parts) != 2 or not name:
                        raise ValueError(line)
                    self.sites[name] = (lat, lon)
                except (ValueError, IndexError):
                    self.rejects.reject(f"{NAME}.bad_site", f"{self.source}:{line_no}", line)
            return
        cols = [c.strip().lower() for c in line.split(",")]
        xy = {"x", "y"} <= set(cols)
        ll = {"lat", "lon"} <= set(cols)
        if "time" not in cols or xy == ll:
            self.rejects.reject(f"{NAME}.no_header", f"{self.source}:{line_no}", line)
            return
        self.header = cols
        self.cartesian = xy

    def _fast(self, chunk: bytes) -> Decoded | None:
        """A block of well-formed rows parsed as bytes in a few array operations (a
        20,000-row file in milliseconds); None (the row-by-row path) when any line is a
        comment, blank, has the wrong number of columns or a cell that is no number."""
        cols = self.header
        assert cols is not None
        body = chunk if chunk.endswith(b"\n") else chunk + b"\n"
        b = np.frombuffer(body, np.uint8)
        nl = np.flatnonzero(b == 10)
        n, ncol = len(nl), len(cols)
        if n == 0 or b"#" in body:
            return None
        # commas before each line end, by a search in the commas' positions (a running sum
        # over every byte cost six times as much)
        commas = (b == 44).nonzero()[0].searchsorted(nl)
        width = np.diff(np.r_[-1, nl])
        if np.any(np.diff(np.r_[0, commas]) != ncol - 1) or width.min() < 3:
            return None
        if width.max() > FAST_LINE:  # a long row: fixed-width cells would be that wide
            return None
        num = decimals(body, b, n * ncol) if all(c in _NUMERIC for c in cols) else None
        val = {}
        if num is not None:  # every cell a plain decimal: no cell objects at all
            num = num.reshape(n, ncol)
            val = {c: num[:, i].copy() for i, c in enumerate(cols)}

            def lines() -> np.ndarray:
                return np.array(body.decode("utf-8", "replace").split("\n")[:-1])

            first = self.line_no + 1
            self.line_no += n
            nums = np.arange(first, first + n)
            bad = np.zeros(n, bool)
            for c in ("z", "alt", "sigma"):
                if c in val:
                    bad |= np.isnan(val[c])
            return Decoded(self._build(val, None, nums, lines, bad))
        cells = np.array(body.replace(b"\n", b",").split(b",")[:-1], dtype=bytes)
        cells = cells.reshape(n, ncol)
        try:
            for i, c in enumerate(cols):
                if c in _NUMERIC:
                    val[c] = cells[:, i].astype(np.float64)
        except ValueError:
            return None  # an empty or garbled cell: judged row by row
        first = self.line_no + 1
        self.line_no += n
        nums = np.arange(first, first + n)
        sensor = None
        if "sensor" in cols:
            sensor = np.char.strip(cells[:, cols.index("sensor")]).astype(str)
        bad = np.zeros(n, bool)
        for c in ("z", "alt", "sigma"):  # every cell is filled here: "nan" is garbage
            if c in val:
                bad |= np.isnan(val[c])

        def lines() -> np.ndarray:
            return np.array([b",".join(r).decode("utf-8", "replace") for r in cells.tolist()])

        return Decoded(self._build(val, sensor, nums, lines, bad))

    def _rows(self, arr: np.ndarray, nums: np.ndarray) -> Reports:
        cols = self.header
        assert cols is not None
        ncol = len(cols)
        shaped = np.char.count(arr, ",") == ncol - 1
        self._reject_rows(~shaped, arr, nums, "bad_columns")
        arr, nums = arr[shaped], nums[shaped]
        if len(arr) == 0:
            return Reports.empty(0)
        cells = np.array(",".join(arr.tolist()).split(","), dtype=str).reshape(-1, ncol)
        cells = np.char.strip(cells)
        val = {c: self._floats(cells[:, i]) for i, c in enumerate(cols) if c in _NUMERIC}
        bad = np.zeros(len(arr), bool)
        for c in ("z", "alt", "sigma"):
            if c in val:  # optional: empty is fine, garbage is not
                bad |= np.isnan(val[c]) & (cells[:, cols.index(c)] != "")
        sensor = np.char.strip(cells[:, cols.index("sensor")]) if "sensor" in cols else None
        return self._build(val, sensor, nums, lambda: arr, bad)

    def _build(
        self,
        val: dict[str, np.ndarray],
        sensor: np.ndarray | None,
        nums: np.ndarray,
        lines: Callable[[], np.ndarray],
        bad: np.ndarray | None = None,
    ) -> Reports:
        """Parsed columns to plot reports; rows with bad values are rejected (`lines()`
        gives their text, built only then)."""
        n = len(nums)
        bad = np.zeros(n, bool) if bad is None else bad
        for c in ("time", "x", "y", "lat", "lon"):
            if c in val:
                bad |= ~np.isfinite(val[c])
        if self.plane_only():
            lat, lon, alt = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        elif self.cartesian:
            z = val.get("z", np.full(n, np.nan))
            flat = np.isnan(z)  # no height: the ground point under (x, y), as 2-D tracking uses
            if flat.all():
                lat, lon, alt = np.empty(n), np.empty(n), np.empty(n)
            else:
                lat, lon, alt = enu_to_geodetic(val["x"], val["y"], np.nan_to_num(z), *self.origin)
            if flat.any():
                # imported here: listing formats need not load the tracker
                from picket.track.tracker import plane_to_ground

                glat, glon = plane_to_ground(val["x"][flat], val["y"][flat], self.origin)
                lat[flat], lon[flat], alt[flat] = glat, glon, np.nan
        else:
            lat, lon = val["lat"], val["lon"]
            alt = val.get("alt", np.full(n, np.nan))
            bad |= ~((np.abs(lat) <= 90) & (np.abs(lon) <= 180))
        if bad.any():
            self._reject_rows(bad, lines(), nums, "bad_value")
        ok = ~bad
        if self.plane_only():
            self.plane_xy.append(np.column_stack([val["x"][ok], val["y"][ok]]))
        if sensor is not None:
            names, inv = np.unique(sensor[ok], return_inverse=True)
            codes = np.array([SOURCES.code(s or self.source) for s in names.tolist()], np.uint16)
            source = codes[inv] if len(names) else np.zeros(0, np.uint16)
        else:
            source = SOURCES.code(self.source)
        self.rejects.accept(int(ok.sum()))
        return Reports.build(
            int(ok.sum()),
            time=val["time"][ok],
            domain=Domain.AIR,
            kind=Kind.PLOT,
            source=source,
            lat=lat[ok],
            lon=lon[ok],
            alt=alt[ok],
            accuracy=val["sigma"][ok] if "sigma" in val else None,
            raw=nums[ok],
        )

    @staticmethod
    def _floats(col: np.ndarray) -> np.ndarray:
        """Column to float; empty and unparsable cells become NaN (the bulk is one cast)."""
        try:
            return np.where(col == "", "nan", col).astype(np.float64)
        except ValueError:
            out = np.full(len(col), np.nan)
            for i, s in enumerate(col.tolist()):  # only when some cell is garbage
                with contextlib.suppress(ValueError):
                    out[i] = float(s) if s else np.nan
            return out

    def _reject_rows(self, mask: np.ndarray, arr: np.ndarray, nums: np.ndarray, why: str) -> None:
        for i in np.flatnonzero(mask):
            self.rejects.reject(f"{NAME}.{why}", f"{self.source}:{int(nums[i])}", str(arr[i]))


def decimals(body: bytes, b: np.ndarray, cells: int) -> np.ndarray | None:
    """The `cells` comma- or newline-ended cells of `body` (`b`: its bytes as uint8,
    ending in a newline) as float64, when every cell is a plain decimal
    (``-?digits[.digits]`` or ``-?.digits``); else None (the caller's per-cell cast).

    One C-level parse (`np.fromstring`, correctly rounded as the string cast is) instead
    of a bytes object per cell; the checks first make sure it never meets anything else,
    so it never stops early."""
    dig = (b - 48) < 10  # uint8 wraps: only "0".."9"
    dot, minus = b == 46, b == 45
    sep = (b == 44) | (b == 10)
    if not bool((dig | dot | minus | sep).all()) or sep[0]:
        return None
    if (sep[1:] & sep[:-1]).any() or (minus[1:] & ~sep[:-1]).any():
        return None  # an empty cell, or a minus sign other than first
    ends = sep.nonzero()[0]
    if len(ends) != cells:
        return None
    last = b[ends - 1]  # a cell ends in a digit, or in "<digit>." ("5.")
    if not bool(dig[ends - 1].all()):
        odd = ends[~dig[ends - 1]]
        if odd.min() < 2 or not bool(((last[~dig[ends - 1]] == 46) & dig[odd - 2]).all()):
            return None
    kind = dot[(dot | sep).nonzero()[0]]  # dots and cell ends in order: True a dot
    if (kind[1:] & kind[:-1]).any():
        return None  # two dots in one cell
    text = body.replace(b"\n", b",")[:-1]
    val = np.fromstring(text, dtype=np.float64, sep=",")  # type: ignore[call-overload]
    return val if len(val) == cells else None


def _sniff(head: bytes, name: str) -> bool:
    text = head.decode("utf-8", errors="replace")
    for line in text.splitlines():
        s = line.strip().lower()
        if not s or s.startswith("#"):
            continue
        cols = [c.strip() for c in s.split(",")]
        return "time" in cols and ({"x", "y"} <= set(cols) or {"lat", "lon"} <= set(cols))
    return False


register(
    Format(
        name=NAME,
        domain="air",
        description="anonymous plots: time,x,y[,z][,sensor][,sigma] or time,lat,lon[,alt]...",
        sniff=_sniff,
        decoder=PlotsCsvDecoder,
        priority=5,
    )
)
